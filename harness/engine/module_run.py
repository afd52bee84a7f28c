"""Host side of `harness bench` and `harness smoke`: run their module in the lab image or the host's Python.

Never imported by the in-image modules. The local variant needs neither docker-py nor an engine:
the container variants' code (harness.engine.module_container) is imported only when one is asked for.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Literal

from rich.console import Console

from harness.config import REPO_ROOT
from harness.engine.module_result import ModuleRun
from harness.errors import HarnessError

log = logging.getLogger(__name__)

RunVariant = Literal["cpu", "cuda", "local"]
RUN_VARIANTS: tuple[RunVariant, ...] = ("cpu", "cuda", "local")


def report_console() -> Console:
    """The console for the final table: as wide as a CI log needs when stdout is not a terminal (rich says 80)."""
    return Console() if sys.stdout.isatty() else Console(width=160)


def default_variant() -> RunVariant:
    """The choice `make lab` makes (harness.engine.gpu.choose_variant): cuda when the CUDA image can use this
    host's GPUs, else cpu."""
    from harness.engine.containers import docker_client  # noqa: PLC0415 (docker-py only where an engine is asked)
    from harness.engine.gpu import choose_variant  # noqa: PLC0415 (likewise)

    choice = choose_variant(docker_client(), variant=None, gpu=None)
    if choice.incompatible:  # GPUs the image cannot use: say so, with the fix, rather than compute on the CPU unawares
        log.warning("%s", choice.why)
    log.info("default variant: %s", choice.why)
    return choice.variant


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
    from harness.engine.module_container import run_in_container  # noqa: PLC0415 (docker-py only for containers)

    return run_in_container(module, arguments, variant=variant, out=out, component=component, timeout_s=timeout_s,
                            console=console)


def _run_local(module: str, arguments: list[str], *, out: Path, timeout_s: int, console: Console) -> ModuleRun:
    command = [sys.executable, "-m", module, *arguments, "--reports", str(out.resolve())]
    console.print(f"[dim]running {module} in this Python ({sys.executable})[/]")
    try:
        # stderr (progress) goes straight to the terminal; stdout is not used by the modules' default mode.
        result = subprocess.run(command, cwd=REPO_ROOT, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"{module} did not finish within {timeout_s} s (raise --timeout)") from None
    return ModuleRun(result.returncode, "", gpu_requested=False, no_gpu_reason=None)
