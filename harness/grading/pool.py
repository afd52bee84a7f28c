"""Grading many notebooks at once: the executor interface, the pool, and turning a judge's result into a SubmissionResult."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from harness.grading.jobs import GradingJob
from harness.grading.results import Limits, SubmissionResult, failed_submission, judged

log = logging.getLogger(__name__)


class Executor(Protocol):
    description: str

    def run(self, job: GradingJob) -> SubmissionResult: ...

    def cancel_all(self) -> None: ...


def timed_out(limits: Limits) -> str:
    """The failure message of a judge the host stopped at its wall-clock limit."""
    return f"la calificación superó {limits.host_timeout_s:.0f} s y se detuvo"


def interpret(raw: dict[str, Any] | None, *, job: GradingJob, nonce: str, started: float, created_at: float | None,
              failure: str, failure_status: str, executed: bytes | None, executed_reason: str = "") -> SubmissionResult:
    """The SubmissionResult of a job from what its judge left (or the failure that left nothing).

    created_at: the wall-clock time (time.time()) just before the judge's container or process was created;
    the startup time is from then to the judge's own `started_at`. executed_reason: why there is no executed
    notebook, when the executor knows (too big).
    """
    elapsed = time.monotonic() - started
    if not isinstance(raw, dict) or raw.get("nonce") != nonce:
        if raw is not None:
            failure, failure_status = "el resultado no lleva el identificador de esta calificación: no es fiable", "error"
        result = failed_submission(lab=job.lab.id, notebook=job.notebook, name=job.name, exercises=job.exercises(),
                                   status=failure_status, message=failure, time_s=elapsed)
    else:
        started_at = raw.get("started_at")
        startup_s = max(0.0, started_at - created_at) if created_at is not None and isinstance(started_at, int | float) \
            else None
        result = judged(raw, lab=job.lab.id, notebook=job.notebook, name=job.name, time_s=elapsed, startup_s=startup_s,
                        declared=job.exercises())
    if job.save_executed is None:
        return result
    if executed is not None:
        job.save_executed.parent.mkdir(parents=True, exist_ok=True)
        job.save_executed.write_bytes(executed)
        result.executed_notebook = str(job.save_executed)
    else:
        result.executed_notebook_reason = executed_reason or "el calificador no dejó el cuaderno ejecutado"
    return result


def failed_job(job: GradingJob, error: BaseException) -> SubmissionResult:
    """The result of a job whose grading raised on the host: that notebook is `error`, the others go on."""
    log.error("grading %s failed", job.name, exc_info=error)
    return failed_submission(lab=job.lab.id, notebook=job.notebook, name=job.name, exercises=job.exercises(),
                             status="error", message=f"la calificación falló en el anfitrión: {type(error).__name__}",
                             time_s=0.0)


def grade_all(jobs: list[GradingJob], executor: Executor, *, parallel: int,
              on_done: Callable[[GradingJob, SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """Run every job, `parallel` at a time; results in the jobs' order. Ctrl-C removes what runs."""
    results: dict[int, SubmissionResult] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="grade")
    futures: dict[Future[SubmissionResult], int] = {}
    try:
        futures = {pool.submit(executor.run, job): index for index, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            # A short timeout keeps the main thread responsive to Ctrl-C.
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                index = futures[future]
                error = future.exception()
                results[index] = failed_job(jobs[index], error) if isinstance(error, Exception) else future.result()
                if on_done:
                    on_done(jobs[index], results[index])
    except BaseException:
        executor.cancel_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]
