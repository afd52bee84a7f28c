"""The container half of harness.engine.module_run: `python -m MODULE` in a fresh, labelled container of the image.

The container runs without network, as the calling user so that the reports it writes into the
bind-mounted folder belong to that user. Needs docker-py; the local variant never imports this module.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests.exceptions
from rich.console import Console

from harness.config import Variant, facts
from harness.engine.containers import docker_client, require_image, running_container
from harness.engine.gpu import all_gpus, gpu_decision
from harness.engine.module_result import ModuleRun
from harness.engine.waiting import first_line
from harness.errors import HarnessError

log = logging.getLogger(__name__)

CONTAINER_OUT = "/out"
NO_RUNTIME_MARKERS = ("could not select device driver", "unknown or invalid runtime name: nvidia")


def engine_runtimes(client: docker.DockerClient) -> list[str]:
    info = client.info()
    return sorted(info.get("Runtimes", {}) or {})


def _container_options(module: str, arguments: list[str], *, out: Path, gpu: bool,
                       device_requests: list[Any] | None = None) -> dict[str, object]:
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
        options["device_requests"] = device_requests or all_gpus()
    return options


def _no_runtime(error: HarnessError) -> bool:
    return any(marker in str(error) for marker in NO_RUNTIME_MARKERS)


def run_in_container(
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
    require_image(client, image, make_target=f"image-{variant}")
    gpu = variant == "cuda"
    no_gpu_reason = None if gpu else f"the {variant} variant: the CPU image, no GPU requested"
    decision = gpu_decision(client) if gpu else None
    if decision is not None and decision.incompatible:
        # GPUs the CUDA line cannot use (driver too old, compute capability outside the line): a known reason, no attempt.
        no_gpu_reason = decision.reason
        console.print(f"[yellow]no GPU for the container:[/] {no_gpu_reason}")
    elif decision is not None:
        try:
            return _attempt(
                client, image, module, arguments, out=out, gpu=True, component=component, timeout_s=timeout_s, console=console,
                device_requests=decision.device_requests(),
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
    device_requests: list[Any] | None = None,
) -> ModuleRun:
    options = _container_options(module, arguments, out=out, gpu=gpu, device_requests=device_requests)
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
    if f"No module named {module}" in text or "No module named 'in_image" in text:  # also the package itself
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
