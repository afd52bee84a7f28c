"""A thin docker-py wrapper: one client with explicit timeouts, labelled resources (waiting: harness.engine.waiting).

Every container, volume and network the project starts carries the project label
(config.Facts.project_label) so that tests and `make clean` can find and remove them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container

from harness.config import facts
from harness.engine.waiting import first_line
from harness.errors import HarnessError

log = logging.getLogger(__name__)

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


def image_exists(client: docker.DockerClient, reference: str) -> bool:
    try:
        client.images.get(reference)
    except docker.errors.ImageNotFound:
        return False
    return True


def not_built(reference: str, *, make_target: str) -> HarnessError:
    """The one error for an image the engine lacks, naming the Make target that builds it."""
    return HarnessError(f"image {reference} is not built: run 'make {make_target}'")


def require_image(client: docker.DockerClient, reference: str, *, make_target: str) -> None:
    if not image_exists(client, reference):
        raise not_built(reference, make_target=make_target)


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
        raise not_built(image, make_target="images") from None
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


def run_in(container: Container, command: list[str], *, timeout_s: int, user: str = "",
           environment: dict[str, str] | None = None) -> tuple[int, str]:
    """Run command in a running container; (exit code, output). docker-py's exec_run has no timeout of its
    own, so the command runs under coreutils' `timeout` inside the container (exit 124 when it ran out)."""
    result = container.exec_run(["timeout", str(timeout_s), *command], user=user, environment=environment)
    return int(result.exit_code), (result.output or b"").decode(errors="replace")


def labelled_resources(client: docker.DockerClient, filters: dict[str, Any]) -> list[str]:
    """'container NAME', 'volume NAME', 'network NAME' for every resource the label filter matches."""
    found = [f"container {c.name}" for c in client.containers.list(all=True, filters=filters)]
    found += [f"volume {v.name}" for v in client.volumes.list(filters=filters)]
    found += [f"network {n.name}" for n in client.networks.list(filters=filters)]
    return found


def remove_project_resources(*, component: str | None = None, keep_components: tuple[str, ...] = (),
                             labels: dict[str, str] | None = None) -> int:
    """Remove every container, network and volume with the project label; returns how many.

    Resources whose project label is one of keep_components stay (`make clean` keeps the hub's:
    students' work and accounts); labels narrows the removal to resources that also carry them.
    """
    client = docker_client()
    filters = project_filter(component)
    if labels:
        filters = {"label": [filters["label"], *(f"{key}={value}" for key, value in labels.items())]}

    def removable(resource_labels: dict[str, str] | None) -> bool:
        return (resource_labels or {}).get(facts().project_label) not in keep_components

    removed = 0
    for container in client.containers.list(all=True, filters=filters):
        if removable(container.labels):
            remove_container(container, timeout_s=2)
            removed += 1
    for network in client.networks.list(filters=filters):
        if removable(network.attrs.get("Labels")):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                network.remove()
                removed += 1
    for volume in client.volumes.list(filters=filters):
        if removable(volume.attrs.get("Labels")):
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                volume.remove(force=True)
                removed += 1
    return removed
