"""What grading produces on the host: the limits a job runs under and one SubmissionResult per notebook."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from in_image.judge.static_scan import from_report as static_evidence_from

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
            "executed_notebook": self.executed_notebook, "cell_errors": self.cell_errors,
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
    """A SubmissionResult from the judge's result.json: exactly one row per declared exercise, in order."""
    given = {str(e.get("id")): e for e in raw.get("exercises", []) if isinstance(e, dict)}
    exercises = [_clamped({**d, **given[d["id"]], "max_score": d["max_score"]}) if d["id"] in given else
                 {**d, "status": "error", "score": 0.0, "checks_passed": 0, "time_s": 0.0,
                  "message": "el calificador no devolvió este ejercicio"} for d in declared]
    return SubmissionResult(
        lab=lab, notebook=str(notebook), name=name, status="ok",
        score=sum(e["score"] for e in exercises), max_score=sum(float(e["max_score"]) for e in exercises),
        exercises=exercises, time_s=time_s, startup_s=startup_s, torch_version=raw.get("torch"),
        torchvision_version=raw.get("torchvision"), device=raw.get("device"),
        message=str(raw.get("message", "")), attempts=int(raw.get("attempts", 0)),
        evidence=[str(item) for item in raw.get("evidence", [])], cell_errors=list(raw.get("cell_errors", [])),
        skipped_cells=list(raw.get("skipped_cells", [])), output_truncated=bool(raw.get("output_truncated", False)),
        timeline=[(str(label), float(t)) for label, t in raw.get("timeline", [])],
        static_evidence=static_evidence_from(raw.get("static_evidence")),
    )


def failed_submission(*, lab: str, notebook: Path, name: str, exercises: list[dict[str, Any]], status: str,
                      message: str, time_s: float) -> SubmissionResult:
    """Every exercise gets `status` and the message (the judge produced no result)."""
    rows = [{**e, "status": status, "score": 0.0, "checks_passed": 0, "time_s": 0.0, "message": message}
            for e in exercises]
    return SubmissionResult(
        lab=lab, notebook=str(notebook), name=name, status="error", score=0.0,
        max_score=sum(float(e["max_score"]) for e in exercises), exercises=rows, time_s=time_s, message=message,
    )
