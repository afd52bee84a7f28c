"""The part of `harness run` and `harness grade` they share: options, progress, reports, exit code."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from harness.config import REPORTS_DIR, Variant
from harness.engine.waiting import sigterm_as_interrupt
from harness.errors import HarnessError
from harness.grading.jobs import GradingJob
from harness.grading.local import LocalExecutor
from harness.grading.pool import Executor, grade_all
from harness.grading.reports import print_details, print_summary, printable, write_grading_reports
from harness.grading.results import Limits, SubmissionResult

DEFAULT_LIMITS = Limits()


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits")
    group.add_argument("--jobs", "-j", type=int, default=None, help="notebooks graded at once (default: cores / --cpus)")
    group.add_argument("--cpus", type=float, default=DEFAULT_LIMITS.cpus, help="CPUs per container (default: %(default)s)")
    group.add_argument("--memory", default=DEFAULT_LIMITS.memory, help="memory per container, no swap (default: %(default)s)")
    group.add_argument("--pids", type=int, default=DEFAULT_LIMITS.pids,
                       help="processes and threads per container (default: %(default)s)")
    group.add_argument("--cell-timeout", type=float, default=DEFAULT_LIMITS.cell_timeout_s, metavar="S",
                       help="seconds per notebook cell (default: %(default)s)")
    group.add_argument("--exercise-timeout", type=float, default=DEFAULT_LIMITS.exercise_timeout_s, metavar="S",
                       help="seconds to check one exercise's public cases, and again its hidden ones (default: %(default)s)")
    group.add_argument("--budget", type=float, default=DEFAULT_LIMITS.budget_s, metavar="S",
                       help="seconds for a whole notebook, restarts included (default: %(default)s)")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR",
                        help="where the JSON and JUnit reports go (default: reports/)")
    parser.add_argument("--details", action="store_true", help="a per-exercise table for every notebook")


def limits_from(args: argparse.Namespace) -> Limits:
    for name in ("cpus", "cell_timeout", "exercise_timeout", "budget"):
        if getattr(args, name) <= 0:
            raise HarnessError(f"--{name.replace('_', '-')} must be positive")
    if args.pids < 32:
        raise HarnessError("--pids must be at least 32 (the kernel alone runs a dozen threads)")
    return Limits(cpus=args.cpus, memory=args.memory, pids=args.pids, cell_timeout_s=args.cell_timeout,
                  exercise_timeout_s=args.exercise_timeout, budget_s=args.budget)


def parallelism(args: argparse.Namespace, limits: Limits, *, default: int | None = None) -> int:
    """--jobs, else `default`, else as many containers as the cores fit at --cpus each."""
    if args.jobs is not None:
        if args.jobs < 1:
            raise HarnessError("--jobs must be at least 1")
        return int(args.jobs)
    return default or max(1, int((os.cpu_count() or 1) // max(limits.cpus, 1.0)))


def add_image_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", metavar="REF", default=None,
                        help="grade in this image instead of the variant's (e.g. last year's release, dl-lab:cpu-2025.11)")


def make_executor(variant: str, limits: Limits, *, image: str | None = None) -> Executor:
    if variant == "local":
        if image:
            raise HarnessError("--image needs a container: use --variant cpu or cuda with it, not local")
        return LocalExecutor(limits=limits)
    from harness.grading.container import ContainerExecutor  # noqa: PLC0415 (--variant local needs no docker-py)

    chosen: Variant = "cuda" if variant == "cuda" else "cpu"
    return ContainerExecutor(variant=chosen, limits=limits, gpu=chosen == "cuda", image=image)


def execute(jobs: list[GradingJob], *, executor: Executor, kind: str, variant: str, stem: str, parallel: int,
            reports: Path, details: bool) -> int:
    """Grade the jobs with progress on stderr, print the tables, write the reports; the exit code."""
    err = Console(stderr=True)
    out = Console()
    err.print(Text.assemble((kind, "bold"), f": {len(jobs)} notebook(s) on {executor.description}, {parallel} at a time"))
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with sigterm_as_interrupt(), Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task(kind, total=len(jobs))

        def done(job: GradingJob, result: SubmissionResult) -> None:
            progress.advance(task)
            mark = ("✓", "green") if result.passed else ("•", "yellow") if result.status == "ok" else ("✗", "red")
            line = Text.assemble(mark, f" {printable(job.name, limit=120)} (lab {job.lab.id}): "
                                       f"{result.score:g}/{result.max_score:g} in {result.time_s:.1f} s")
            progress.console.print(line)

        results = grade_all(jobs, executor, parallel=parallel, on_done=done)
    image = None if variant == "local" else getattr(executor, "image", None)
    seed = jobs[0].seed if jobs else None
    json_path, junit_path = write_grading_reports(results, directory=reports, stem=stem, kind=kind, variant=variant,
                                                  image=image, seed=seed)
    if details or len(results) <= 2:
        for result in results:
            print_details(out, result)
    print_summary(out, results, title=f"{kind}: {executor.description}")
    err.print(Text(f"reports: {json_path}, {junit_path}" + ("" if seed is None else f" (hidden cases' seed: {seed})")))
    return 0 if all(r.passed for r in results) else 1
