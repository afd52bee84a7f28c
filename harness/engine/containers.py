"""A thin docker-py wrapper: one client with explicit timeouts, labelled resources, wait_until.

Every container, volume and network the project starts carries the project label
(config.Facts.project_label) so that tests and `make clean` can find and remove them.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any, TypeVar

import docker
import docker.errors
from docker.models.containers import Container

from harness.config import facts
from harness.errors import HarnessError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Seconds for one Docker API call; long operations (builds) pass their own.
API_TIMEOUT_S = 60
NO_ENGINE_HINT = (
    "no Docker engine reachable: start Docker (Linux: 'sudo systemctl start docker', or as root on Debian "
    "'docker/ensure-engine.sh'; macOS/Windows: start Docker Desktop) and check that 'docker info' works"
)


def docker_client(*, timeout: int = API_TIMEOUT_S) -> docker.DockerClient:
    """A client for the engine of DOCKER_HOST (or the default socket), or a one-line error."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except docker.errors.DockerException as error:
        raise HarnessError(f"{NO_ENGINE_HINT} ({first_line(error)})") from None
    return client


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.1,
    what: str,
) -> T:
    """Call predicate until it returns something truthy; raise HarnessError after timeout_s.

    Exceptions from the predicate count as 'not yet' (a server that is still starting refuses
    connections); the last one is named in the timeout message. A HarnessError or an
    AssertionError is the predicate's verdict that waiting is pointless (the container exited,
    the job failed): it propagates at once.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except (HarnessError, AssertionError):
            raise
        except Exception as error:  # a not-yet-ready service raises; keep polling
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {first_line(last_error)})" if last_error else ""
            raise HarnessError(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")
        time.sleep(interval_s)


def image_exists(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def project_filter(component: str | None = None) -> dict[str, Any]:
    label = facts().project_label
    return {"label": f"{label}={component}" if component else label}


def remove_container(container: Container, *, timeout_s: int = 10) -> None:
    """Stop (SIGTERM, then SIGKILL after timeout_s) and remove a container; gone already is fine."""
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        container.stop(timeout=timeout_s)
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True, v=True)


@contextlib.contextmanager
def running_container(client: docker.DockerClient, image: str, *, component: str, **options: Any) -> Iterator[Container]:
    """Run a labelled, detached container for the duration of a with-block, then remove it."""
    labels = {**options.pop("labels", {}), **facts().labels(component)}
    try:
        container = client.containers.create(image, labels=labels, **options)
    except docker.errors.ImageNotFound:
        raise HarnessError(f"image {image} is not built: run 'make images' (or 'make image-cpu')") from None
    except docker.errors.APIError as error:
        raise HarnessError(f"could not create a container of {image}: {first_line(error)}") from None
    # Created and started apart, so that a start failure (a taken port, a missing GPU runtime)
    # does not leave the created container behind.
    try:
        container.start()
    except docker.errors.APIError as error:
        remove_container(container, timeout_s=5)
        raise HarnessError(f"could not start a container of {image}: {first_line(error)}") from None
    try:
        yield container
    finally:
        remove_container(container, timeout_s=5)


def labelled_resources(client: docker.DockerClient, filters: dict[str, Any]) -> list[str]:
    """'container NAME', 'volume NAME', 'network NAME' for every resource the label filter matches."""
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=filters)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
    found += [f"network {n.name}" for n in client.networks.list(filters=filters)]
    return found


def port_is_free(port: int, *, bind: str = "127.0.0.1") -> bool:
    """Whether the engine could publish on bind:port now (SO_REUSEADDR, as it binds: TIME_WAIT is free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job, `docker stop`, systemd) cleans up like Ctrl-C: KeyboardInterrupt."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def remove_project_resources(*, component: str | None = None) -> int:
    """Remove every container, volume and network with the project label; returns how many."""
    client = docker_client()
    removed = 0
    for container in client.containers.list(all=True, filters=project_filter(component)):
        remove_container(container, timeout_s=2)
        removed += 1
    for network in client.networks.list(filters=project_filter(component)):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            network.remove()
            removed += 1
    for volume in client.volumes.list(filters=project_filter(component)):
        with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
            volume.remove(force=True)
            removed += 1
    return removed
