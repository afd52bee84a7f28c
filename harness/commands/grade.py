"""`harness grade`: grade students' notebooks of one lab, each in its own locked-down container.

Each notebook runs as the student left it (its own parameters; --ci-parameters applies the lab's
shorter CI ones), within the per-notebook time budget. The hidden tests go into each grading
container only, to the judge, never into the image or the student's kernel; a submission that
hangs, crashes its kernel, floods its output, exhausts memory or processes, or interferes with
checking gets a per-exercise status and message. Several notebooks are graded at once (--jobs).
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path
from typing import Any

from harness.course import catalog, versions
from harness.course.catalog import Lab
from harness.errors import HarnessError
from harness.grading.jobs import GradingJob
from harness.grading.pool import Executor
from harness.grading.session import add_image_option, add_limit_options, execute, limits_from, make_executor, parallelism
from harness.grading.similarity import class_similarity


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("grade", help="grade students' notebooks in containers", description=__doc__)
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION.ipynb", help="the notebooks to grade")
    parser.add_argument("--lab", required=True, help="the lab the notebooks answer (e.g. 00)")
    parser.add_argument("--variant", choices=("cpu", "cuda"), default="cpu", help="the image to grade in (default: cpu)")
    add_ci_parameters_option(parser)
    add_image_option(parser)
    add_limit_options(parser)
    parser.set_defaults(handler=handle)


def add_ci_parameters_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ci-parameters", action="store_true",
                        help="replace the notebooks' parameters by the lab's shorter CI ones (default: as the student left them)")


def names(paths: list[Path]) -> list[str]:
    """Display names: file stems, with the parent folder where two share a stem, numbered if still equal."""
    counts = Counter(path.stem for path in paths)
    candidates = [f"{path.parent.name}/{path.stem}" if counts[path.stem] > 1 else path.stem for path in paths]
    times = Counter(candidates)
    seen: Counter[str] = Counter()
    unique = []
    for name in candidates:
        seen[name] += 1
        unique.append(name if times[name] == 1 else f"{name} #{seen[name]}")
    return unique


def file_name(name: str, index: int) -> str:
    """A safe file name for a display name (any characters), unique by its index."""
    safe = re.sub(r"[^\w.-]+", "_", name, flags=re.ASCII).strip("._")[:80] or "entrega"
    return f"{index:03d}-{safe}.ipynb"


def handle(args: argparse.Namespace) -> int:
    lab = catalog.find_lab(args.lab)
    for path in args.submissions:
        catalog.read_notebook(path)  # a missing, non-notebook or invalid file stops here, with its name
    if len(set(map(Path.resolve, args.submissions))) != len(args.submissions):
        raise HarnessError("the same notebook is given twice")
    limits = limits_from(args)
    executor = make_executor(args.variant, limits, image=args.image)
    notebooks = [(path, name, file_name(name, index))
                 for index, (path, name) in enumerate(zip(args.submissions, names(args.submissions), strict=True), start=1)]
    return grade_notebooks(args, lab, notebooks, executor=executor, parallel=parallelism(args, limits))


def grade_notebooks(args: argparse.Namespace, lab: Lab, notebooks: list[tuple[Path, str, str]], *, executor: Executor,
                    parallel: int) -> int:
    """Grade each (notebook, display name, file name of its executed copy in REPORTS/grade-LAB/) into
    REPORTS/grade-LAB.json, with the students' own parameters unless --ci-parameters; the exit code."""
    executed = args.reports / f"grade-{lab.id}"
    parameters = dict(lab.ci_parameters) if args.ci_parameters else {}
    jobs = [GradingJob(lab=lab, notebook=path, name=name, parameters=parameters, save_executed=executed / file)
            for path, name, file in notebooks]
    return execute(jobs, executor=executor, kind="grade", variant=args.variant, stem=f"grade-{lab.id}",
                   parallel=parallel, reports=args.reports, details=args.details,
                   similarity=class_similarity([(path, name) for path, name, _ in notebooks], template=template_cells(lab)))


def template_cells(lab: Lab) -> list[str]:
    """The sources of the code cells of the lab's student notebook, as `make labs` generates it."""
    student = versions.make_version(catalog.read_notebook(lab.source), student=True, origin=str(lab.source))
    return [str(cell.source) for cell in student.cells if cell.cell_type == "code"]
