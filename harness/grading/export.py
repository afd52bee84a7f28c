"""Grades out of a grading report (reports/grade-LAB.json): files an LMS imports, statistics, feedback.

Written into one folder (reports/export-LAB/ by default):

  moodle.csv       Moodle's "Import grades from CSV": an identifier column the instructor maps to
                   username / email / ID number, the grade, a feedback column
  canvas.csv       Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the
                   assignment column "Title (id)", with a "Points Possible" row
  exercises.csv    one row per student and exercise: status, score, message
  statistics.csv   per exercise: pass rate, mean score, the most frequent message
  feedback/<user>.md, .html   each student's result, in Spanish, to hand back

Every CSV is RFC 4180 (quoted where needed, so commas, quotes and newlines survive), UTF-8, and
spreadsheet-safe: a text cell that a spreadsheet would read as a formula (starting with =, +, -,
@, a tab or a carriage return) is written with a leading apostrophe. Only the report's stable
fields are read: name, score, max_score, status and exercises[id, title, status, score,
max_score, message].
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import html
import io
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.grading.manifest import read_manifest, unique_stem

log = logging.getLogger(__name__)

# Characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
MOODLE_COLUMNS = ("Identifier", "Email address", "Full name")  # then the grade item, then "Feedback"
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")  # then "Title (id)"
EXERCISE_COLUMNS = ("student", "exercise", "title", "status", "score", "max_score", "message")
STATISTICS_COLUMNS = ("exercise", "title", "max_score", "submissions", "passed", "pass_rate", "mean_score",
                      "most_frequent_message", "most_frequent_count")
ROSTER_COLUMNS = ("user", "identifier", "email", "name", "section", "canvas_id", "sis_user_id", "login")

STATUS_ES = {
    "passed": "✅ superado", "partial": "🟡 parcial", "failed": "❌ no superado", "error": "⚠️ error",
    "not_attempted": "⏳ sin hacer", "timeout": "⏱️ tiempo agotado", "crashed": "💥 el cuaderno se interrumpió",
}


# ---- reading --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    status: str
    score: float
    max_score: float
    message: str


@dataclass(frozen=True)
class StudentResult:
    name: str
    status: str
    score: float
    max_score: float
    exercises: tuple[ExerciseResult, ...]
    notebook: str = ""

    @property
    def passed(self) -> int:
        return sum(e.status == "passed" for e in self.exercises)


@dataclass(frozen=True)
class GradeReport:
    lab: str
    created: str
    students: tuple[StudentResult, ...]
    path: Path


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
    return StudentResult(name=raw["name"], status=str(raw.get("status", "")),
                         score=_number(raw.get("score"), f"{where} score"),
                         max_score=_number(raw.get("max_score"), f"{where} max_score"), exercises=exercises,
                         notebook=str(raw.get("notebook", "")))


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
    return GradeReport(lab=labs.pop() if labs else "", created=str(data.get("created", "")), students=students, path=path)


# ---- roster ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Person:
    """How the LMS knows a hub user (without a roster: by the hub user name)."""

    user: str
    identifier: str = ""
    email: str = ""
    name: str = ""
    section: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    login: str = ""

    @property
    def lms_identifier(self) -> str:
        return self.identifier or self.user

    @property
    def display_name(self) -> str:
        return self.name or self.user


def _person(people: dict[str, Person], user: str) -> Person:
    """The roster's entry for a hub user (the hub keeps names in lower case: compared without case)."""
    found = people.get(user.lower())
    return Person(user=user) if found is None else dataclasses.replace(found, user=user)


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


# ---- CSV ------------------------------------------------------------------------------------------
def spreadsheet_safe(value: str) -> str:
    """The text, with an apostrophe in front when a spreadsheet would read it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def grade_text(value: float) -> str:
    """A grade as the LMSs read it: a dot for decimals, at most two of them, no trailing zeros."""
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str | float]]) -> str:
    """RFC 4180 CSV (CRLF, quotes where needed); text cells made spreadsheet-safe, numbers as numbers."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(h) for h in header])
    for row in rows:
        writer.writerow([grade_text(c) if isinstance(c, float) else spreadsheet_safe(c) for c in row])
    return buffer.getvalue()


@dataclass(frozen=True)
class ExportSettings:
    lab_title: str
    out_of: float | None = None  # rescale grades to this maximum; None: the report's points
    canvas_assignment_id: str = ""

    def grade(self, student: StudentResult) -> float:
        if self.out_of is None:
            return student.score
        return 0.0 if student.max_score <= 0 else student.score / student.max_score * self.out_of

    def points_possible(self, report: GradeReport) -> float:
        if self.out_of is not None:
            return self.out_of
        return max((s.max_score for s in report.students), default=0.0)


def grade_es(student: StudentResult, settings: ExportSettings) -> str:
    """The grade in Spanish: "7.5 de 10" (with the points when rescaled)."""
    points = "" if settings.out_of is None else f" ({grade_text(student.score)} de {grade_text(student.max_score)} puntos)"
    return f"{grade_text(settings.grade(student))} de {grade_text(settings.out_of or student.max_score)}{points}"


def passed_es(student: StudentResult) -> str:
    return f"{student.passed} de {len(student.exercises)}"


def summary_es(student: StudentResult, settings: ExportSettings) -> str:
    """One line in Spanish for the LMS's feedback column."""
    return f"Nota: {grade_es(student, settings)}. Ejercicios superados: {passed_es(student)}."


def moodle_csv(report: GradeReport, people: dict[str, Person], settings: ExportSettings) -> str:
    """Moodle: Grade administration > Import > CSV file; map "Identifier" to username, email or ID number."""
    rows: list[list[str | float]] = []
    for student in report.students:
        person = _person(people, student.name)
        rows.append([person.lms_identifier, person.email, person.display_name, settings.grade(student),
                     summary_es(student, settings)])
    return csv_text([*MOODLE_COLUMNS, settings.lab_title, "Feedback"], rows)


def canvas_csv(report: GradeReport, people: dict[str, Person], settings: ExportSettings) -> str:
    """Canvas: Grades > Import; the student is found by ID, SIS User ID, SIS Login ID, then name."""
    column = f"{settings.lab_title} ({settings.canvas_assignment_id})" if settings.canvas_assignment_id else settings.lab_title
    rows: list[list[str | float]] = [["Points Possible", "", "", "", "", settings.points_possible(report)]]
    for student in report.students:
        person = _person(people, student.name)
        rows.append([person.display_name, person.canvas_id, person.sis_user_id, person.login or person.user,
                     person.section, settings.grade(student)])
    return csv_text([*CANVAS_COLUMNS, column], rows)


def exercises_csv(report: GradeReport) -> str:
    rows: list[list[str | float]] = [[s.name, e.id, e.title, e.status, e.score, e.max_score, e.message]
                                     for s in report.students for e in s.exercises]
    return csv_text(EXERCISE_COLUMNS, rows)


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


def statistics_csv(rows: list[ExerciseStatistics]) -> str:
    return csv_text(STATISTICS_COLUMNS, [
        [r.id, r.title, r.max_score, str(r.submissions), str(r.passed), f"{r.pass_rate:.3f}", f"{r.mean_score:.3f}",
         r.most_frequent_message, str(r.most_frequent_count)] for r in rows])


# ---- feedback -------------------------------------------------------------------------------------
_MD_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def md_inline(text: str) -> str:
    """Text shown as itself in Markdown: every ASCII punctuation backslash-escaped, on one line."""
    return _MD_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def md_code_block(text: str) -> str:
    """A fenced block that no backtick run inside the text can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


@dataclass(frozen=True)
class Delivery:
    """When the notebook was last modified, and whether after the deadline, from the collection's manifest."""

    mtime: dt.datetime
    late: bool | None


def _delivery_es(delivery: Delivery) -> str:
    late = {True: " (fuera de plazo)", False: " (dentro de plazo)", None: ""}[delivery.late]
    return f"{delivery.mtime.strftime('%Y-%m-%d %H:%M:%S %z')}{late}"


def feedback_markdown(student: StudentResult, settings: ExportSettings, *, person: Person,
                      delivery: Delivery | None = None) -> str:
    lines = [f"# {md_inline(settings.lab_title)}: resultado de la corrección", "",
             f"- **Estudiante:** {md_inline(person.display_name)}",
             f"- **Nota:** {grade_es(student, settings)}",
             f"- **Ejercicios superados:** {passed_es(student)}"]
    if delivery is not None:
        lines.append(f"- **Entrega:** {_delivery_es(delivery)}")
    lines += ["", "| Ejercicio | Estado | Puntos |", "|---|---|---|"]
    for exercise in student.exercises:
        status = STATUS_ES.get(exercise.status, md_inline(exercise.status))
        lines.append(f"| {md_inline(exercise.title)} ({md_inline(exercise.id)}) | {status} "
                     f"| {grade_text(exercise.score)} / {grade_text(exercise.max_score)} |")
    details = [e for e in student.exercises if e.message.strip()]
    if details:
        lines += ["", "## Comentarios por ejercicio"]
        for exercise in details:
            lines += ["", f"### {md_inline(exercise.title)} ({md_inline(exercise.id)})", "", md_code_block(exercise.message)]
    return "\n".join(lines) + "\n"


_HTML_STYLE = ("body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
               "pre{white-space:pre-wrap;background:#f4f4f4;padding:.6rem}")


def feedback_html(student: StudentResult, settings: ExportSettings, *, person: Person,
                  delivery: Delivery | None = None) -> str:
    e = html.escape
    title = f"{settings.lab_title}: resultado de la corrección"
    items = [f"<li><strong>Estudiante:</strong> {e(person.display_name)}</li>",
             f"<li><strong>Nota:</strong> {e(grade_es(student, settings))}</li>",
             f"<li><strong>Ejercicios superados:</strong> {e(passed_es(student))}</li>"]
    if delivery is not None:
        items.append(f"<li><strong>Entrega:</strong> {e(_delivery_es(delivery))}</li>")
    rows = [f"<tr><td>{e(x.title)} ({e(x.id)})</td><td>{e(STATUS_ES.get(x.status, x.status))}</td>"
            f"<td>{grade_text(x.score)} / {grade_text(x.max_score)}</td></tr>" for x in student.exercises]
    details = [f"<h3>{e(x.title)} ({e(x.id)})</h3>\n<pre>{e(x.message.rstrip())}</pre>"
               for x in student.exercises if x.message.strip()]
    body = [f"<h1>{e(title)}</h1>", "<ul>", *items, "</ul>",
            "<table><thead><tr><th>Ejercicio</th><th>Estado</th><th>Puntos</th></tr></thead><tbody>", *rows,
            "</tbody></table>"]
    if details:
        body += ["<h2>Comentarios por ejercicio</h2>", *details]
    return ("<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{e(title)}</title>\n<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def file_stem(name: str, taken: set[str]) -> str:
    """A safe, unique file name for a student: letters, digits, '.', '-', '_', '@'; never hidden, never an option."""
    return unique_stem((re.sub(r"[^\w.@-]+", "_", name).strip("._-") or "estudiante")[:100], taken)


# ---- the whole export -----------------------------------------------------------------------------
@dataclass
class Export:
    files: list[Path] = field(default_factory=list)
    statistics: list[ExerciseStatistics] = field(default_factory=list)
    feedback: dict[str, Path] = field(default_factory=dict)  # the Markdown file; the HTML one beside it
    not_in_roster: list[str] = field(default_factory=list)
    without_submission: list[str] = field(default_factory=list)
    unsafe_identifiers: list[str] = field(default_factory=list)


def deliveries(report: GradeReport) -> dict[str, Delivery]:
    """Modification times and late flags from the manifests of the collections the notebooks came from."""
    found: dict[str, Delivery] = {}
    folders = {Path(s.notebook).parent for s in report.students if s.notebook}
    for folder in folders:
        manifest = read_manifest(folder)
        for entry in (manifest or {}).get("students", []):
            if not isinstance(entry, dict) or entry.get("status") != "collected":
                continue
            try:
                mtime = dt.datetime.fromisoformat(str(entry.get("mtime")))
            except ValueError:
                continue
            late = entry.get("late")
            found[str(entry.get("user"))] = Delivery(mtime=mtime, late=late if isinstance(late, bool) else None)
    return found


def _write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8-sig" if bom else "utf-8", newline="")
    return path


def export(report: GradeReport, *, out: Path, settings: ExportSettings, people: dict[str, Person] | None = None) -> Export:
    """Write the LMS files, the per-exercise and statistics CSVs and the feedback files into `out`."""
    roster = people or {}
    result = Export(statistics=statistics(report))
    names = {s.name for s in report.students}
    if roster:
        result.not_in_roster = sorted(n for n in names if n.lower() not in roster)
        graded = {n.lower() for n in names}
        result.without_submission = sorted(p.user for key, p in roster.items() if key not in graded)
    by_name = {n: _person(roster, n) for n in names}
    result.unsafe_identifiers = sorted(n for n, p in by_name.items() if p.lms_identifier.startswith(FORMULA_TRIGGERS)
                                       or (p.login or n).startswith(FORMULA_TRIGGERS))
    # LMS import files: plain UTF-8, as both LMSs document; the instructor's spreadsheets get a BOM for Excel.
    result.files += [_write(out / "moodle.csv", moodle_csv(report, roster, settings)),
                     _write(out / "canvas.csv", canvas_csv(report, roster, settings)),
                     _write(out / "exercises.csv", exercises_csv(report), bom=True),
                     _write(out / "statistics.csv", statistics_csv(result.statistics), bom=True)]
    handed_in = deliveries(report)
    taken: set[str] = set()
    for student in report.students:
        person = _person(roster, student.name)
        stem = file_stem(student.name, taken)
        delivery = handed_in.get(student.name)
        result.feedback[student.name] = _write(out / "feedback" / f"{stem}.md",
                                               feedback_markdown(student, settings, person=person, delivery=delivery))
        _write(out / "feedback" / f"{stem}.html", feedback_html(student, settings, person=person, delivery=delivery))
    log.info("exported %d student(s) into %s", len(report.students), out)
    return result
