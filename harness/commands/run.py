"""`harness run`: execute the labs' instructor notebooks top to bottom in a fresh container and grade them.

Each lab runs with its solutions and its hidden tests in a new container of the image (the same
locked-down container `harness grade` uses), its CI parameters applied (fewer epochs) unless --full.
Every exercise must pass and no cell may fail unexpectedly: the exit code says whether they did.
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.commands.grading_options import add_image_option, add_limit_options, limits_from, parallelism_from
from harness.course import catalog
from harness.grading.session import make_executor, run_labs


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
    parallel = parallelism_from(args, limits, default=1)  # one lab at a time: its timings stay comparable
    executor = make_executor(args.variant, limits, image=args.image)
    return run_labs(selected, executor=executor, variant=args.variant, parallel=parallel, full=args.full,
                    reports=args.reports, details=args.details)
