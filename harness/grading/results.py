"""What grading produces on the host: the limits a job runs under and one SubmissionResult per notebook.

A judge's result.json is read as untrusted input (it carries what the student's kernel wrote): a
result that cannot be read, or whose submission entry breaks schemas/grading-report.schema.json,
makes that one notebook `error` with a message (`judged`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.grading.validation import check_submission
from in_image.judge.static_scan import from_report as static_evidence_from

log = logging.getLogger(__name__)

# Exercise statuses (stable keys of the JSON report).
EXERCISE_STATUSES = ("passed", "partial", "failed", "error", "not_attempted", "timeout", "crashed")
# A submission's status: "ok" when the judge produced a result, "error" when it could not.
SUBMISSION_STATUSES = ("ok", "error")


@dataclass(frozen=True)
class Limits:
    """Per-container limits and the judge's time limits: the one place of their defaults."""

    cpus: float = 1.0
    memory: str = "1536m"
    pids: int = 256
    tmpfs_size: str = "256m"
    file_size_bytes: int = 256 * 1024 * 1024  # the largest file any process may write (ulimit fsize)
    open_files: int = 1024  # ulimit nofile
    cell_timeout_s: float = 60.0
    exercise_timeout_s: float = 30.0
    budget_s: float = 300.0
    output_limit_bytes: int = 1_000_000

    @property
    def host_timeout_s(self) -> float:
        """The host kills the container after this, whatever the judge does."""
        return self.budget_s + 60.0


@dataclass
class SubmissionResult:
    lab: str
    notebook: str
    name: str
    status: str
    score: float
    max_score: float
    exercises: list[dict[str, Any]]
    time_s: float
    startup_s: float | None = None
    torch_version: str | None = None
    torchvision_version: str | None = None  # or "absent: <why>"
    device: str | None = None
    message: str = ""
    attempts: int = 0
    # Signs that the notebook tried to interfere with checking: reported for the instructor, never graded.
    evidence: list[str] = field(default_factory=list)
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    skipped_cells: list[dict[str, Any]] = field(default_factory=list)
    output_truncated: bool = False
    executed_notebook: str | None = None
    # What the judge read in the notebook's source before running it (in_image.judge.static_scan): for the instructor.
    static_evidence: list[dict[str, Any]] = field(default_factory=list)
    # The judge's phases: (label, seconds since it started), for diagnosis and the benchmark.
    timeline: list[tuple[str, float]] = field(default_factory=list)
    seed: int | None = None  # the grading run's seed of the hidden cases
    display_updates_dropped: int = 0  # display updates the kernel sent while the judge asked it (never applied)
    executed_notebook_reason: str | None = None  # why executed_notebook is null, when it is

    @property
    def passed(self) -> bool:
        """Every exercise fully passed and no unexpected cell error."""
        unexpected = [e for e in self.cell_errors if not e.get("expected")]
        return self.status == "ok" and not unexpected and all(e["status"] == "passed" for e in self.exercises)

    def as_dict(self) -> dict[str, Any]:
        return {
            "lab": self.lab, "notebook": self.notebook, "name": self.name, "status": self.status,
            "score": round(self.score, 4), "max_score": self.max_score, "time_s": round(self.time_s, 3),
            "startup_s": None if self.startup_s is None else round(self.startup_s, 3),
            "torch_version": self.torch_version, "torchvision_version": self.torchvision_version, "device": self.device,
            "message": self.message,
            "attempts": self.attempts, "evidence": self.evidence, "static_evidence": self.static_evidence,
            "output_truncated": self.output_truncated,
            "executed_notebook": self.executed_notebook, "executed_notebook_reason": self.executed_notebook_reason,
            "seed": self.seed, "display_updates_dropped": self.display_updates_dropped, "cell_errors": self.cell_errors,
            "skipped_cells": self.skipped_cells, "timeline": [[label, t] for label, t in self.timeline],
            "exercises": self.exercises,
        }


def _clamped(exercise: dict[str, Any]) -> dict[str, Any]:
    """An exercise row whose score lies in [0, max_score], whatever the judge wrote."""
    maximum = max(0.0, float(exercise.get("max_score", 0.0)))
    score = min(max(float(exercise.get("score", 0.0)), 0.0), maximum)
    return {**exercise, "score": score, "max_score": maximum}


def from_judge(raw: dict[str, Any], *, lab: str, notebook: Path, name: str, time_s: float,
               startup_s: float | None, declared: list[dict[str, Any]]) -> SubmissionResult:
    """A SubmissionResult from the judge's result.json: exactly one row per declared exercise, in order.

    Raises ValueError, TypeError, KeyError or AttributeError on a result that is not what the judge writes.
    """
    given = {str(e.get("id")): e for e in raw.get("exercises", []) if isinstance(e, dict)}
    exercises = [_clamped({**d, **given[d["id"]], "max_score": d["max_score"]}) if d["id"] in given else
                 {**d, "status": "error", "score": 0.0, "checks_passed": 0, "time_s": 0.0,
                  "message": "el calificador no devolvió este ejercicio"} for d in declared]
    reported = raw.get("kernel_reported") or {}
    environment = reported.get("environment") or {}
    return SubmissionResult(
        lab=lab, notebook=str(notebook), name=name, status="ok",
        score=sum(e["score"] for e in exercises), max_score=sum(float(e["max_score"]) for e in exercises),
        exercises=exercises, time_s=time_s, startup_s=startup_s, torch_version=environment.get("torch"),
        torchvision_version=environment.get("torchvision"), device=environment.get("device"),
        message=str(raw.get("message", "")), attempts=int(raw.get("attempts", 0)),
        evidence=[str(item) for item in reported.get("evidence", [])] +
                 [f"respuesta del kernel rechazada por no seguir su esquema: {what}"[:200]
                  for what in raw.get("rejected_replies", [])][:10], cell_errors=list(raw.get("cell_errors", [])),
        skipped_cells=list(raw.get("skipped_cells", [])), output_truncated=bool(raw.get("output_truncated", False)),
        timeline=[(str(label), float(t)) for label, t in raw.get("timeline", [])], seed=raw.get("seed"),
        display_updates_dropped=int(raw.get("display_updates_dropped", 0)),
        static_evidence=static_evidence_from(raw.get("static_evidence")),
    )


EVIDENCE_LIMIT = 40  # schemas/grading-report.schema.json: a submission's evidence, at most


def with_host_facts(result: SubmissionResult, *, gpu: bool, image_torch: str | None) -> SubmissionResult:
    """The device and torch version as the host knows them (the container's GPUs, the image's label), not as the
    kernel says: a kernel that claims otherwise is kept as evidence."""
    claims = []
    if not gpu and result.device not in (None, "cpu"):
        claims.append(f"el kernel dijo que calculaba en {result.device}, en un contenedor sin GPU")
        result.device = "cpu"
    if image_torch and result.torch_version is not None and result.torch_version.split("+")[0] != image_torch:
        claims.append(f"el kernel dijo torch {result.torch_version}; la imagen trae torch {image_torch}")
        result.torch_version = image_torch
    result.evidence = [*(claim[:200] for claim in claims), *result.evidence][:EVIDENCE_LIMIT]
    return result


def judged(raw: dict[str, Any], *, lab: str, notebook: Path, name: str, time_s: float, startup_s: float | None,
           declared: list[dict[str, Any]]) -> SubmissionResult:
    """from_judge, checked against the report's schema; a malformed result makes this notebook `error`."""
    try:
        result = from_judge(raw, lab=lab, notebook=notebook, name=name, time_s=time_s, startup_s=startup_s,
                            declared=declared)
        check_submission(result.as_dict())
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        first = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        log.warning("malformed judge result for %s: %s", name, first)
        failed = failed_submission(lab=lab, notebook=notebook, name=name, exercises=declared, status="error",
                                   message=f"el resultado del calificador no es válido ({first})", time_s=time_s)
        failed.seed = raw.get("seed") if isinstance(raw.get("seed"), int) else None
        return failed
    return result


def failed_submission(*, lab: str, notebook: Path, name: str, exercises: list[dict[str, Any]], status: str,
                      message: str, time_s: float) -> SubmissionResult:
    """Every exercise gets `status` and the message (the judge produced no result)."""
    rows = [{**e, "status": status, "score": 0.0, "checks_passed": 0, "time_s": 0.0, "message": message}
            for e in exercises]
    return SubmissionResult(
        lab=lab, notebook=str(notebook), name=name, status="error", score=0.0,
        max_score=sum(float(e["max_score"]) for e in exercises), exercises=rows, time_s=time_s, message=message,
    )
