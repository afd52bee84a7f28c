"""What `harness run`, `grade`, `collect` and `check` share: limits, executors, progress, reports, exit code."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.text import Text

from harness.config import BUILD_DIR, Variant
from harness.course import catalog, versions
from harness.course.catalog import Lab
from harness.engine.waiting import sigterm_as_interrupt
from harness.errors import HarnessError
from harness.grading.jobs import GradingJob, exercise_rows, new_seed
from harness.grading.local import LocalExecutor
from harness.grading.pool import Executor, grade_all
from harness.grading.reports import print_details, print_similarity, print_summary, printable, write_grading_reports
from harness.grading.results import Limits, SubmissionResult, failed_submission
from harness.grading.similarity import class_similarity

DEFAULT_LIMITS = Limits()


def checked_limits(*, cpus: float, memory: str, pids: int, cell_timeout_s: float, exercise_timeout_s: float,
                   budget_s: float) -> Limits:
    """The limits, once each is possible (the messages name the options that set them)."""
    for option, value in (("cpus", cpus), ("cell-timeout", cell_timeout_s), ("exercise-timeout", exercise_timeout_s),
                          ("budget", budget_s)):
        if value <= 0:
            raise HarnessError(f"--{option} must be positive")
    if pids < 32:
        raise HarnessError("--pids must be at least 32 (the kernel alone runs a dozen threads)")
    return Limits(cpus=cpus, memory=memory, pids=pids, cell_timeout_s=cell_timeout_s, exercise_timeout_s=exercise_timeout_s,
                  budget_s=budget_s)


def parallelism(*, jobs: int | None, limits: Limits, default: int | None = None) -> int:
    """`jobs`, else `default`, else as many containers as the cores fit at limits.cpus each."""
    if jobs is not None:
        if jobs < 1:
            raise HarnessError("--jobs must be at least 1")
        return int(jobs)
    return default or max(1, int((os.cpu_count() or 1) // max(limits.cpus, 1.0)))


def make_executor(variant: str, limits: Limits, *, image: str | None = None) -> Executor:
    if variant == "local":
        if image:
            raise HarnessError("--image needs a container: use --variant cpu or cuda with it, not local")
        return LocalExecutor(limits=limits)
    from harness.grading.container import ContainerExecutor  # noqa: PLC0415 (--variant local needs no docker-py)

    chosen: Variant = "cuda" if variant == "cuda" else "cpu"
    return ContainerExecutor(variant=chosen, limits=limits, gpu=chosen == "cuda", image=image)


def execute(jobs: list[GradingJob], *, executor: Executor, kind: str, variant: str, stem: str, parallel: int,
            reports: Path, details: bool, similarity: dict[str, Any] | None = None,
            rejected: Sequence[SubmissionResult] = ()) -> int:
    """Grade the jobs with progress on stderr, print the tables, write the reports (with the class
    similarity section, when given, and the results of the files that could not be graded); the exit code."""
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

        results = grade_all(jobs, executor, parallel=parallel, on_done=done) if jobs else []
    results = [*results, *rejected]
    for result in rejected:
        err.print(Text(f"✗ {printable(result.name, limit=120)}: {result.message}", style="red"))
    image = None if variant == "local" else getattr(executor, "image", None)
    seed = jobs[0].seed if jobs else None
    json_path, junit_path = write_grading_reports(results, directory=reports, stem=stem, kind=kind, variant=variant,
                                                  image=image, seed=seed, similarity=similarity)
    if details or len(results) <= 2:
        for result in results:
            print_details(out, result)
    print_summary(out, results, title=f"{kind}: {executor.description}")
    if similarity is not None:
        print_similarity(out, similarity)
    err.print(Text(f"reports: {json_path}, {junit_path}" + ("" if seed is None else f" (hidden cases' seed: {seed})")))
    return 0 if all(r.passed for r in results) else 1


def grade_notebooks(lab: Lab, notebooks: list[tuple[Path, str, str]], *, executor: Executor, variant: str, parallel: int,
                    reports: Path, ci_parameters: bool, details: bool, seed: int | None = None,
                    unreadable: Sequence[tuple[Path, str, str]] = ()) -> int:
    """Grade each (notebook, display name, file name of its executed copy in REPORTS/grade-LAB/) into
    REPORTS/grade-LAB.json, with the students' own parameters unless ci_parameters, the hidden cases drawn
    from seed (a new one when None); each (path, display name, reason) of `unreadable` is reported as that
    student's `error`. The exit code."""
    seed = new_seed() if seed is None else seed
    executed = reports / f"grade-{lab.id}"
    parameters = dict(lab.ci_parameters) if ci_parameters else {}
    jobs = [GradingJob(lab=lab, notebook=path, name=name, parameters=parameters, save_executed=executed / file,
                       seed=seed)
            for path, name, file in notebooks]
    similarity = class_similarity([(path, name) for path, name, _ in notebooks], template=template_cells(lab))
    rejected = [failed_submission(lab=lab.id, notebook=path, name=name, exercises=exercise_rows(lab), status="error",
                                  message=f"el archivo no es un cuaderno que se pueda calificar: {reason}", time_s=0.0)
                for path, name, reason in unreadable]
    return execute(jobs, executor=executor, kind="grade", variant=variant, stem=f"grade-{lab.id}",
                   parallel=parallel, reports=reports, details=details, similarity=similarity, rejected=rejected)


def template_cells(lab: Lab) -> list[str]:
    """The sources of the code cells of the lab's student notebook, as `make labs` generates it."""
    student = versions.make_version(catalog.read_notebook(lab.source), student=True, origin=str(lab.source))
    return [str(cell.source) for cell in student.cells if cell.cell_type == "code"]


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
