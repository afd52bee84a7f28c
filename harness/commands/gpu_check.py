"""`harness gpu-check`: everything that needs a GPU, in one command, on a GPU machine without Docker.

In this machine's Python (the --variant local of every verb), in this order: smoke level 1, every lab of
labs/source run and graded (`harness run`), torch.compile against eager on the GPU, smoke level 2,
`harness bench` and the pytest-benchmark suite (tests/bench); `--steps` runs some of them only.
Every report goes under --reports (default reports/gpu-check/), with gpu-check.json, gpu-check.md and
gpu-check.junit.xml (one case per step) and each step's log in logs/. Exit codes: 0 every step passed,
1 a step failed or did not finish within the budget, 2 the harness could not run (no torch in this Python),
3 no GPU (nothing run).

Needs torch, rich and, for the labs, nbformat, nbclient and ipykernel; not docker-py.
`--fetch-wheels DIR` downloads those for a machine that cannot reach a package index.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from harness.config import REPORTS_DIR
from harness.gpu_check import DEFAULT_BUDGET_S, gpu_check
from harness.gpu_check.steps import plan
from harness.gpu_check.wheels import fetch_wheels
from in_image.smoke.options import DEFAULT_GEMM_SECONDS, positive


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gpu-check", help="every GPU check in this machine's Python, no Docker (smoke 1+2, bench, compile, labs)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR / "gpu-check", metavar="DIR",
                        help="report folder (default: reports/gpu-check/)")
    parser.add_argument("--gemm-seconds", type=positive, default=DEFAULT_GEMM_SECONDS,
                        help="smoke level 2's sustained GEMM (default %(default)s)")
    parser.add_argument("--budget", type=positive, default=DEFAULT_BUDGET_S,
                        help="seconds for every step together (default %(default)s); steps past it are not started")
    parser.add_argument("--steps", type=step_list, default=None, metavar="NAME,...",
                        help="only these steps, in the check's order (default: all): "
                        + ",".join(step.name for step in plan(Path("reports"), gemm_seconds=DEFAULT_GEMM_SECONDS)))
    parser.add_argument("--archive", type=Path, default=None, metavar="FILE.tar.gz",
                        help="also pack the report folder into this archive")
    parser.add_argument("--fetch-wheels", type=Path, default=None, metavar="DIR",
                        help="only download the labs' runner wheels (nbformat, nbclient, ipykernel...) into DIR, for a "
                             "GPU machine without a package index; see --python-version")
    parser.add_argument("--python-version", default="3.12", help="--fetch-wheels: the GPU machine's Python (default 3.12)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True)
    if args.fetch_wheels is not None:
        return fetch_wheels(args.fetch_wheels, python_version=args.python_version, console=console)
    return gpu_check(reports=args.reports, gemm_seconds=args.gemm_seconds, budget_s=args.budget, archive=args.archive,
                     console=console, step_names=args.steps)


def step_list(text: str) -> list[str]:
    """"labs,compile" → ["labs", "compile"] (checked against the plan when the check starts)."""
    return [name.strip() for name in text.split(",") if name.strip()]
