"""`harness grade`: grade students' notebooks of one lab, each in its own locked-down container.

Each notebook runs as the student left it (its own parameters; --ci-parameters applies the lab's
shorter CI ones), within the per-notebook time budget. The hidden tests go into each grading
container only, to the judge, never into the image or the student's kernel; a submission that
hangs, crashes its kernel, floods its output, exhausts memory or processes, or interferes with
checking gets a per-exercise status and message. Several notebooks are graded at once (--jobs).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path
from typing import Any

from harness.commands.grading_options import add_grading_options, grading_from, seed_from
from harness.course import catalog
from harness.errors import HarnessError
from harness.grading.file_names import file_stem, unique_names
from harness.grading.session import grade_notebooks


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("grade", help="grade students' notebooks in containers", description=__doc__)
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION.ipynb", help="the notebooks to grade")
    parser.add_argument("--lab", required=True, help="the lab the notebooks answer (e.g. 00)")
    parser.add_argument("--variant", choices=("cpu", "cuda"), default="cpu", help="the image to grade in (default: cpu)")
    add_grading_options(parser)
    parser.set_defaults(handler=handle)


def display_names(paths: list[Path]) -> list[str]:
    """File stems, with the parent folder where two share a stem, numbered (name-2) if still equal."""
    counts = Counter(path.stem for path in paths)
    return unique_names(f"{path.parent.name}/{path.stem}" if counts[path.stem] > 1 else path.stem for path in paths)


def handle(args: argparse.Namespace) -> int:
    lab = catalog.find_lab(args.lab)
    missing = [str(path) for path in args.submissions if not path.is_file()]
    if missing:
        raise HarnessError(f"no such notebook: {', '.join(missing)} (check the paths or the shell pattern)")
    if len(set(map(Path.resolve, args.submissions))) != len(args.submissions):
        raise HarnessError("the same notebook is given twice")
    executor, parallel = grading_from(args)
    taken: set[str] = set()
    notebooks, unreadable = [], []
    for path, name in zip(args.submissions, display_names(args.submissions), strict=True):
        problem = notebook_problem(path)
        if problem:  # that student's notebook is `error` with the reason; the class is graded
            unreadable.append((path, name, problem))
        else:
            notebooks.append((path, name, f"{file_stem(name, taken)}.ipynb"))
    return grade_notebooks(lab, notebooks, executor=executor, variant=args.variant, parallel=parallel,
                           reports=args.reports, ci_parameters=args.ci_parameters, details=args.details, seed=seed_from(args),
                           unreadable=unreadable)


def notebook_problem(path: Path) -> str:
    """Why the file is not a notebook that can be graded (one line), or "" when it is one."""
    try:
        catalog.read_notebook(path)
    except HarnessError as error:
        return str(error).splitlines()[0][:300]
    return ""
