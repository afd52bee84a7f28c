"""`harness check` (make check): every lab's solutions graded in the CPU image, and in the CUDA image where
the engine gives containers a GPU. The instructor's check that the course works on this machine.

Builds the images it needs when they are missing. Exit 0 when every exercise of every lab passes.
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.config import REPORTS_DIR, Variant
from harness.course import catalog
from harness.engine.containers import docker_client
from harness.engine.gpu import gpu_decision
from harness.grading.results import Limits
from harness.grading.session import make_executor, run_labs
from harness.images.lab_image import ensure_image
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("check", help="run every lab's solutions in the CPU image (and the CUDA one with a GPU)",
                                   description=__doc__)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    console = stderr_console()
    decision = gpu_decision(docker_client())
    variants: list[Variant] = ["cpu", "cuda"] if decision.use_gpu else ["cpu"]
    if not decision.use_gpu:
        console.print(f"no GPU for containers here ({decision.reason}): the CUDA run is skipped")
    selected = list(catalog.all_labs().values())
    worst = 0
    for variant in variants:
        ensure_image(variant, console=console)
        executor = make_executor(variant, Limits(), image=None)
        code = run_labs(selected, executor=executor, variant=variant, parallel=1, full=False, reports=REPORTS_DIR,
                        details=False)
        worst = max(worst, code)
    return worst
