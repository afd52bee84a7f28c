"""JupyterHub on one server (deploy/jupyterhub/): start, talk to and remove a hub instance.

An instance is a hub container (the image of harness.build.hub_image) on its own labelled Docker
network, with a labelled data volume (database, cookie secret, passwords). The hub spawns one
lab container per student on that network, each with a labelled volume for ~/work. Everything
carries the project label and the instance's label, so `hub down` (and the tests) remove exactly
what one instance created. `make hub` runs the instance "dl-lab-hub" on 127.0.0.1:HUB_PORT.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import secrets
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.models.volumes import Volume

from harness.build.hub_image import build as build_hub_image
from harness.build.hub_image import hub_image
from harness.config import BUILD_DIR, Variant, facts
from harness.engine.containers import (
    docker_client,
    first_line,
    image_exists,
    labelled_resources,
    port_is_free,
    remove_container,
    wait_until,
)
from harness.engine.gpu import engine_gpu_support
from harness.errors import HarnessError

log = logging.getLogger(__name__)

COMPONENT = "hub"
DEFAULT_NAME = "dl-lab-hub"
HUB_START_TIMEOUT_S = 90
HTTP_TIMEOUT_S = 30
SECRETS_DIR = BUILD_DIR / "hub"


def instance_label() -> str:
    """org.dl-lab.hub-instance: beside the project label, names the instance a resource belongs to."""
    return f"{facts().project_label.rsplit('.', 1)[0]}.hub-instance"


def instance_labels(name: str) -> dict[str, str]:
    return {**facts().labels(COMPONENT), instance_label(): name}


@dataclass(frozen=True)
class HubSettings:
    name: str = DEFAULT_NAME
    # Host port on 127.0.0.1; 0 lets the engine pick a free one (tests).
    port: int = field(default_factory=lambda: facts().hub_port)
    variant: Variant | None = None  # None: cuda when the engine gives containers a GPU, else cpu
    gpu: bool | None = None
    cpu_limit: float = 1.0
    mem_limit: str = "2G"
    shm_size: str = "1g"
    cull_timeout_s: int = 3600
    kernel_cull_timeout_s: int = 1800
    admin: str = "profesor"
    # Survive reboots of the server (make hub); the tests' instances do not.
    restart: bool = True

    @property
    def network(self) -> str:
        return f"{self.name}-net"

    @property
    def data_volume(self) -> str:
        return f"{self.name}-data"

    @property
    def prefix(self) -> str:
        return f"{self.name}-user"


@dataclass
class Hub:
    """A running hub: its URL and the token of its 'dl-lab-harness' service (admin role)."""

    name: str
    url: str
    api_token: str
    container: Container
    admin: str
    admin_password: str | None = None
    session: requests.Session = field(default_factory=requests.Session)

    # ---- REST API --------------------------------------------------------------------------------
    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        """Call /hub/api/<path> with the service token (or another one)."""
        headers = {"Authorization": f"token {token or self.api_token}"}
        return self.session.request(method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers,
                                    timeout=HTTP_TIMEOUT_S, **kwargs)

    def checked(self, method: str, path: str, *, ok: Iterable[int], **kwargs: Any) -> requests.Response:
        response = self.api(method, path, **kwargs)
        if response.status_code not in set(ok):
            raise HarnessError(f"the hub answered {response.status_code} to {method} /hub/api/{path}: "
                               f"{response.text[:300]}")
        return response

    def create_users(self, names: list[str]) -> None:
        """Create accounts (POST /hub/api/users); existing ones are fine."""
        existing = {user["name"] for user in self.checked("GET", "users", ok=[200]).json()}
        missing = [name for name in names if name not in existing]
        if missing:
            self.checked("POST", "users", ok=[201], json={"usernames": missing})

    def start_server(self, user: str) -> None:
        """Ask for the user's server (returns within the hub's slow_spawn_timeout, 10 s, ready or not)."""
        self.checked("POST", f"users/{user}/server", ok=[201, 202, 400])

    def start_servers(self, users: list[str], *, timeout_s: float = 300) -> None:
        """Start the servers all at once (one thread per user), as a class logging in at 9:00 does."""
        def spawn(user: str) -> None:
            self.start_server(user)
            self.wait_ready(user, timeout_s=timeout_s)

        with ThreadPoolExecutor(max_workers=max(1, len(users))) as pool:
            list(pool.map(spawn, users))

    def server_state(self, user: str) -> dict[str, Any]:
        servers: dict[str, Any] = self.checked("GET", f"users/{user}", ok=[200]).json().get("servers", {})
        state: dict[str, Any] = servers.get("", {})
        return state

    def wait_ready(self, user: str, *, timeout_s: float = 300) -> None:
        def ready() -> bool:
            state = self.server_state(user)
            if not state:
                raise HarnessError(f"{user}'s server is not starting (it failed: see `docker logs {self.name}`)")
            return bool(state.get("ready"))

        try:
            wait_until(ready, timeout_s=timeout_s, interval_s=0.5, what=f"{user}'s server")
        except HarnessError as error:
            raise HarnessError(f"{error}; hub log: {self.log_tail()}") from None

    def stop_server(self, user: str, *, timeout_s: float = 120) -> None:
        self.checked("DELETE", f"users/{user}/server", ok=[202, 204, 400])
        wait_until(lambda: not self.server_state(user), timeout_s=timeout_s, interval_s=0.5,
                   what=f"{user}'s server to stop")

    def user_token(self, user: str, *, note: str = "dl-lab") -> str:
        """A new API token of the user (their own permissions: their server only)."""
        response = self.checked("POST", f"users/{user}/tokens", ok=[200, 201], json={"note": note, "expires_in": 7200})
        token: str = response.json()["token"]
        return token

    def user_url(self, user: str, path: str = "") -> str:
        return f"{self.url}/user/{user}/{path.lstrip('/')}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            raw: bytes = self.container.logs(tail=lines)
        except docker.errors.APIError:
            return "(no log)"
        return raw.decode(errors="replace").strip().replace("\n", " | ")


# ---- start -------------------------------------------------------------------------------------
def choose_image(client: docker.DockerClient, settings: HubSettings) -> tuple[str, bool]:
    """The lab image the hub spawns and whether its containers get the GPUs, or a one-line error."""
    support = engine_gpu_support(client)
    gpu = support.available if settings.gpu is None else settings.gpu
    if gpu and not support.available:
        raise HarnessError(f"GPU=1 but {support.reason}; on a server without GPUs run `make hub GPU=0`")
    variant: Variant = settings.variant or ("cuda" if gpu else "cpu")
    image = facts().image(variant)
    if not image_exists(client, image):
        raise HarnessError(f"the lab image {image} is not built: run 'make image-{variant}' first")
    return image, gpu


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


def hub_environment(settings: HubSettings, *, image: str, gpu: bool, token: str) -> dict[str, str]:
    return {
        "DL_LAB_IMAGE": image,
        "DL_LAB_GPU": "1" if gpu else "0",
        "DL_LAB_NETWORK": settings.network,
        "DL_LAB_PREFIX": settings.prefix,
        "DL_LAB_LABELS": json.dumps(instance_labels(settings.name)),
        "DL_LAB_HUB_HOST": settings.name,
        "DL_LAB_ADMIN_USERS": settings.admin,
        "DL_LAB_CPU_LIMIT": str(settings.cpu_limit),
        "DL_LAB_MEM_LIMIT": settings.mem_limit,
        "DL_LAB_SHM_SIZE": settings.shm_size,
        "DL_LAB_CULL_TIMEOUT": str(settings.cull_timeout_s),
        "DL_LAB_KERNEL_CULL_TIMEOUT": str(settings.kernel_cull_timeout_s),
        "DL_LAB_API_TOKEN": token,
    }


def published_port(container: Container) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"].get("8000/tcp") or []
    if not bindings:
        raise HarnessError(f"the hub container {container.name} publishes no port: {container.logs(tail=10)!r}")
    return int(bindings[0]["HostPort"])


def start_hub(settings: HubSettings) -> Hub:
    """Start the hub instance (restarting it if it runs); returns once its API answers.

    Everything that can be wrong is checked before anything is started or stopped.
    """
    client = docker_client()
    image, gpu = choose_image(client, settings)
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
    try:
        container = client.containers.run(
            hub_image(),
            name=settings.name,
            detach=True,
            labels=instance_labels(settings.name),
            environment=hub_environment(settings, image=image, gpu=gpu, token=token),
            volumes={socket_path: {"bind": "/var/run/docker.sock", "mode": "rw"},
                     settings.data_volume: {"bind": "/srv/jupyterhub/data", "mode": "rw"}},
            network=settings.network,
            ports={"8000/tcp": ("127.0.0.1", settings.port or None)},
            restart_policy={"Name": "unless-stopped"} if settings.restart else None,
        )
    except docker.errors.APIError as error:
        raise HarnessError(f"could not start the hub container: {first_line(error)}") from None
    hub = Hub(settings.name, f"http://127.0.0.1:{published_port(container)}", token, container, settings.admin)

    def answers() -> bool:
        container.reload()
        if container.status not in {"running", "created", "restarting"}:
            raise HarnessError(f"the hub exited: {hub.log_tail()}")
        return hub.api("GET", "users").status_code == 200

    try:
        wait_until(answers, timeout_s=HUB_START_TIMEOUT_S, interval_s=0.5, what="the hub's API")
    except HarnessError as error:
        raise HarnessError(f"{error}; hub log: {hub.log_tail()}") from None
    return hub


# ---- accounts --------------------------------------------------------------------------------
def login(hub: Hub, user: str, password: str) -> requests.Session:
    """Log in through the login form (first use sets the password); returns the logged-in session."""
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=HTTP_TIMEOUT_S)
    response = session.post(f"{hub.url}/hub/login?next=/hub/home", timeout=HTTP_TIMEOUT_S, allow_redirects=False,
                            data={"username": user, "password": password, "_xsrf": session.cookies.get("_xsrf", "")})
    if response.status_code != 302:
        raise HarnessError(f"logging in as {user} failed ({response.status_code}): wrong password?")
    return session


def claim_admin(hub: Hub, *, password_file: Path) -> str:
    """Set the admin's password at once (first use), so that nobody else can claim the account.

    The password is kept in password_file (mode 0600) and reused while the hub's data volume lives.
    """
    if password_file.exists():
        password = password_file.read_text().strip()
        login(hub, hub.admin, password)
        return password
    password = secrets.token_urlsafe(12)
    try:
        login(hub, hub.admin, password)
    except HarnessError:
        raise HarnessError(f"the admin account {hub.admin} already has a password that is not in {password_file}: "
                           f"reset it with `make hub-down HUB_ARGS=--volumes` (removes all accounts and work) "
                           "or ask whoever set it") from None
    save_secret(password_file, password)
    return password


def admin_password_file(name: str) -> Path:
    return SECRETS_DIR / name / "admin-password"


def token_file(name: str) -> Path:
    """The operator's token of a running instance (a new one on every start), for `harness hub users`."""
    return SECRETS_DIR / name / "api-token"


def save_secret(path: Path, value: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(value + "\n")


def running_hub(name: str = DEFAULT_NAME) -> Hub:
    """The running instance `name`, with the token its last start saved; or a one-line error."""
    try:
        container = docker_client().containers.get(name)
    except docker.errors.NotFound:
        raise HarnessError(f"the hub {name} is not running: run 'make hub' first") from None
    if container.status != "running" or not token_file(name).exists():
        raise HarnessError(f"the hub {name} is not running (or was not started by `make hub`): run 'make hub'")
    hub = Hub(name, f"http://127.0.0.1:{published_port(container)}", token_file(name).read_text().strip(), container,
              hub_setting_of(container, "DL_LAB_ADMIN_USERS"))
    if hub.api("GET", "users").status_code != 200:
        raise HarnessError(f"the hub {name} refuses the saved token: restart it with 'make hub'")
    return hub


def hub_setting_of(container: Container, key: str) -> str:
    environment: list[str] = container.attrs["Config"]["Env"] or []
    for item in environment:
        name, _, value = item.partition("=")
        if name == key:
            return value
    return ""


def hub_setting(hub: Hub, key: str) -> str:
    """A DL_LAB_* setting the instance was started with."""
    return hub_setting_of(hub.container, key)


# ---- stop ------------------------------------------------------------------------------------
def instance_resources(client: docker.DockerClient, name: str) -> list[str]:
    return labelled_resources(client, {"label": f"{instance_label()}={name}"})


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


def stop_hub(name: str = DEFAULT_NAME, *, volumes: bool = False) -> int:
    """Remove the hub container, the students' containers and the network; volumes only when asked.

    Returns how many resources were removed.
    """
    client = docker_client()
    flt = {"label": f"{instance_label()}={name}"}
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
    if volumes:
        # Auto-removed containers may still hold their volume for a moment: an APIError means "not yet".
        deadline = time.monotonic() + 30  # for all the volumes together
        for volume in client.volumes.list(filters=flt):
            outcome = wait_until(functools.partial(remove_volume, volume), timeout_s=max(0.0, deadline - time.monotonic()),
                                 interval_s=0.5, what=f"volume {volume.name} to be released")
            if outcome == "removed":
                removed += 1
        admin_password_file(name).unlink(missing_ok=True)
    token_file(name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (SECRETS_DIR / name).rmdir()  # only when empty
    return removed
