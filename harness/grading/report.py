"""Reports of `harness run` / `harness grade`: the terminal table, JSON (stable schema) and JUnit XML."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.config import facts
from harness.grading.model import SubmissionResult
from in_image.junit import JUnitCase, Outcome, write_junit

SCHEMA_ID = "dl-lab.grading-report/1"
SCHEMA_FILE = Path(__file__).with_name("report.schema.json")
_OUTCOMES: dict[str, Outcome] = {
    "passed": "passed", "partial": "failed", "failed": "failed", "not_attempted": "failed", "tampered": "failed",
    "error": "error", "timeout": "error", "crashed": "error",
}
_STYLE = {"passed": "green", "partial": "yellow", "not_attempted": "dim", "tampered": "bold red"}


def report_dict(results: list[SubmissionResult], *, kind: str, variant: str, image: str | None) -> dict[str, Any]:
    return {
        "schema": SCHEMA_ID,
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "harness_version": __version__,
        "course_version": facts().course_version,
        "variant": variant,
        "image": image,
        "summary": {
            "submissions": len(results),
            "passed": sum(r.passed for r in results),
            "score": round(sum(r.score for r in results), 4),
            "max_score": round(sum(r.max_score for r in results), 4),
            "time_s": round(sum(r.time_s for r in results), 3),
        },
        "submissions": [r.as_dict() for r in results],
    }


def write_json(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return path


def junit_cases(results: list[SubmissionResult], *, kind: str) -> list[JUnitCase]:
    cases: list[JUnitCase] = []
    for result in results:
        classname = f"{kind}.lab{result.lab}.{result.name}".replace(" ", "_")
        for exercise in result.exercises:
            outcome = _OUTCOMES.get(exercise["status"], "error")
            message = f"{exercise['status']}: {exercise.get('message', '')}".strip()
            cases.append(JUnitCase(name=exercise["id"], classname=classname, time_s=float(exercise.get("time_s", 0.0)),
                                   outcome=outcome, message=message if outcome != "passed" else ""))
        unexpected = [e for e in result.cell_errors if not e.get("expected")]
        if kind == "run":
            detail = "\n".join(f"celda {e['index']}: {e['ename']}: {e['evalue']}" for e in unexpected)
            cases.append(JUnitCase(name="notebook-cells", classname=classname, time_s=result.time_s,
                                   outcome="failed" if unexpected else "passed",
                                   message=f"{len(unexpected)} celdas con error" if unexpected else "", details=detail))
    return cases


def write_grading_reports(results: list[SubmissionResult], *, directory: Path, stem: str, kind: str, variant: str,
                  image: str | None) -> tuple[Path, Path]:
    report = report_dict(results, kind=kind, variant=variant, image=image)
    json_path = write_json(directory / f"{stem}.json", report)
    junit_path = write_junit(directory / f"{stem}.junit.xml", f"dl-lab {kind} {stem}", junit_cases(results, kind=kind))
    return json_path, junit_path


def _status_text(status: str) -> str:
    style = _STYLE.get(status, "red")
    return f"[{style}]{status}[/]"


def print_summary(console: Console, results: list[SubmissionResult], *, title: str) -> None:
    table = Table(title=title, title_justify="left")
    for column, justify in (("notebook", "left"), ("lab", "left"), ("score", "right"), ("exercises", "right"),
                            ("time", "right"), ("device", "left"), ("notes", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in results:
        passed = sum(e["status"] == "passed" for e in r.exercises)
        notes = r.message
        if r.tampering:
            notes = "manipulación: " + "; ".join(r.tampering)
        unexpected = [e for e in r.cell_errors if not e.get("expected") and not e.get("exercise")]
        if unexpected and not notes:
            notes = f"{len(unexpected)} celdas con error"
        style = "green" if r.passed else "red" if r.status == "error" or r.tampering else "yellow"
        table.add_row(r.name, r.lab, f"[{style}]{r.score:g}/{r.max_score:g}[/]", f"{passed}/{len(r.exercises)}",
                      f"{r.time_s:.1f} s", r.device or "-", notes[:80])
    console.print(table)


def print_details(console: Console, result: SubmissionResult) -> None:
    table = Table(title=f"{result.name} (lab {result.lab})", title_justify="left")
    for column, justify in (("exercise", "left"), ("status", "left"), ("score", "right"), ("checks", "right"),
                            ("message", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for e in result.exercises:
        table.add_row(e["id"], _status_text(e["status"]), f"{float(e['score']):g}/{float(e['max_score']):g}",
                      f"{e.get('checks_passed', 0)}/{e.get('checks_total', 0)}", str(e.get("message", ""))[:90])
    for error in result.cell_errors:
        if not error.get("expected") and not error.get("exercise"):
            table.add_row(f"celda {error['index']}", _status_text("error"), "", "",
                          f"{error['ename']}: {error['evalue']}"[:90])
    console.print(table)
