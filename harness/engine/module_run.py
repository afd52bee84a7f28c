"""Host side of `harness bench` and `harness smoke`: run their module in the lab image or the host's Python.

Never imported by the in-image modules (it needs docker and rich). The container is a fresh,
labelled one of the course image, without network, running as the calling user so that the
reports it writes into the bind-mounted folder belong to that user.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import docker.errors
import requests.exceptions
from rich.console import Console

from harness.config import REPO_ROOT, Variant, facts
from harness.engine.containers import docker_client, first_line, image_exists, running_container
from harness.engine.gpu import all_gpus, engine_gpu_support
from harness.errors import HarnessError

log = logging.getLogger(__name__)

RunVariant = Literal["cpu", "cuda", "local"]
RUN_VARIANTS: tuple[RunVariant, ...] = ("cpu", "cuda", "local")
CONTAINER_OUT = "/out"
NO_RUNTIME_MARKERS = ("could not select device driver", "unknown or invalid runtime name: nvidia")


@dataclass(frozen=True)
class ModuleRun:
    """What came back from running `python -m MODULE`."""

    exit_code: int
    output_tail: str
    gpu_requested: bool
    no_gpu_reason: str | None  # why the host could not give the run a GPU, when it could not


def report_console() -> Console:
    """The console for the final table: as wide as a CI log needs when stdout is not a terminal (rich says 80)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def engine_runtimes(client: docker.DockerClient) -> list[str]:
    info = client.info()
    return sorted(info.get("Runtimes", {}) or {})


def default_variant() -> RunVariant:
    """The choice `make lab` makes: cuda when the engine gives containers a GPU, else cpu."""
    support = engine_gpu_support(docker_client())
    log.info("default variant: %s", support.reason)
    return "cuda" if support.available else "cpu"


def run_module(
    module: str,
    arguments: list[str],
    *,
    variant: RunVariant,
    out: Path,
    component: str,
    timeout_s: int,
    console: Console,
) -> ModuleRun:
    out.mkdir(parents=True, exist_ok=True)
    if variant == "local":
        return _run_local(module, arguments, out=out, timeout_s=timeout_s, console=console)
    return _run_container(module, arguments, variant=variant, out=out, component=component, timeout_s=timeout_s, console=console)


def _run_local(module: str, arguments: list[str], *, out: Path, timeout_s: int, console: Console) -> ModuleRun:
    command = [sys.executable, "-m", module, *arguments, "--reports", str(out.resolve())]
    console.print(f"[dim]running {module} in this Python ({sys.executable})[/]")
    try:
        # stderr (progress) goes straight to the terminal; stdout is not used by the modules' default mode.
        result = subprocess.run(command, cwd=REPO_ROOT, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{module} did not finish within {timeout_s} s (raise --timeout)") from None
    return ModuleRun(result.returncode, "", gpu_requested=False, no_gpu_reason=None)


def _container_options(module: str, arguments: list[str], *, out: Path, gpu: bool) -> dict[str, object]:
    options: dict[str, object] = {
        # tini reaps and forwards signals; start.sh (notebook set-up) is not wanted for a batch job.
        "entrypoint": ["tini", "-g", "--"],
        "command": ["python", "-m", module, *arguments, "--reports", CONTAINER_OUT],
        "user": f"{os.getuid()}:{os.getgid()}",
        # Any uid may run this, so HOME and matplotlib's cache go to /tmp, which every user can write.
        "environment": {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PYTHONUNBUFFERED": "1"},
        "working_dir": "/tmp",
        "network_mode": "none",
        "volumes": {str(out.resolve()): {"bind": CONTAINER_OUT, "mode": "rw"}},
        "shm_size": "1g",  # pinned-memory copies and DataLoader workers need more than Docker's 64 MB
    }
    if gpu:
        options["device_requests"] = all_gpus()
    return options


def _no_runtime(error: HarnessError) -> bool:
    return any(marker in str(error) for marker in NO_RUNTIME_MARKERS)


def _run_container(
    module: str,
    arguments: list[str],
    *,
    variant: Variant,
    out: Path,
    component: str,
    timeout_s: int,
    console: Console,
) -> ModuleRun:
    # The wait below may last the whole run: give the client's socket that long.
    client = docker_client(timeout=timeout_s + 30)
    image = facts().image(variant)
    if not image_exists(client, image):
        raise HarnessError(f"image {image} is not built: run 'make image-{variant}'")
    gpu = variant == "cuda"
    no_gpu_reason = None if gpu else f"the {variant} variant: the CPU image, no GPU requested"
    if gpu:
        try:
            return _attempt(
                client, image, module, arguments, out=out, gpu=True, component=component, timeout_s=timeout_s, console=console
            )
        except HarnessError as error:
            if not _no_runtime(error):
                raise
            runtimes = ", ".join(engine_runtimes(client)) or "none"
            no_gpu_reason = (
                f"the Docker engine has no NVIDIA runtime (runtimes: {runtimes}; it said: {first_line(error)}); "
                "install the NVIDIA Container Toolkit and run 'nvidia-ctk runtime configure --runtime=docker'"
            )
            console.print(f"[yellow]no GPU for the container:[/] {no_gpu_reason}")
    arguments = [*arguments, "--no-gpu-hint", str(no_gpu_reason)]
    result = _attempt(
        client, image, module, arguments, out=out, gpu=False, component=component, timeout_s=timeout_s, console=console
    )
    return ModuleRun(result.exit_code, result.output_tail, gpu_requested=gpu, no_gpu_reason=no_gpu_reason)


def _attempt(
    client: docker.DockerClient,
    image: str,
    module: str,
    arguments: list[str],
    *,
    out: Path,
    gpu: bool,
    component: str,
    timeout_s: int,
    console: Console,
) -> ModuleRun:
    options = _container_options(module, arguments, out=out, gpu=gpu)
    tail: list[str] = []
    with running_container(client, image, component=component, **options) as container:
        streamer = threading.Thread(target=_stream_logs, args=(container, console, tail), daemon=True)
        streamer.start()
        try:
            status = container.wait(timeout=timeout_s)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            raise HarnessError(f"{module} did not finish within {timeout_s} s in {image} (raise --timeout)") from None
        streamer.join(timeout=5)
        if not tail:  # the stream can miss a container that ended at once: read what it printed
            tail.extend(container.logs().decode(errors="replace").splitlines()[-40:])
    text = "\n".join(tail[-40:])
    if f"No module named {module}" in text or "No module named 'in_image." in text:
        raise HarnessError(f"image {image} predates `{module}`: rebuild it ('make image-{'cuda' if 'cuda' in image else 'cpu'}')")
    return ModuleRun(int(status.get("StatusCode", 1)), text, gpu_requested=gpu, no_gpu_reason=None)


def _stream_logs(container: object, console: Console, tail: list[str]) -> None:
    """Show the module's progress lines as they come (they go to the container's stderr)."""
    try:
        for chunk in container.logs(stream=True, follow=True):  # type: ignore[attr-defined]
            for line in chunk.decode(errors="replace").splitlines():
                tail.append(line)
                del tail[:-200]
                console.print("  " + line, style="dim", highlight=False, markup=False, soft_wrap=True)
    except (docker.errors.APIError, requests.exceptions.RequestException) as error:
        log.debug("log stream ended: %s", error)
