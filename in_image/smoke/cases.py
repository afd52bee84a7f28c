"""Smoke test cases and the exit code they add up to. No torch here: the host merges its own case in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from in_image.junit import JUnitCase, Outcome
from in_image.smoke import codes

SCHEMA = "dl-lab.smoke/1"
SUITE = "dl-lab smoke"


@dataclass
class CaseResult:
    name: str
    outcome: Outcome
    message: str
    time_s: float
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "outcome": self.outcome,
            "message": self.message,
            "time_s": round(self.time_s, 4),
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        return cls(data["name"], data["outcome"], data["message"], float(data["time_s"]), dict(data.get("details", {})))

    def junit(self) -> JUnitCase:
        return JUnitCase(
            name=self.name,
            classname="smoke." + self.name.split("[", 1)[0],
            time_s=self.time_s,
            outcome=self.outcome,
            message=self.message,
            details=str(self.details.get("traceback", "")) or self.message,
        )


def exit_code(cases: list[CaseResult], *, gpu_found: bool) -> int:
    """Failures first: a CPU-side failure on a GPU-less machine is still a failure, not 'no GPU'."""
    if any(case.outcome in ("failed", "error") for case in cases):
        return codes.FAILED
    return codes.OK if gpu_found else codes.NO_GPU


def with_verdict(report: dict[str, Any], cases: list[CaseResult]) -> dict[str, Any]:
    """The report with these cases and the exit code and verdict they imply."""
    code = exit_code(cases, gpu_found=bool(report.get("gpu_found")))
    return {**report, "cases": [case.as_dict() for case in cases], "exit_code": code, "verdict": codes.MEANING[code]}
