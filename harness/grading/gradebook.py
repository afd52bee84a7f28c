"""The course gradebook: every lab's grade, their weights, the course grade, the same LMS files, statistics.

course.toml (the labs and their weights; every key but [[labs]] is optional):

    title = "Aprendizaje profundo 2026/27"
    final_item = "Nota final de prácticas"   # the course grade's column in the LMS files
    scale = 10                               # every grade out of 10 (default), one decimal (decimals = 1)
    late_penalty = "10%/day"                 # applied to each lab, from its collection's deadline
    roster = "roster.csv"                    # relative to course.toml; --roster overrides it

    [[labs]]
    id = "00"
    weight = 20                              # any positive numbers: weight / sum of the weights
    report = "reports/grade-00.json"         # default: REPORTS/grade-ID.json
    canvas_assignment_id = "4711"

The course grade is the weighted mean of the lab grades as recorded (rounded), a lab not handed
in counting 0, rounded again to the scale's decimals; "No presentado" when no lab was handed in.
On the 0–10 scale the qualitative grade of RD 1125/2003 goes beside it.
"""

from __future__ import annotations

import math
import statistics as stats
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.grading import lms
from harness.grading.export import read_report, read_roster
from harness.grading.grades import NO_PRESENTADO, GradeScale, decimal, number_es, qualitative, round_half_up
from harness.grading.late import LatePolicy, deliveries, parse_late_penalty
from harness.grading.records import Mark, Person, marks, person_for
from harness.grading.spreadsheets import Cell, Dialect, Sheet, csv_text, write_text, write_xlsx

COURSE_KEYS = {"title", "final_item", "scale", "decimals", "late_penalty", "roster", "labs"}
LAB_KEYS = {"id", "weight", "report", "canvas_assignment_id", "title"}
STATISTICS_COLUMNS = ("item", "title", "weight", "maximum", "students", "presented", "no_shows", "mean", "median",
                      "stdev", "min", "max", "passed", "pass_rate", "suspenso", "aprobado", "notable", "sobresaliente")


@dataclass(frozen=True)
class CourseLab:
    id: str
    title: str
    weight: Decimal
    report: Path
    canvas_assignment_id: str = ""

    @property
    def canvas_column(self) -> str:
        return f"{self.title} ({self.canvas_assignment_id})" if self.canvas_assignment_id else self.title


@dataclass(frozen=True)
class Course:
    path: Path
    title: str
    final_item: str
    scale: GradeScale
    labs: tuple[CourseLab, ...]
    late_policy: LatePolicy | None = None
    roster: Path | None = None


def _text(raw: dict[str, Any], key: str, where: str, default: str = "") -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise HarnessError(f"{where}: {key} must be text in quotes, not {value!r}")
    return value.strip()


def _weight(raw: dict[str, Any], where: str) -> Decimal:
    value = raw.get("weight")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise HarnessError(f"{where}: weight must be a positive number (e.g. weight = 20), not {value!r}")
    return decimal(value)


def _lab(raw: Any, number: int, *, folder: Path, reports: Path, titles: dict[str, str]) -> CourseLab:
    where = f"course.toml, lab {number}"
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str | int):
        raise HarnessError(f"{where}: each [[labs]] needs id = \"00\" and a weight")
    if unknown := sorted(set(raw) - LAB_KEYS):
        raise HarnessError(f"{where}: unknown key(s) {', '.join(unknown)}: a lab has {', '.join(sorted(LAB_KEYS))}")
    lab_id = str(raw["id"]).zfill(2)
    report = _text(raw, "report", where)
    return CourseLab(id=lab_id, title=_text(raw, "title", where) or titles.get(lab_id, f"Práctica {lab_id}"),
                     weight=_weight(raw, where), report=folder / report if report else reports / f"grade-{lab_id}.json",
                     canvas_assignment_id=_text(raw, "canvas_assignment_id", where))


def read_course(path: Path, *, reports: Path, titles: dict[str, str]) -> Course:
    """course.toml, or a one-line error that says what to fix."""
    if not path.is_file():
        raise HarnessError(f"{path}: no such course file: write one with a [[labs]] table per lab (id, weight)")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise HarnessError(f"{path}: not a TOML file ({error})") from None
    if unknown := sorted(set(raw) - COURSE_KEYS):
        raise HarnessError(f"{path}: unknown key(s) {', '.join(unknown)}: the keys are {', '.join(sorted(COURSE_KEYS))}")
    if not isinstance(raw.get("labs"), list) or not raw["labs"]:
        raise HarnessError(f"{path}: no labs: add a [[labs]] table per lab with its id and weight")
    labs = tuple(_lab(lab, i, folder=path.parent, reports=reports, titles=titles) for i, lab in enumerate(raw["labs"], 1))
    if len({lab.id for lab in labs}) != len(labs):
        raise HarnessError(f"{path}: a lab is listed twice: list each lab once")
    scale, decimals = raw.get("scale", 10), raw.get("decimals", 1)
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not isinstance(decimals, int):
        raise HarnessError(f"{path}: scale is the grades' maximum (e.g. 10) and decimals a whole number (e.g. 1)")
    late = _text(raw, "late_penalty", str(path))
    roster = _text(raw, "roster", str(path))
    return Course(path=path, title=_text(raw, "title", str(path)), final_item=_text(raw, "final_item", str(path),
                                                                                   "Nota final"),
                  scale=GradeScale(out_of=decimal(scale), decimals=decimals), labs=labs,
                  late_policy=parse_late_penalty(late) if late else None,
                  roster=path.parent / roster if roster else None)


@dataclass(frozen=True)
class CourseMark:
    """One student's line in the gradebook: a Mark per lab (None: not in that lab's data), the course grade."""

    person: Person
    labs: tuple[Mark | None, ...]
    grade: Decimal | None  # None: No presentado, or pending (a lab to grade by hand)
    problem: str = ""

    @property
    def presented(self) -> bool:
        return any(m is not None and m.status != "no_show" for m in self.labs)

    @property
    def record(self) -> str:
        if self.grade is None:
            return "pendiente" if self.problem else NO_PRESENTADO
        return number_es(self.grade)


def course_grade(labs: Sequence[CourseLab], lab_marks: Sequence[Mark | None], scale: GradeScale) -> Decimal | None:
    """The weighted mean of the recorded lab grades (a lab not handed in counts 0), rounded; None if none handed in."""
    if not any(m is not None and m.status == "graded" for m in lab_marks):
        return None
    total = sum((lab.weight for lab in labs), Decimal(0))
    weighted = sum((lab.weight * (m.grade / m.maximum if m is not None and m.grade is not None and m.maximum else 0)
                    for lab, m in zip(labs, lab_marks, strict=True)), Decimal(0))
    assert scale.out_of is not None
    return round_half_up(weighted / total * scale.out_of, scale.decimals)


def _problem(labs: Sequence[CourseLab], lab_marks: Sequence[Mark | None]) -> str:
    for lab, mark in zip(labs, lab_marks, strict=True):
        if mark is not None and (problem := lms.mark_problem(mark)):
            return f"lab {lab.id}: {problem}"
    return ""


def course_marks(course: Course, people: dict[str, Person], *, per_lab: Sequence[list[Mark]]) -> list[CourseMark]:
    users: dict[str, str] = {}
    for lab_marks in per_lab:
        for mark in lab_marks:
            users.setdefault(mark.user.lower(), mark.user)
    by_lab = [{m.user.lower(): m for m in lab_marks} for lab_marks in per_lab]
    result = []
    for key in sorted(users):
        found = tuple(lab.get(key) for lab in by_lab)
        problem = _problem(course.labs, found)
        grade = None if problem else course_grade(course.labs, found, course.scale)
        result.append(CourseMark(person=person_for(people, users[key]), labs=found, grade=grade, problem=problem))
    return result


@dataclass(frozen=True)
class ItemStatistics:
    item: str
    title: str
    weight: Decimal | None
    maximum: Decimal
    grades: tuple[Decimal, ...]  # of those who handed in
    students: int
    no_shows: int
    scale: GradeScale

    @property
    def mean(self) -> Decimal | None:
        return self._round(stats.fmean([float(g) for g in self.grades])) if self.grades else None

    def row(self) -> list[Cell]:
        values = [float(g) for g in self.grades]
        passed = sum(g >= self.maximum / 2 for g in self.grades)
        spread: list[Cell] = [None] * 7
        if values:
            spread = [self.mean, self._round(stats.median(values)),
                      self._round(stats.stdev(values)) if len(values) > 1 else None, min(self.grades), max(self.grades),
                      passed, round_half_up(Decimal(passed) / len(values), 3)]
        bands: list[Cell] = [None] * 4
        if self.scale.spanish:
            names = [qualitative(g) for g in self.grades]
            bands = [names.count(n) for n in ("Suspenso", "Aprobado", "Notable", "Sobresaliente")]
        return [self.item, self.title, self.weight, self.maximum, self.students, len(self.grades), self.no_shows,
                *spread, *bands]

    def _round(self, value: float) -> Decimal:
        return round_half_up(decimal(value), self.scale.decimals + 1)


def gradebook_statistics(course: Course, rows: Sequence[CourseMark]) -> list[ItemStatistics]:
    total = sum((lab.weight for lab in course.labs), Decimal(0))
    maximum = course.scale.out_of or Decimal(0)
    items = []
    for index, lab in enumerate(course.labs):
        lab_marks = [r.labs[index] for r in rows]
        grades = tuple(m.grade for m in lab_marks if m is not None and m.grade is not None)
        no_shows = sum(m is None or m.status == "no_show" for m in lab_marks)
        items.append(ItemStatistics(lab.id, lab.title, round_half_up(lab.weight / total, 4).normalize(), maximum, grades,
                                    len(rows), no_shows, course.scale))
    course_grades = tuple(r.grade for r in rows if r.grade is not None)
    no_shows = sum(r.grade is None and not r.problem for r in rows)
    items.append(ItemStatistics("course", course.final_item, Decimal(1), maximum, course_grades, len(rows), no_shows,
                                course.scale))
    return items


@dataclass
class Gradebook:
    course: Course
    rows: list[CourseMark]
    statistics: list[ItemStatistics]
    lms_files: list[lms.LmsFile] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def build(course: Course, *, people: dict[str, Person]) -> Gradebook:
    per_lab = []
    for lab in course.labs:
        report = read_report(lab.report)
        if report.lab and report.lab != lab.id:
            raise HarnessError(f"{lab.report} grades lab {report.lab}, not lab {lab.id}: fix its report in {course.path}")
        handed_in = deliveries(report.collections)
        per_lab.append(marks(report, people, handed_in, scale=course.scale, late_policy=course.late_policy))
    rows = course_marks(course, people, per_lab=per_lab)
    return Gradebook(course=course, rows=rows, statistics=gradebook_statistics(course, rows))


def lms_rows(book: Gradebook) -> list[lms.LmsRow]:
    spanish = book.course.scale.spanish
    return [lms.LmsRow(person=r.person, grades=(*(m.grade if m is not None else None for m in r.labs), r.grade),
                       problem=r.problem,
                       feedback=f"{r.record} ({qualitative(r.grade)})" if r.grade is not None and spanish else r.record)
            for r in book.rows]


def gradebook_rows(book: Gradebook) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for row in book.rows:
        labs: list[Cell] = [m.grade if m is not None else None for m in row.labs]
        band = qualitative(row.grade) if row.grade is not None and book.course.scale.spanish else ""
        rows.append([row.person.user, row.person.display_name, *labs, row.grade, row.record, band, row.problem])
    return rows


def write(book: Gradebook, *, out: Path, moodle_id: str, dialect: Dialect, xlsx: bool) -> list[Path]:
    course = book.course
    maximum = course.scale.out_of or Decimal(0)
    titles = [*(lab.title for lab in course.labs), course.final_item]
    rows = lms_rows(book)
    moodle = lms.moodle_csv(rows, titles=titles, moodle_id=moodle_id, feedback=True)
    if problems := lms.check_moodle_file(moodle.text, maximum=maximum):
        raise HarnessError(f"moodle.csv would not import whole ({problems[0]}): please report this")
    canvas = lms.canvas_csv(rows, columns=[*(lab.canvas_column for lab in course.labs), course.final_item],
                            points_possible=[maximum] * len(titles))
    book.lms_files = [moodle, canvas]
    files = [write_text(out / f.name, f.text) for f in book.lms_files]
    tables = [
        Sheet("gradebook", ["user", "name", *(f"lab_{lab.id}" for lab in course.labs), "course_grade", "record",
                            "qualitative", "pending"], gradebook_rows(book)),
        Sheet("statistics", STATISTICS_COLUMNS, [item.row() for item in book.statistics]),
        Sheet("not-imported", lms.NOT_IMPORTED_COLUMNS, [i.row() for f in book.lms_files for i in f.left_out]),
    ]
    files += [write_text(out / f"{t.title}.csv", csv_text(t.header, t.rows, dialect=dialect), bom=True) for t in tables]
    if xlsx:
        files.append(write_xlsx(out / "gradebook.xlsx", tables))
    book.files = files
    return files


def plot_data(book: Gradebook) -> dict[str, Any]:
    """What the distribution plot draws: each lab's grades and the course's, with the scale."""
    items = [{"label": item.title, "grades": [float(g) for g in item.grades], "no_shows": item.no_shows,
              "mean": "—" if item.mean is None else number_es(item.mean)} for item in book.statistics]
    return {"title": book.course.title or "Distribución de notas", "maximum": float(book.course.scale.out_of or 10),
            "items": items}


def load_people(course: Course, roster: Path | None) -> dict[str, Person]:
    path = roster or course.roster
    return read_roster(path) if path is not None else {}
