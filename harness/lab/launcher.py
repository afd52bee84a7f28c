"""`make lab`: a ready JupyterLab on the user's machine, in the foreground, one per work folder.

The container runs the lab image as root only long enough for start.sh to remap jovyan to the
caller's uid/gid (so files in ./work stay the caller's), then Jupyter runs as that user.
It is published on 127.0.0.1 only, with a token; Ctrl-C stops and removes it, ./work stays.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import os
import secrets
import signal
import sys
import urllib.request
import webbrowser
from dataclasses import dataclass
from pathlib import Path

import docker
import docker.errors
from docker.models.containers import Container
from rich.console import Console

from harness.config import Variant, facts
from harness.engine.containers import docker_client, remove_container
from harness.engine.gpu import choose_variant
from harness.engine.waiting import first_line, port_is_free, sigterm_as_interrupt, wait_until
from harness.errors import HarnessError
from harness.images.lab_image import ensure_image
from harness.ui import stderr_console

log = logging.getLogger(__name__)

COMPONENT = "lab"
WORKDIR_LABEL = facts().label("workdir")
URL_LABEL = facts().label("url")
# The address `make lab` prints opens JupyterLab on the notebooks: the work folder under the home (the root).
LAB_PATH = "/lab/tree/work"
PORT_SEARCH = 100  # ports tried after the default one when it is taken
# DataLoader workers pass batches through /dev/shm; Docker's default 64 MB breaks them.
SHM_SIZE = "2g"
START_TIMEOUT_S = 120


@dataclass(frozen=True)
class LabOptions:
    variant: Variant | None = None
    gpu: bool | None = None
    port: int | None = None
    bind: str = "127.0.0.1"
    token: str | None = None
    work_dir: Path = Path("work")
    open_browser: bool = True


def pick_port(*, bind: str, wanted: int | None) -> int:
    if wanted is not None:
        if not port_is_free(wanted, bind=bind):
            raise HarnessError(f"port {wanted} on {bind} is taken: stop what uses it, or choose another (PORT={wanted + 1})")
        return wanted
    default = facts().jupyter_port
    for port in range(default, default + PORT_SEARCH):
        if port_is_free(port, bind=bind):
            return port
    raise HarnessError(f"no free port between {default} and {default + PORT_SEARCH - 1} on {bind}: choose one with PORT=...")


def caller_ids() -> tuple[int, int]:
    """The uid/gid that should own ./work: the sudo caller's when run through sudo."""
    uid = int(os.environ.get("SUDO_UID", os.getuid()))
    gid = int(os.environ.get("SUDO_GID", os.getgid()))
    if uid == 0:  # Jupyter never runs as root: root's lab runs as jovyan
        return facts().nb_uid, facts().nb_gid
    return uid, gid


def prepare_work_dir(path: Path) -> Path:
    work = path.expanduser().resolve()
    try:
        work.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HarnessError(f"cannot create the work folder {work}: {error.strerror}; choose another with WORK=...") from None
    uid, gid = caller_ids()
    if os.getuid() == 0 and work.stat().st_uid != uid:
        os.chown(work, uid, gid)
    if not os.access(work, os.W_OK):
        raise HarnessError(f"the work folder {work} is not writable by you: fix its permissions or choose another with WORK=...")
    return work


def container_name(work: Path) -> str:
    return f"dl-lab-{hashlib.sha256(str(work).encode()).hexdigest()[:10]}"


def running_lab(client: docker.DockerClient, name: str) -> Container | None:
    """The lab already serving this work folder, if any; a stopped leftover is removed."""
    try:
        container = client.containers.get(name)
    except docker.errors.NotFound:
        return None
    if container.status == "running":
        return container
    remove_container(container)
    return None


def server_answers(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return bool(response.status == 200)


def can_open_browser() -> bool:
    # On a server without a display, webbrowser would start a text browser in this terminal.
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("BROWSER"))


@dataclass(frozen=True)
class LabContainer:
    container: Container
    url: str
    already_running: bool


def start_lab(client: docker.DockerClient, options: LabOptions, console: Console) -> LabContainer:
    """Start the lab container for options.work_dir, or find the one already serving it."""
    choice = choose_variant(client, variant=options.variant, gpu=options.gpu)
    console.print(f"[bold]dl-lab[/]: {choice.why}")
    image = ensure_image(choice.variant, console=console)
    work = prepare_work_dir(options.work_dir)
    name = container_name(work)
    existing = running_lab(client, name)
    if existing is not None:
        return LabContainer(existing, existing.labels.get(URL_LABEL, ""), already_running=True)
    port = pick_port(bind=options.bind, wanted=options.port)
    if options.port is None and port != facts().jupyter_port:
        console.print(f"port {facts().jupyter_port} is taken; using {port}")
    token = options.token or secrets.token_hex(24)
    host = "127.0.0.1" if options.bind in ("127.0.0.1", "0.0.0.0") else options.bind
    url = f"http://{host}:{port}{LAB_PATH}?token={token}"
    uid, gid = caller_ids()
    container_port = facts().jupyter_port
    try:
        container = client.containers.run(
            image,
            name=name,
            detach=True,
            user="root",  # start.sh remaps jovyan to the caller's uid/gid, then drops root
            environment={"JUPYTER_TOKEN": token, "NB_UID": str(uid), "NB_GID": str(gid), "JUPYTER_PORT": str(container_port)},
            ports={f"{container_port}/tcp": (options.bind, port)},
            volumes={str(work): {"bind": f"/home/{facts().nb_user}/work", "mode": "rw"}},
            shm_size=SHM_SIZE,
            device_requests=choice.device_requests,
            labels={**facts().labels(COMPONENT), WORKDIR_LABEL: str(work), URL_LABEL: url},
        )
    except docker.errors.APIError as error:
        message = first_line(error)
        if "port is already allocated" in message or "address already in use" in message:
            raise HarnessError(f"port {port} on {options.bind} is taken: choose another with PORT=...") from None
        if "could not select device driver" in message:
            raise HarnessError("the Docker engine cannot pass GPUs: install the NVIDIA Container Toolkit, or use VARIANT=cpu") \
                from None
        raise HarnessError(f"could not start the lab container: {message}") from None
    return LabContainer(container, url, already_running=False)


def wait_for_server(container: Container, url: str) -> None:
    api = url.replace(f"{LAB_PATH}?token=", "/api/status?token=")

    def ready() -> bool:
        container.reload()
        if container.status != "running":
            tail = container.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise HarnessError(f"the lab container stopped while starting: {tail}")
        return server_answers(api)

    wait_until(ready, timeout_s=START_TIMEOUT_S, interval_s=0.2, what="JupyterLab to answer")


def wait_while_running(container: Container) -> int:
    """Block until the container stops, for as long as that takes (polling: a long API wait would hit the client's timeout)."""
    def stopped() -> bool:
        container.reload()
        return container.status not in ("running", "created", "restarting")

    wait_until(stopped, timeout_s=math.inf, interval_s=1.0, what="the lab to stop")
    return int(container.attrs["State"].get("ExitCode", 1))


def run_lab(options: LabOptions, *, console: Console | None = None) -> int:
    """Start the lab, print its URL, stay in the foreground until Ctrl-C (or SIGTERM), then clean up."""
    console = console or stderr_console()
    client = docker_client()
    # Ctrl-C and SIGTERM both mean "stop the lab" (even where the shell started us with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with sigterm_as_interrupt():
        container: Container | None = None
        try:
            lab = start_lab(client, options, console)
            if lab.already_running:
                console.print(f"a lab for {options.work_dir} is already running ({lab.container.name}); here is its address:")
                print(lab.url, flush=True)
                return 0
            container = lab.container
            with console.status("waiting for JupyterLab to answer"):
                wait_for_server(container, lab.url)
            print(lab.url, flush=True)
            console.print(f"JupyterLab is ready; your notebooks are in {options.work_dir}/. Press Ctrl-C to stop.")
            if options.open_browser and can_open_browser():
                with contextlib.suppress(webbrowser.Error):
                    webbrowser.open(lab.url)
            status = wait_while_running(container)
            if status != 0:
                tail = container.logs(tail=10).decode(errors="replace").strip()
                raise HarnessError(f"the lab container exited with status {status}; its last lines:\n{tail}")
            return 0
        except KeyboardInterrupt:
            console.print("stopping the lab...")
            return 0
        finally:
            if container is not None:
                # A second Ctrl-C must not leave the container behind half-removed.
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                remove_container(container, timeout_s=10)
                console.print(f"lab stopped and removed; your work stays in {prepare_work_dir(options.work_dir)}")

