"""The files Moodle and Canvas import, holding only rows that import whole, and the rows left out, with why.

Moodle's "Import grades from CSV" (grade/import/csv/classes/load_data.php, gradeimport_csv_load_data):

- The user is found by the one column mapped under "Identify user by" (username, ID number or email
  address), with the value as written (trimmed). A row whose value is empty (PHP's empty(): also
  "0") is skipped as a user *but its grades are still read*, and the current user is reset only once
  per file: the grade lands on the student of the row above. So every row here has a value.
- A value that matches no user aborts the whole import ("Import failed. No data was imported"),
  and so does a grade over 100 (the site's gradepointmax when "unlimitedgrades" is on). A grade
  inside 100 but above the grade item's maximum is silently cut to the maximum (grade_item::
  bounded_grade). So students missing from the roster, identifiers that needed a spreadsheet
  apostrophe and grades outside 0..maximum never go into moodle.csv; they go to not-imported.csv.
- A grade is read with unformat_float(): a dot for decimals works in every language.
- Two rows for one user: the second wins. Identifiers are unique here.

Canvas's gradebook import (app/models/gradebook_importer.rb) finds a student by ID, then SIS User ID,
then SIS Login ID, then by name; an unknown one shows up as a new student not in the course. A row
is written only when one of those identifies the student without a spreadsheet apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from harness.grading.grades import lms_number
from harness.grading.records import Mark, Person
from harness.grading.spreadsheets import FORMULA_TRIGGERS, Cell, csv_text

# --moodle-id: the column moodle.csv writes, under Moodle's own name, and the roster field it is filled from.
MOODLE_IDS: dict[str, tuple[str, str]] = {
    "username": ("Username", "login"),  # roster login, else the hub user name
    "idnumber": ("ID number", "identifier"),
    "email": ("Email address", "email"),
}
MOODLE_GRADE_LIMIT = Decimal(100)  # load_data.php insert_grade_record: over this the import stops (no unlimitedgrades)
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")  # then "Title (id)"
NOT_IMPORTED_COLUMNS = ("file", "user", "name", "identifier", "grade", "reason")


def moodle_identifier(person: Person, moodle_id: str) -> str:
    if moodle_id == "username":
        return person.login or person.user
    return str(getattr(person, MOODLE_IDS[moodle_id][1]))


def php_empty(value: str) -> bool:
    """PHP's empty() on a trimmed CSV cell: '' and '0' are empty."""
    return value.strip() in {"", "0"}


def needs_apostrophe(value: str) -> bool:
    return value.startswith(FORMULA_TRIGGERS)


@dataclass(frozen=True)
class LmsRow:
    """One student's line in an LMS file: the grades of its columns (None: no grade) and why it cannot go in."""

    person: Person
    grades: tuple[Decimal | None, ...]
    problem: str = ""  # '' when the row can go into the LMS files
    feedback: str = ""  # Moodle's Feedback column, for a single lab


@dataclass(frozen=True)
class LeftOut:
    file: str
    user: str
    name: str
    identifier: str
    grade: Decimal | None
    reason: str

    def row(self) -> list[Cell]:
        return [self.file, self.user, self.name, self.identifier, self.grade, self.reason]


def left_out(file: str, row: LmsRow, identifier: str, reason: str) -> LeftOut:
    grade = next((g for g in reversed(row.grades) if g is not None), None)
    return LeftOut(file, row.person.user, row.person.display_name, identifier, grade, reason)


@dataclass
class LmsFile:
    """One LMS file: its rows and the students left out of it."""

    name: str
    text: str = ""
    rows: int = 0
    left_out: list[LeftOut] = field(default_factory=list)


def mark_problem(mark: Mark) -> str:
    """Why a student's mark cannot go into an LMS file, or ''."""
    if mark.status == "invalid":
        return "handed in a file that is not a notebook: look at it and grade it by hand"
    if not mark.in_roster:
        return "not in the roster: the LMS would not know this hub user; add the student to the roster"
    if mark.grade is not None and not Decimal(0) <= mark.grade <= mark.maximum:
        return (f"grade {lms_number(mark.grade)} is outside 0–{lms_number(mark.maximum)}: the LMS would cut it to the "
                "item's range (Moodle) or take it as extra credit (Canvas); enter it by hand")
    return ""


def moodle_problem(row: LmsRow, identifier: str, field_name: str, repeated: Counter[str]) -> str:
    if row.problem:
        return row.problem
    if php_empty(identifier):
        return (f"no {field_name} in the roster: Moodle would skip the row and give its grade to the student above "
                f"(fill the roster's {MOODLE_IDS_FIELD_HINT[field_name]} or choose another --moodle-id)")
    if needs_apostrophe(identifier):
        return (f"the {field_name} starts like a formula ({identifier[0]!r}): written safely it gets an apostrophe, "
                "which Moodle would not find, and it would abort the whole import")
    if repeated[identifier.strip()] > 1:
        return f"the {field_name} {identifier!r} belongs to more than one student: Moodle would keep only the last grade"
    if any(g is not None and g > MOODLE_GRADE_LIMIT for g in row.grades):
        return "grades over 100 stop Moodle's whole import unless the site allows unlimited grades: enter it by hand"
    return ""


MOODLE_IDS_FIELD_HINT = {"Username": "login", "ID number": "identifier", "Email address": "email"}


def moodle_csv(rows: Sequence[LmsRow], *, titles: Sequence[str], moodle_id: str, feedback: bool) -> LmsFile:
    """Moodle: one identifier column (--moodle-id), the full name (to map to nothing), the grades, the feedback."""
    header, _ = MOODLE_IDS[moodle_id]
    identifiers = [moodle_identifier(row.person, moodle_id) for row in rows]
    repeated = Counter(i.strip() for i in identifiers if not php_empty(i))
    result = LmsFile(name="moodle.csv")
    lines: list[list[Cell]] = []
    for row, identifier in zip(rows, identifiers, strict=True):
        if problem := moodle_problem(row, identifier, header, repeated):
            result.left_out.append(left_out(result.name, row, identifier, problem))
            continue
        lines.append([identifier, row.person.display_name, *row.grades, *([row.feedback] if feedback else [])])
    columns = [header, "Full name", *titles, *(["Feedback"] if feedback else [])]
    result.text, result.rows = csv_text(columns, lines), len(lines)
    return result


def canvas_identity(person: Person) -> str:
    """The first field Canvas finds the student by that is usable as written, or '' when none is."""
    for value in (person.canvas_id, person.sis_user_id, person.login or person.user):
        if value.strip() and not needs_apostrophe(value):
            return value
    return ""


def canvas_csv(rows: Sequence[LmsRow], *, columns: Sequence[str], points_possible: Sequence[Decimal]) -> LmsFile:
    """Canvas: Student, ID, SIS User ID, SIS Login ID, Section, the assignments; a Points Possible row first."""
    result = LmsFile(name="canvas.csv")
    lines: list[list[Cell]] = [["Points Possible", "", "", "", "", *points_possible]]
    for row in rows:
        person = row.person
        problem = row.problem or ("" if canvas_identity(person) else
                                  "no ID, SIS User ID or SIS Login ID usable as written: Canvas would take the row "
                                  "for a new student; fill the roster's canvas_id")
        if problem:
            result.left_out.append(left_out(result.name, row, person.canvas_id or person.login or person.user, problem))
            continue
        lines.append([person.display_name, person.canvas_id, person.sis_user_id, person.login or person.user,
                      person.section, *row.grades])
    result.text, result.rows = csv_text([*CANVAS_COLUMNS, *columns], lines), len(lines) - 1
    return result


def left_out_line(file: LmsFile) -> str:
    """'moodle.csv: 3 student(s); 2 left out (see not-imported.csv): ana (no Email address in the roster), ...'."""
    names = ", ".join(f"{i.user} ({i.reason.split(':')[0]})" for i in file.left_out)
    if not file.left_out:
        return f"{file.name}: {file.rows} student(s), none left out"
    return f"{file.name}: {file.rows} student(s); {len(file.left_out)} left out (see not-imported.csv): {names}"


def check_moodle_file(text: str, *, maximum: Decimal) -> list[str]:
    """moodle.csv read back the way Moodle reads it: what would skip, misassign or abort (nothing, when all is well)."""
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    if not table:
        return ["the file is empty"]
    header, rows = table[0], table[1:]
    problems = [f"row {n}: {len(row)} cells, the header has {len(header)}" for n, row in enumerate(rows, 2)
                if len(row) != len(header)]
    seen: Counter[str] = Counter(row[0].strip() for row in rows if row)
    grades = slice(2, len(header) - 1 if header[-1] == "Feedback" else len(header))
    for number, row in enumerate(rows, start=2):
        identifier = row[0] if row else ""
        if php_empty(identifier) or identifier.startswith("'") or seen[identifier.strip()] > 1:
            problems.append(f"row {number}: the identifier {identifier!r} is empty, escaped or repeated")
        problems += [f"row {number}: the grade {grade!r} is not a number from 0 to {lms_number(maximum)}"
                     for grade in row[grades] if grade.strip() and not _grade_fits(grade, maximum)]
    return problems


def _grade_fits(text: str, maximum: Decimal) -> bool:
    try:
        value = Decimal(text.strip())
    except ArithmeticError:
        return False
    return value.is_finite() and Decimal(0) <= value <= min(maximum, MOODLE_GRADE_LIMIT)
