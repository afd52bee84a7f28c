"""JupyterHub on one server (deploy/jupyterhub/): start, find, stop and purge a hub instance.

An instance is a hub container (the image of harness.images.hub_image) on its own labelled Docker
network, with a labelled data volume (database, cookie secret, password hashes). The hub spawns one
lab container per student, each alone with the hub on a private network and with a labelled volume
for ~/work. Everything carries the project label and the instance's label, so `hub down` (and the
tests) remove exactly what one instance created. `make hub` runs the instance "dl-lab-hub" on
127.0.0.1:HUB_PORT. `make clean` leaves every hub resource alone; `hub purge` deletes them.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import logging
import os
import secrets
import shutil
import tarfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.networks import Network
from docker.models.volumes import Volume

from harness.engine.containers import docker_client, labelled_resources, remove_container
from harness.engine.waiting import first_line, port_is_free, wait_until
from harness.errors import HarnessError
from harness.hub.backup import instance_volumes
from harness.hub.client import Hub
from harness.hub.credentials import admin_password_file, forget_instance, instance_dir, new_password, save_secret, token_file
from harness.hub.plan import HubPlan, plan_hub
from harness.hub.settings import (
    DATA_DIR,
    DEFAULT_NAME,
    HubSettings,
    hub_environment,
    instance_filter,
    instance_label,
    instance_labels,
    student_label,
)
from harness.images.hub_image import build as build_hub_image
from harness.images.hub_image import hub_image

log = logging.getLogger(__name__)

HUB_START_TIMEOUT_S = 90
# Read by jupyterhub_config.py (dl_lab_hub.auth.apply_pending) before the hub answers anyone.
PENDING_PASSWORDS = "pending-passwords.json"


def engine_socket(client: docker.DockerClient) -> str:
    """The engine's Unix socket on this machine, which the hub container mounts to spawn servers."""
    url = urlparse(str(client.api.base_url))
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://") and url.scheme not in {"http+unix", "unix"}:
        raise HarnessError(f"the hub drives Docker through its Unix socket, but DOCKER_HOST is {host}: "
                           "run `make hub` on the Docker server itself")
    path = host.removeprefix("unix://")
    if not Path(path).exists():
        raise HarnessError(f"the Docker socket {path} does not exist: is the engine running on this machine?")
    return path


def check_port_free(port: int) -> None:
    if not port_is_free(port):
        raise HarnessError(f"port {port} on 127.0.0.1 is taken: stop what listens there (`ss -ltnp "
                           f"'sport = :{port}'`), or start the hub on another port (make hub HUB_PORT=8010)")


# ---- resources -------------------------------------------------------------------------------------
def ensure_network(client: docker.DockerClient, settings: HubSettings) -> None:
    if client.networks.list(names=[settings.network]):
        return
    try:
        client.networks.create(settings.network, driver="bridge", labels=instance_labels(settings.name))
    except docker.errors.APIError as error:
        raise HarnessError(f"could not create the Docker network {settings.network}: {first_line(error)} "
                           "(out of address pools? `docker network prune` removes unused networks)") from None


def ensure_volume(client: docker.DockerClient, name: str, labels: dict[str, str]) -> None:
    try:
        client.volumes.get(name)
    except docker.errors.NotFound:
        try:
            client.volumes.create(name, labels=labels)
        except docker.errors.APIError as error:
            raise HarnessError(f"could not create the volume {name}: {first_line(error)} (disk full?)") from None


def student_networks(client: docker.DockerClient, name: str) -> list[Network]:
    """The private networks of the instance's students (the hub must be on each of them)."""
    flt = {"label": [f"{instance_label()}={name}", student_label()]}
    return list(client.networks.list(filters=flt))


def password_archive(passwords: dict[str, str]) -> bytes:
    """A tar holding pending-passwords.json (mode 0600) for the hub's data volume.

    The hub applies them only to accounts without a password (one the admin changed stays), as
    passwords that need no change (the operator's own, read from build/hub/<instance>/)."""
    payload = json.dumps({"passwords": passwords, "replace": False, "must_change": False}).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        info = tarfile.TarInfo(PENDING_PASSWORDS)
        info.size, info.mode, info.mtime = len(payload), 0o600, int(time.time())
        archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


def admin_password(name: str) -> str:
    """The admin's password of the instance (kept in build/hub/<name>/admin-password; made on first start)."""
    path = admin_password_file(name)
    saved = path.read_text().strip() if path.exists() else ""
    if saved:
        return saved
    password = new_password()
    save_secret(path, password)
    return password


def published_port(container: Container) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get("8000/tcp") or []
    if not bindings:
        raise HarnessError(f"the hub container {container.name} publishes no port: {container.logs(tail=10)!r}")
    return int(bindings[0]["HostPort"])


# ---- starting --------------------------------------------------------------------------------------
def create_hub_container(client: docker.DockerClient, settings: HubSettings, plan: HubPlan, *, socket_path: str,
                         token: str) -> Container:
    """The hub container, created (not started) with the admin's password in its data volume."""
    try:
        container = client.containers.create(
            hub_image(),
            name=settings.name,
            labels=instance_labels(settings.name),
            environment=hub_environment(settings, image=plan.image, gpu_ids=plan.gpu_ids, work_size=plan.work_size,
                                        token=token, layer_size=plan.layer_size),
            volumes={socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"},
                     settings.data_volume: {"bind": DATA_DIR, "mode": "rw"}},
            network=settings.network,
            ports={"8000/tcp": ("127.0.0.1", settings.port or None)},
            restart_policy={"Name": "unless-stopped"} if settings.restart else None,
        )
    except docker.errors.APIError as error:
        raise HarnessError(f"could not create the hub container: {first_line(error)}") from None
    try:
        # The admin's password is set from here before the hub answers: nobody can claim the account.
        container.put_archive(DATA_DIR, password_archive({settings.admin: admin_password(settings.name)}))
        # Servers that kept running through a restart of the hub stay reachable.
        for network in student_networks(client, settings.name):
            network.connect(container)
    except docker.errors.APIError as error:
        remove_container(container, timeout_s=5)
        raise HarnessError(f"could not prepare the hub container: {first_line(error)}") from None
    return container


def start_hub(settings: HubSettings, *, plan: HubPlan | None = None) -> Hub:
    """Start the hub instance (restarting it if it runs); returns once its API answers.

    Everything that can be wrong is checked before anything is started or stopped. `plan` replaces
    what plan_hub() decides (tests give GPU ids to an engine without GPUs).
    """
    client = docker_client()
    plan = plan or plan_hub(client, settings)
    socket_path = engine_socket(client)
    existing = client.containers.list(all=True, filters={"name": f"^{settings.name}$"})
    own_ports = {published_port(c) for c in existing if c.status == "running" and c.ports.get("8000/tcp")}
    if settings.port and settings.port not in own_ports:
        check_port_free(settings.port)
    build_hub_image()  # seconds, from the layer cache, when nothing changed; the old hub serves meanwhile
    for container in existing:
        log.info("replacing the hub container %s (%s) with the current settings", settings.name, container.status)
        remove_container(container, timeout_s=20)
    ensure_network(client, settings)
    ensure_volume(client, settings.data_volume, instance_labels(settings.name))
    token = secrets.token_hex(32)
    container = create_hub_container(client, settings, plan, socket_path=socket_path, token=token)
    try:
        container.start()
    except docker.errors.APIError as error:
        remove_container(container, timeout_s=5)
        raise HarnessError(f"could not start the hub container: {first_line(error)}") from None
    hub = Hub(settings.name, f"http://127.0.0.1:{published_port(container)}", token, container)

    def answers() -> bool:
        container.reload()
        if container.status not in {"running", "created", "restarting"}:
            raise HarnessError(f"the hub exited: {hub.log_tail()}")
        return hub.api("GET", "users").status_code == 200

    try:
        wait_until(answers, timeout_s=HUB_START_TIMEOUT_S, interval_s=0.5, what="the hub's API")
    except HarnessError as error:
        raise HarnessError(f"{error}; hub log: {hub.log_tail()}") from None
    save_secret(token_file(settings.name), token)
    return hub


def running_hub(name: str = DEFAULT_NAME) -> Hub:
    """The running instance `name`, with the token its last start saved; or a one-line error."""
    try:
        container = docker_client().containers.get(name)
    except docker.errors.NotFound:
        raise HarnessError(f"the hub {name} is not running: run 'make hub' first") from None
    if container.status != "running" or not token_file(name).exists():
        raise HarnessError(f"the hub {name} is not running (or was not started by `make hub`): run 'make hub'")
    hub = Hub(name, f"http://127.0.0.1:{published_port(container)}", token_file(name).read_text().strip(), container)
    if hub.api("GET", "users").status_code != 200:
        raise HarnessError(f"the hub {name} refuses the saved token: restart it with 'make hub'")
    return hub


# ---- stopping --------------------------------------------------------------------------------------
def instance_resources(client: docker.DockerClient, name: str) -> list[str]:
    return labelled_resources(client, instance_filter(name))


def remove_volume(volume: Volume) -> str:
    """'removed', or 'gone' when something else removed it first; an APIError while it is in use."""
    try:
        volume.remove(force=True)
    except docker.errors.NotFound:
        return "gone"
    return "removed"


def remove_auto_removed(client: docker.DockerClient, container: Container) -> None:
    """Stop and remove a student's container, which the engine may already be auto-removing."""
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        container.stop(timeout=10)
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
        container.remove(force=True, v=True)  # 409 "removal already in progress" is fine

    def gone() -> bool:
        return not client.containers.list(all=True, filters={"id": container.id})

    wait_until(gone, timeout_s=30, interval_s=0.2, what=f"container {container.name} to be removed")


def stop_hub(name: str = DEFAULT_NAME) -> int:
    """Remove the hub container, the students' containers and the networks; volumes and accounts stay.

    Returns how many resources were removed.
    """
    client = docker_client()
    flt = instance_filter(name)
    removed = 0
    # The hub first, so that it does not start servers while they are being removed.
    for container in client.containers.list(all=True, filters={**flt, "name": f"^{name}$"}):
        remove_container(container, timeout_s=20)
        removed += 1
    students = client.containers.list(all=True, filters=flt)
    with ThreadPoolExecutor(max_workers=max(1, min(len(students), 16))) as pool:
        list(pool.map(lambda container: remove_auto_removed(client, container), students))
    removed += len(students)
    for network in client.networks.list(filters=flt):
        with contextlib.suppress(docker.errors.NotFound):
            network.remove()
            removed += 1
    forget_instance(name)
    return removed


def purge_hub(name: str) -> int:
    """stop_hub, then delete the accounts and every student's work: the volumes and the instance's secrets."""
    removed = stop_hub(name)
    client = docker_client()
    # Auto-removed containers may still hold their volume for a moment: an APIError means "not yet".
    deadline = time.monotonic() + 30  # for all the volumes together
    for volume in instance_volumes(client, name):
        outcome = wait_until(functools.partial(remove_volume, volume), timeout_s=max(0.0, deadline - time.monotonic()),
                             interval_s=0.5, what=f"volume {volume.name} to be released")
        if outcome == "removed":
            removed += 1
    shutil.rmtree(instance_dir(name), ignore_errors=True)
    return removed
