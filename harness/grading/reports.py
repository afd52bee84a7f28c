"""Reports of `harness run` / `harness grade`: the terminal table, JSON (schemas/grading-report.schema.json) and JUnit XML.

Every name and message comes from a submission (its file name, the student's exceptions), so none is
trusted as markup: rich tables get Text objects, JUnit gets only the characters XML 1.0 allows.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness import __version__
from harness.config import facts
from harness.grading.results import SubmissionResult
from in_image.junit import JUnitCase, Outcome, write_junit

SCHEMA_ID = "dl-lab.grading-report/1"
_OUTCOMES: dict[str, Outcome] = {
    "passed": "passed", "partial": "failed", "failed": "failed", "not_attempted": "failed",
    "error": "error", "timeout": "error", "crashed": "error",
}
_STYLE = {"passed": "green", "partial": "yellow", "not_attempted": "dim"}


def printable(text: object, *, limit: int = 500) -> str:
    """text on one line, control characters shown as escapes, cut to limit: safe in a terminal table."""
    value = " ".join(str(text)[:limit].split("\n")).replace("\t", " ")
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in value)


def report_dict(results: list[SubmissionResult], *, kind: str, variant: str, image: str | None,
                seed: int | None = None, similarity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report; seed: the run's seed of the hidden cases (`--seed` replays the run); similarity: the class
    similarity section, when given."""
    report = {
        "schema": SCHEMA_ID,
        "kind": kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "harness_version": __version__,
        "course_version": facts().course_version,
        "variant": variant,
        "image": image,
        "seed": seed,
        "summary": {
            "submissions": len(results),
            "passed": sum(r.passed for r in results),
            "score": round(sum(r.score for r in results), 4),
            "max_score": round(sum(r.max_score for r in results), 4),
            "time_s": round(sum(r.time_s for r in results), 3),
        },
        "submissions": [r.as_dict() for r in results],
    }
    if similarity is not None:
        report["similarity"] = similarity
    return report


def write_json(path: Path, report: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    return path


def junit_cases(results: list[SubmissionResult], *, kind: str) -> list[JUnitCase]:
    cases: list[JUnitCase] = []
    for result in results:
        classname = printable(f"{kind}.lab{result.lab}.{result.name}".replace(" ", "_"), limit=300)
        for exercise in result.exercises:
            outcome = _OUTCOMES.get(exercise["status"], "error")
            message = printable(f"{exercise['status']}: {exercise.get('message', '')}".strip())
            cases.append(JUnitCase(name=exercise["id"], classname=classname, time_s=float(exercise.get("time_s", 0.0)),
                                   outcome=outcome, message=message if outcome != "passed" else ""))
        unexpected = [e for e in result.cell_errors if not e.get("expected")]
        if kind == "run":
            detail = "\n".join(printable(f"celda {e['index']}: {e['ename']}: {e['evalue']}") for e in unexpected)
            cases.append(JUnitCase(name="notebook-cells", classname=classname, time_s=result.time_s,
                                   outcome="failed" if unexpected else "passed",
                                   message=f"{len(unexpected)} celdas con error" if unexpected else "", details=detail))
    return cases


def write_grading_reports(results: list[SubmissionResult], *, directory: Path, stem: str, kind: str, variant: str,
                          image: str | None, seed: int | None = None,
                          similarity: dict[str, Any] | None = None) -> tuple[Path, Path]:
    report = report_dict(results, kind=kind, variant=variant, image=image, seed=seed, similarity=similarity)
    json_path = write_json(directory / f"{stem}.json", report)
    junit_path = write_junit(directory / f"{stem}.junit.xml", f"dl-lab {kind} {stem}", junit_cases(results, kind=kind))
    return json_path, junit_path


def _notes(result: SubmissionResult) -> str:
    if result.message:
        return result.message
    unexpected = [e for e in result.cell_errors if not e.get("expected") and not e.get("exercise")]
    notes = [f"{len(unexpected)} celdas con error"] if unexpected else []
    if result.evidence:
        notes.append("indicios de manipulación: " + "; ".join(result.evidence))
    if result.static_evidence:
        notes.append("en el código: " + "; ".join(e["message"].split(":")[0] for e in result.static_evidence))
    return "; ".join(notes)


def print_summary(console: Console, results: list[SubmissionResult], *, title: str) -> None:
    table = Table(title=Text(title), title_justify="left")
    for column, justify in (("notebook", "left"), ("lab", "left"), ("score", "right"), ("exercises", "right"),
                            ("time", "right"), ("device", "left"), ("notes", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for r in results:
        passed = sum(e["status"] == "passed" for e in r.exercises)
        style = "green" if r.passed else "red" if r.status == "error" else "yellow"
        table.add_row(Text(printable(r.name, limit=120)), r.lab, Text(f"{r.score:g}/{r.max_score:g}", style=style),
                      f"{passed}/{len(r.exercises)}", f"{r.time_s:.1f} s", Text(printable(r.device or "-", limit=60)),
                      Text(printable(_notes(r), limit=80)))
    console.print(table)


def print_details(console: Console, result: SubmissionResult) -> None:
    table = Table(title=Text(f"{printable(result.name, limit=120)} (lab {result.lab})"), title_justify="left")
    for column, justify in (("exercise", "left"), ("status", "left"), ("score", "right"), ("checks", "right"),
                            ("message", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for e in result.exercises:
        table.add_row(Text(printable(e["id"], limit=60)), Text(e["status"], style=_STYLE.get(e["status"], "red")),
                      f"{float(e['score']):g}/{float(e['max_score']):g}",
                      f"{e.get('checks_passed', 0)}/{e.get('checks_total', 0)}", Text(printable(e.get("message", ""), limit=90)))
    for error in result.cell_errors:
        if not error.get("expected") and not error.get("exercise"):
            table.add_row(f"celda {error['index']}", Text("error", style="red"), "", "",
                          Text(printable(f"{error['ename']}: {error['evalue']}", limit=90)))
    console.print(table)


def print_similarity(console: Console, section: dict[str, Any], *, limit: int = 20) -> None:
    """The class similarity report (harness.grading.similarity): one row per group of notebooks."""
    groups = section.get("groups", [])
    if not groups:
        console.print(Text("similarity: no notebooks share cells beyond the lab's own"))
        return
    table = Table(title=Text(f"similarity: {len(groups)} group(s) of notebooks sharing cells"), title_justify="left")
    for column, justify in (("group", "right"), ("notebooks", "left"), ("cells", "right"), ("match", "left"),
                            ("first shared cell", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for number, group in enumerate(groups[:limit], start=1):
        cells = group["cells"]
        matches = sorted({c["match"] + ("" if c.get("scope", "cell") == "cell" else f" ({c['scope']})") for c in cells})
        table.add_row(str(number), Text(printable(", ".join(group["notebooks"]), limit=100)), str(len(cells)),
                      "/".join(matches), Text(printable(cells[0]["preview"] if cells else "", limit=60)))
    console.print(table)
    if len(groups) > limit:
        console.print(Text(f"… and {len(groups) - limit} more group(s) in the JSON report"))
