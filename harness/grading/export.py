"""Grades out of a grading report (reports/grade-LAB.json): files the LMSs import, the records, statistics, feedback.

Written into one folder (reports/export-LAB/ by default):

  moodle.csv         Moodle's "Import grades from CSV": the one identifier column chosen with --moodle-id
                     (Username, ID number or Email address), Full name, the grade, Feedback
  canvas.csv         Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the
                     assignment column "Title (id)", with a "Points Possible" row
  not-imported.csv   the students left out of an LMS file, and why (harness.grading.lms)
  grades.csv         one row per student: points, late penalty, grade, "No presentado"
  exercises.csv      one row per student and exercise: status, score, message
  statistics.csv     per exercise: pass rate, mean score, the most frequent message
  evidence.csv       for the instructor only: each student's signs of interference (the kernel's, and what the
                     judge read in the notebook's source before running it)
  similarity.csv     for the instructor only: groups of notebooks sharing cells the lab did not give them
  export.xlsx        with --excel xlsx: the instructor's CSVs as worksheets
  feedback/<user>.md, .html   each student's result, in Spanish, to hand back
  <name>-filled.csv  with --fill: the LMS's own worksheet or gradebook export, filled in

Grades follow harness.grading.grades (0–10, one decimal, halves up, by default). The LMS files
are plain UTF-8 with ',' and '.'; the instructor's files follow --excel (Spanish Excel by default:
';', decimal comma, byte-order mark). Only the report's stable fields are read: name, score,
max_score, status, notebook and exercises[id, title, status, score, max_score, message].
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.grading import lms, worksheets
from harness.grading.feedback import FeedbackContext, feedback_fragment, feedback_html, feedback_markdown, summary_es
from harness.grading.file_names import file_stem
from harness.grading.grades import NO_PRESENTADO, GradeScale, decimal, number_es, round_half_up
from harness.grading.late import Delivery, LatePolicy, deliveries
from harness.grading.records import ExerciseResult, GradeReport, Mark, Person, StudentResult, marks
from harness.grading.similarity import SIMILARITY_COLUMNS, similarity_rows
from harness.grading.spreadsheets import DIALECTS, Cell, Dialect, Sheet, csv_text, write_text, write_xlsx
from in_image.judge.static_scan import from_report as static_evidence_from

log = logging.getLogger(__name__)

EXERCISE_COLUMNS = ("student", "exercise", "title", "status", "score", "max_score", "message")
STATISTICS_COLUMNS = ("exercise", "title", "max_score", "submissions", "passed", "pass_rate", "mean_score",
                      "most_frequent_message", "most_frequent_count")
GRADES_COLUMNS = ("user", "name", "status", "handed_in", "late_by_hours", "points", "max_points", "late_penalty",
                  "grade", "grade_max", "record")
EVIDENCE_COLUMNS = ("student", "source", "kind", "cells", "message")
ROSTER_COLUMNS = ("user", "identifier", "email", "name", "section", "canvas_id", "sis_user_id", "login")
EXCEL_CHOICES = ("es", "plain", "xlsx")
STATUS_RECORD = {"no_show": NO_PRESENTADO, "invalid": "sin calificar: no es un cuaderno"}


# ---- reading --------------------------------------------------------------------------------------
def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HarnessError(f"{where} is not a number ({value!r}): is this a report of `harness grade`?")
    return float(value)


def _exercise(raw: Any, where: str) -> ExerciseResult:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise HarnessError(f"{where} has no exercise id: is this a report of `harness grade`?")
    return ExerciseResult(id=raw["id"], title=str(raw.get("title", raw["id"])), status=str(raw.get("status", "")),
                          score=_number(raw.get("score"), f"{where} score"),
                          max_score=_number(raw.get("max_score"), f"{where} max_score"),
                          message=str(raw.get("message", "")))


def _student(raw: Any, where: str) -> StudentResult:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not isinstance(raw.get("exercises"), list):
        raise HarnessError(f"{where} lacks a name or exercises: is this a report of `harness grade`?")
    exercises = tuple(_exercise(e, f"{where} ({raw['name']}) exercise {i}") for i, e in enumerate(raw["exercises"]))
    evidence = raw.get("evidence")
    evidence = evidence if isinstance(evidence, list) else []
    return StudentResult(name=raw["name"], status=str(raw.get("status", "")),
                         score=_number(raw.get("score"), f"{where} score"),
                         max_score=_number(raw.get("max_score"), f"{where} max_score"), exercises=exercises,
                         notebook=str(raw.get("notebook", "")), evidence=tuple(str(e) for e in evidence),
                         static_evidence=tuple(static_evidence_from(raw.get("static_evidence"))))


def read_report(path: Path) -> GradeReport:
    """The report of `harness grade` (or `harness collect`), or a one-line error."""
    if not path.is_file():
        raise HarnessError(f"{path}: no such report: grade first (`harness grade` or `harness collect`), or give --report")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise HarnessError(f"{path}: not a JSON report ({first_line(error)})") from None
    if not isinstance(data, dict) or not isinstance(data.get("submissions"), list):
        raise HarnessError(f"{path}: no list of submissions: is this a report of `harness grade`?")
    students = tuple(_student(s, f"{path}: submission {i}") for i, s in enumerate(data["submissions"]))
    labs = {str(s.get("lab")) for s in data["submissions"] if isinstance(s, dict)}
    if len(labs) > 1:
        raise HarnessError(f"{path}: submissions of several labs ({', '.join(sorted(labs))}): export one lab at a time")
    names = Counter(s.name for s in students)
    if twice := [n for n, count in names.items() if count > 1]:
        raise HarnessError(f"{path}: the same student twice ({', '.join(sorted(twice))}): grade each once")
    similarity = data.get("similarity") if isinstance(data.get("similarity"), dict) else None
    return GradeReport(lab=labs.pop() if labs else "", created=str(data.get("created", "")), students=students, path=path,
                       similarity=similarity)


# ---- roster ---------------------------------------------------------------------------------------
def read_roster(path: Path) -> dict[str, Person]:
    """A CSV with a header: user (the hub user name), then any of the other ROSTER_COLUMNS; by user in lower case."""
    if not path.is_file():
        raise HarnessError(f"{path}: no such roster: give a CSV with the columns user,identifier[,email,name]")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise HarnessError(f"{path}: not a UTF-8 text file ({error}): save the roster as CSV UTF-8") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if "user" not in header:
        raise HarnessError(f"{path}: the roster's first line must name its columns, among them 'user' "
                           f"(the hub user name) and 'identifier'; it has {header}")
    unknown = sorted(set(header) - set(ROSTER_COLUMNS) - {""})
    if unknown:
        raise HarnessError(f"{path}: unknown roster column(s) {', '.join(unknown)}: the columns are {', '.join(ROSTER_COLUMNS)}")
    reader.fieldnames = header
    people: dict[str, Person] = {}
    for line, row in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in row.items() if k in ROSTER_COLUMNS and isinstance(v, str)}
        if not values.get("user"):
            raise HarnessError(f"{path}, line {line}: no user name: every line needs the hub user name in 'user'")
        if values["user"].lower() in people:
            raise HarnessError(f"{path}, line {line}: {values['user']!r} is listed twice: list each student once")
        people[values["user"].lower()] = Person(**values)
    return people


# ---- settings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportSettings:
    lab_title: str
    scale: GradeScale = field(default_factory=GradeScale)
    canvas_assignment_id: str = ""
    moodle_id: str = "username"
    late_policy: LatePolicy | None = None
    excel: str = "es"
    fill: tuple[Path, ...] = ()

    @property
    def dialect(self) -> Dialect:
        return DIALECTS["plain" if self.excel == "xlsx" else self.excel]

    @property
    def canvas_column(self) -> str:
        return f"{self.lab_title} ({self.canvas_assignment_id})" if self.canvas_assignment_id else self.lab_title

    def feedback_context(self) -> FeedbackContext:
        return FeedbackContext(lab_title=self.lab_title, rescaled=self.scale.out_of is not None,
                               late_policy=self.late_policy)


# ---- instructor's files ---------------------------------------------------------------------------
def exercises_csv(report: GradeReport, *, dialect: Dialect) -> str:
    return csv_text(EXERCISE_COLUMNS, exercise_rows(report), dialect=dialect)


def exercise_rows(report: GradeReport) -> list[list[Cell]]:
    return [[s.name, e.id, e.title, e.status, decimal(e.score), decimal(e.max_score), e.message]
            for s in report.students for e in s.exercises]


def grade_rows(all_marks: Sequence[Mark]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for mark in all_marks:
        delivery = mark.delivery
        handed_in = "" if delivery is None or delivery.mtime is None else delivery.mtime.isoformat()
        late_by = None if delivery is None or delivery.late_by is None else round_half_up(
            Decimal(delivery.late_by.total_seconds()) / 3600, 2)
        graded = mark.status == "graded"
        record = number_es(mark.grade) if mark.grade is not None else STATUS_RECORD[mark.status]
        rows.append([mark.user, mark.person.display_name, mark.status, handed_in, late_by,
                     mark.points if graded else None, mark.max_points, mark.penalty if graded else None,
                     mark.grade, mark.maximum, record])
    return rows


# ---- statistics -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExerciseStatistics:
    id: str
    title: str
    max_score: float
    submissions: int
    passed: int
    mean_score: float
    most_frequent_message: str
    most_frequent_count: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.submissions if self.submissions else 0.0


def statistics(report: GradeReport) -> list[ExerciseStatistics]:
    """Per exercise, in the lab's order: how many passed, the mean score, the commonest message of the others."""
    by_id: dict[str, list[ExerciseResult]] = {}
    for student in report.students:
        for exercise in student.exercises:
            by_id.setdefault(exercise.id, []).append(exercise)
    result = []
    for exercise_id, results in by_id.items():
        messages = Counter(e.message.strip() for e in results if e.status != "passed" and e.message.strip())
        message, count = messages.most_common(1)[0] if messages else ("", 0)
        result.append(ExerciseStatistics(
            id=exercise_id, title=results[0].title, max_score=max(e.max_score for e in results),
            submissions=len(results), passed=sum(e.status == "passed" for e in results),
            mean_score=sum(e.score for e in results) / len(results), most_frequent_message=message,
            most_frequent_count=count,
        ))
    return result


def evidence_rows(report: GradeReport) -> list[list[Cell]]:
    """For the instructor: each student's signs of interference, from the kernel ("kernel") and from the
    judge's reading of the source ("source": kind and cells)."""
    rows: list[list[Cell]] = []
    for student in report.students:
        rows += [[student.name, "kernel", "", "", item] for item in student.evidence]
        rows += [[student.name, "source", str(e["kind"]), " ".join(map(str, e["cells"])), str(e["message"])]
                 for e in student.static_evidence]
    return rows


def statistics_rows(rows: list[ExerciseStatistics]) -> list[list[Cell]]:
    return [[r.id, r.title, decimal(r.max_score), r.submissions, r.passed, round_half_up(decimal(r.pass_rate), 3),
             round_half_up(decimal(r.mean_score), 3), r.most_frequent_message, r.most_frequent_count] for r in rows]


def statistics_csv(rows: list[ExerciseStatistics], *, dialect: Dialect) -> str:
    return csv_text(STATISTICS_COLUMNS, statistics_rows(rows), dialect=dialect)


# ---- the whole export -----------------------------------------------------------------------------
@dataclass
class Export:
    files: list[Path] = field(default_factory=list)
    statistics: list[ExerciseStatistics] = field(default_factory=list)
    feedback: dict[str, Path] = field(default_factory=dict)  # the Markdown file; the HTML one beside it
    marks: list[Mark] = field(default_factory=list)
    lms_files: list[lms.LmsFile] = field(default_factory=list)
    filled: list[worksheets.Filled] = field(default_factory=list)

    @property
    def left_out(self) -> list[lms.LeftOut]:
        return [item for file in self.lms_files for item in file.left_out]

    def with_status(self, status: str) -> list[str]:
        return [m.user for m in self.marks if m.status == status]


def check_deliveries(report: GradeReport, handed_in: dict[str, Delivery], settings: ExportSettings) -> None:
    if settings.late_policy is not None and not any(d.late_by is not None or d.late is not None for d in handed_in.values()):
        raise HarnessError(f"--late-penalty needs the deadline and the times the notebooks were handed in: grade a "
                           f"collection made with `harness collect --deadline` (no manifest with a deadline for "
                           f"{report.path})")


def _feedback_line(mark: Mark, context: FeedbackContext) -> str:
    """Moodle's feedback column: the summary, No presentado, or nothing (a file to grade by hand)."""
    if mark.status == "no_show":
        return NO_PRESENTADO
    return summary_es(mark, context) if mark.status == "graded" else ""


def lms_files(all_marks: list[Mark], settings: ExportSettings) -> list[lms.LmsFile]:
    context = settings.feedback_context()
    rows = [lms.LmsRow(person=m.person, grades=(m.grade,), problem=lms.mark_problem(m), feedback=_feedback_line(m, context))
            for m in all_marks]
    moodle = lms.moodle_csv(rows, titles=[settings.lab_title], moodle_id=settings.moodle_id, feedback=True)
    maximum = max((m.maximum for m in all_marks), default=Decimal(0))
    if problems := lms.check_moodle_file(moodle.text, maximum=maximum):
        raise HarnessError(f"moodle.csv would not import whole ({problems[0]}): please report this")
    canvas = lms.canvas_csv(rows, columns=[settings.canvas_column], points_possible=[maximum])
    return [moodle, canvas]


def fill(paths: Sequence[Path], all_marks: list[Mark], settings: ExportSettings, *, out: Path) -> list[worksheets.Filled]:
    context, done = settings.feedback_context(), []
    maximum = max((m.maximum for m in all_marks), default=Decimal(0))
    for path in paths:
        text, bom = worksheets.read_lms_file(path)
        if worksheets.detect(text) == "moodle-worksheet":
            filled = worksheets.fill_moodle_worksheet(
                text, all_marks, name=path.name, maximum=maximum,
                feedback=lambda mark: feedback_fragment(mark, context, heading=False))
        else:
            filled = worksheets.fill_canvas_gradebook(text, all_marks, name=path.name, maximum=maximum,
                                                      title=settings.lab_title,
                                                      assignment_id=settings.canvas_assignment_id)
        filled.bom, filled.name = bom, f"{path.stem}-filled.csv"
        write_text(out / filled.name, filled.text, bom=bom)
        done.append(filled)
    return done


def _instructor_files(report: GradeReport, result: Export, settings: ExportSettings, *, out: Path) -> list[Path]:
    left_out = result.left_out + [lms.LeftOut(f.name, m.user, m.person.display_name, m.user, m.grade,
                                              "not in the file downloaded from the LMS: is the student enrolled there?")
                                  for f in result.filled for m in f.missing]
    tables = [
        Sheet("grades", GRADES_COLUMNS, grade_rows(result.marks)),
        Sheet("exercises", EXERCISE_COLUMNS, exercise_rows(report)),
        Sheet("statistics", STATISTICS_COLUMNS, statistics_rows(result.statistics)),
        Sheet("not-imported", lms.NOT_IMPORTED_COLUMNS, [item.row() for item in left_out]),
        Sheet("evidence", EVIDENCE_COLUMNS, evidence_rows(report)),
        Sheet("similarity", SIMILARITY_COLUMNS, [list(row) for row in similarity_rows(report.similarity)]),
    ]
    files = [write_text(out / f"{t.title}.csv", csv_text(t.header, t.rows, dialect=settings.dialect), bom=True)
             for t in tables]
    if settings.excel == "xlsx":
        files.append(write_xlsx(out / "export.xlsx", tables))
    return files


def export(report: GradeReport, *, out: Path, settings: ExportSettings, people: dict[str, Person] | None = None) -> Export:
    """Write the LMS files, the instructor's files, the feedback files and the filled worksheets into `out`."""
    roster = people or {}
    handed_in = deliveries(report.collections)
    check_deliveries(report, handed_in, settings)
    result = Export(statistics=statistics(report),
                    marks=marks(report, roster, handed_in, scale=settings.scale, late_policy=settings.late_policy))
    result.lms_files = lms_files(result.marks, settings)
    result.files += [write_text(out / file.name, file.text) for file in result.lms_files]
    result.filled = fill(settings.fill, result.marks, settings, out=out)
    result.files += _instructor_files(report, result, settings, out=out)
    result.files += [out / f.name for f in result.filled]
    context = settings.feedback_context()
    taken: set[str] = set()
    for mark in result.marks:
        if mark.status != "graded":
            continue
        stem = file_stem(mark.user, taken)
        result.feedback[mark.user] = write_text(out / "feedback" / f"{stem}.md", feedback_markdown(mark, context))
        write_text(out / "feedback" / f"{stem}.html", feedback_html(mark, context))
    log.info("exported %d student(s) into %s", len(result.marks), out)
    return result
