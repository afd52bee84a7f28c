"""`harness run`: execute the labs' instructor notebooks top to bottom in a fresh container and grade them.

Each lab runs with its solutions and its hidden tests in a new container of the image (the same
locked-down container `harness grade` uses), its CI parameters applied (fewer epochs) unless --full.
Every exercise must pass and no cell may fail unexpectedly: the exit code says whether they did.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.config import BUILD_DIR
from harness.course import catalog, versions
from harness.course.catalog import Lab
from harness.grading.jobs import GradingJob, new_seed
from harness.grading.pool import Executor
from harness.grading.session import add_image_option, add_limit_options, execute, limits_from, make_executor, parallelism


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run and grade the labs' solution notebooks (CI check)", description=__doc__)
    parser.add_argument("labs", nargs="*", metavar="LAB", help="lab ids or names (default: every lab)")
    parser.add_argument("--variant", choices=("cpu", "cuda", "local"), default="cpu",
                        help="cpu or cuda image (cuda passes the GPUs in), or local: the host's Python (default: cpu)")
    parser.add_argument("--full", action="store_true", help="the notebooks' own parameters, not the shorter CI ones")
    add_image_option(parser)
    add_limit_options(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    selected = [catalog.find_lab(key) for key in args.labs] if args.labs else list(catalog.all_labs().values())
    limits = limits_from(args)
    parallel = parallelism(args, limits, default=1)  # one lab at a time: its timings stay comparable
    executor = make_executor(args.variant, limits, image=args.image)
    return run_labs(selected, executor=executor, variant=args.variant, parallel=parallel, full=args.full,
                    reports=args.reports, details=args.details)


def run_labs(selected: list[Lab], *, executor: Executor, variant: str, parallel: int, full: bool, reports: Path,
             details: bool) -> int:
    """Generate the instructor notebooks, grade them with the executor, write run-VARIANT reports; the exit code."""
    out = BUILD_DIR / "labs"
    versions.generate(out=out)
    executed = reports / f"run-{variant}"
    seed = new_seed()
    jobs = [GradingJob(lab=lab, notebook=out / "instructor" / lab.notebook_name, name=lab.name,
                parameters={} if full else dict(lab.ci_parameters), save_executed=executed / lab.notebook_name,
                seed=seed)
            for lab in selected]
    return execute(jobs, executor=executor, kind="run", variant=variant, stem=f"run-{variant}",
                   parallel=parallel, reports=reports, details=details)
