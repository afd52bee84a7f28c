"""What came back from running a module (`harness bench`, `harness smoke`) in a container or the host's Python.

Apart from harness.engine.module_run and module_container so that neither imports the other for it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModuleRun:
    """What came back from running `python -m MODULE`."""

    exit_code: int
    output_tail: str
    gpu_requested: bool
    no_gpu_reason: str | None  # why the host could not give the run a GPU, when it could not
