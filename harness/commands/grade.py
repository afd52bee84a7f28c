"""`harness grade`: grade students' notebooks of one lab, each in its own locked-down container.

The hidden tests go into each grading container only (never into the image); a submission that
hangs, crashes its kernel, floods its output, exhausts memory or processes, or tampers with the
checks gets a per-exercise status and message. Several notebooks are graded at once (--jobs).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from harness.course import catalog
from harness.errors import HarnessError
from harness.grading.host import GradingJob
from harness.grading.session import add_image_option, add_limit_options, execute, limits_from, make_executor, parallelism


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("grade", help="grade students' notebooks in containers", description=__doc__)
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION.ipynb", help="the notebooks to grade")
    parser.add_argument("--lab", required=True, help="the lab the notebooks answer (e.g. 00)")
    parser.add_argument("--variant", choices=("cpu", "cuda"), default="cpu", help="the image to grade in (default: cpu)")
    parser.add_argument("--full", action="store_true", help="the notebooks' own parameters, not the lab's CI ones")
    add_image_option(parser)
    add_limit_options(parser)
    parser.set_defaults(handler=handle)


def names(paths: list[Path]) -> list[str]:
    """File stems, made unique with the parent folder where two submissions share a stem."""
    counts = Counter(path.stem for path in paths)
    return [f"{path.parent.name}/{path.stem}" if counts[path.stem] > 1 else path.stem for path in paths]


def handle(args: argparse.Namespace) -> int:
    lab = catalog.find_lab(args.lab)
    for path in args.submissions:
        catalog.read_notebook(path)  # a missing, non-notebook or invalid file stops here, with its name
    if len(set(map(Path.resolve, args.submissions))) != len(args.submissions):
        raise HarnessError("the same notebook is given twice")
    limits = limits_from(args)
    executor = make_executor(args.variant, limits, image=args.image)
    executed = args.reports / f"grade-{lab.id}"
    jobs = [GradingJob(lab=lab, notebook=path, name=name, parameters={} if args.full else dict(lab.ci_parameters),
                save_executed=executed / f"{name.replace('/', '__')}.ipynb")
            for path, name in zip(args.submissions, names(args.submissions), strict=True)]
    return execute(jobs, executor=executor, kind="grade", variant=args.variant, stem=f"grade-{lab.id}",
                   parallel=parallelism(args, limits), reports=args.reports, details=args.details)
