"""--fill: the LMS's own files, downloaded by the instructor, written back with the grades and the feedback.

Moodle's grading worksheet (an assignment's "Download grading worksheet", mod/assign/gradingtable.php
in download mode) has the columns Identifier ("Participant N"), Full name, the identity fields
(Email address...), Status, Grade, Maximum grade, Grade can be changed, Last modified (submission),
Last modified (grade), Feedback comments, named in the language of the instructor who downloaded it.
Its upload (mod/assign/feedback/offline/importgradeslib.php, locallib.php process_import_grades)
finds the columns by those names, the student by the Participant number, reads the grade with
unformat_float(), and skips a row whose grade is empty, negative, above the assignment's maximum,
unchanged, locked, or changed in Moodle after the worksheet was downloaded (unless "Allow updating
records that have been modified more recently in Moodle than in the spreadsheet" is ticked). It
writes "Feedback comments" as HTML. Grading through the worksheet keeps the assignment in charge of
its grade: an import into the gradebook overrides it instead (grade_item::update_final_grade).

Canvas's gradebook export (app/models/gradebook_exporter.rb) has Student, ID, SIS User ID, SIS
Login ID, Section, one "Title (id)" column per assignment, then totals marked "(read only)" in the
"Points Possible" row; ';' and decimal commas in locales that write them, and optionally a BOM. Its
import (gradebook_importer.rb) ignores columns whose values did not change.

Only the cells of the lab's grade (and, in Moodle, its feedback) change; every other cell is kept.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from harness.errors import HarnessError
from harness.grading.grades import NO_PRESENTADO, lms_number
from harness.grading.records import Mark

# Moodle's strings for the worksheet's columns: English (lang/en) and Spanish (the es language pack).
MOODLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "identifier": ("Identifier", "Identificador"),
    "fullname": ("Full name", "Nombre completo"),
    "email": ("Email address", "Dirección de correo", "Dirección Email"),
    "grade": ("Grade", "Calificación"),
    "maxgrade": ("Maximum grade", "Calificación máxima"),
    "canchange": ("Grade can be changed", "La calificación puede ser cambiada"),
    "modified": ("Last modified (grade)", "Última modificación (calificación)"),
    "feedback": ("Feedback comments", "Comentarios de retroalimentación"),
}
MOODLE_REQUIRED = ("identifier", "grade", "modified", "feedback")  # init() fails without the first three
NO = {"no"}


@dataclass
class Filled:
    """A filled LMS file and what did not fit."""

    kind: str  # moodle-worksheet or canvas-gradebook
    name: str
    text: str = ""
    bom: bool = False
    graded: int = 0
    no_submission: list[str] = field(default_factory=list)  # in the file, with nothing of ours to grade
    locked: list[str] = field(default_factory=list)  # Moodle says the grade cannot be changed
    by_hand: list[str] = field(default_factory=list)  # handed in a file that is not a notebook: left as it was
    missing: list[Mark] = field(default_factory=list)  # our graded students the file does not list


def read_lms_file(path: Path) -> tuple[str, bool]:
    if not path.is_file():
        raise HarnessError(f"{path}: no such file: give the worksheet or gradebook export downloaded from the LMS")
    try:
        raw = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise HarnessError(f"{path}: not a UTF-8 text file ({error}): download it again as CSV (UTF-8)") from None
    return raw.removeprefix("\ufeff"), raw.startswith("\ufeff")


def canvas_delimiter(text: str) -> str:
    """The separator Canvas's importer picks (identify_delimiter): the one giving more, equal, fields on 3 lines."""
    lines = text.splitlines()[:3]
    counts = {}
    for separator in (";", ","):
        sizes = {len(next(csv.reader([line], delimiter=separator), [])) for line in lines}
        counts[separator] = sizes.pop() if len(sizes) == 1 else 0
    return ";" if counts[";"] > counts[","] else ","


def detect(text: str) -> str:
    """moodle-worksheet, canvas-gradebook, or a one-line error."""
    first = next(csv.reader(io.StringIO(text), delimiter=canvas_delimiter(text)), [])
    names = {cell.strip() for cell in first}
    if names & set(MOODLE_COLUMNS["identifier"]) and names & set(MOODLE_COLUMNS["modified"]):
        return "moodle-worksheet"
    if len(first) > 3 and "Student" in first[0] and "ID" in first[1]:
        return "canvas-gradebook"
    raise HarnessError("--fill takes a Moodle grading worksheet (Identifier, ..., Last modified (grade), Feedback "
                       "comments) or a Canvas gradebook export (Student, ID, ...); this file starts with "
                       f"{', '.join(first[:4]) or 'nothing'}")


def _rows(text: str, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _write(rows: Sequence[Sequence[str]], delimiter: str) -> str:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def _number(text: str) -> Decimal | None:
    """A number as either LMS writes it ("10,00", "10.00", "1.234,5"), or None."""
    cleaned = text.strip().replace(" ", "")
    if "," in cleaned:
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        value = Decimal(cleaned)
    except ArithmeticError:
        return None
    return value if value.is_finite() else None


def _check_maximum(found: str, maximum: Decimal, where: str) -> None:
    value = _number(found)
    if value is not None and value != maximum:
        raise HarnessError(f"{where} is {found.strip()}, but the grades are out of {lms_number(maximum)}: export with "
                           f"--scale {lms_number(value)}, or change the maximum in the LMS")


class _Finder:
    """Our marks by email (lower case), by name, and by each Canvas identifier."""

    def __init__(self, marks: Sequence[Mark]) -> None:
        self.marks = marks
        self.by: dict[str, dict[str, Mark]] = {"email": {}, "name": {}, "canvas_id": {}, "sis_user_id": {}, "login": {}}
        names: dict[str, list[Mark]] = {}
        for mark in marks:
            person = mark.person
            for key, value in (("email", person.email.lower()), ("canvas_id", person.canvas_id),
                               ("sis_user_id", person.sis_user_id), ("login", person.login or person.user)):
                if value.strip():
                    self.by[key][value.strip()] = mark
            names.setdefault(" ".join(person.display_name.split()), []).append(mark)
        self.by["name"] = {name: found[0] for name, found in names.items() if len(found) == 1}

    def find(self, pairs: Sequence[tuple[str, str]]) -> Mark | None:
        for key, raw in pairs:
            value = " ".join(raw.split()) if key == "name" else raw.strip()
            if value and (mark := self.by[key].get(value.lower() if key == "email" else value)) is not None:
                return mark
        return None


def _column(header: list[str], key: str) -> int | None:
    names = MOODLE_COLUMNS[key]
    return next((i for i, cell in enumerate(header) if cell.strip() in names), None)


def fill_moodle_worksheet(text: str, marks: Sequence[Mark], *, name: str, maximum: Decimal,
                          feedback: Callable[[Mark], str]) -> Filled:
    """The worksheet with each graded student's grade and HTML feedback; a blank row for no work says No presentado."""
    table = _rows(text, ",")
    header = table[0]
    columns = {key: _column(header, key) for key in MOODLE_COLUMNS}
    if missing := [MOODLE_COLUMNS[k][0] for k in MOODLE_REQUIRED if columns[k] is None]:
        raise HarnessError(f"{name}: no column {', '.join(missing)}: download the grading worksheet again with "
                           "the feedback comments enabled for the assignment")
    grade_at, feedback_at = columns["grade"], columns["feedback"]
    assert grade_at is not None and feedback_at is not None
    finder, result, seen = _Finder(marks), Filled(kind="moodle-worksheet", name=name), set()
    for row in table[1:]:
        if len(row) != len(header):
            continue
        if (at := columns["maxgrade"]) is not None:
            _check_maximum(row[at], maximum, f"{name}: the assignment's maximum grade")
        mark = finder.find([("email", row[columns["email"]] if columns["email"] is not None else ""),
                            ("name", row[columns["fullname"]] if columns["fullname"] is not None else "")])
        who = row[columns["fullname"]] if columns["fullname"] is not None else row[columns["identifier"] or 0]
        if mark is not None and mark.status == "invalid":
            result.by_hand.append(who)
            continue
        if mark is None or mark.grade is None:
            if not row[grade_at].strip() and not row[feedback_at].strip():
                row[feedback_at] = f"<p>{NO_PRESENTADO}</p>"
            result.no_submission.append(who)
            continue
        seen.add(mark.user)
        row[grade_at], row[feedback_at] = lms_number(mark.grade), feedback(mark).replace("\\", "&#92;")
        result.graded += 1
        if (at := columns["canchange"]) is not None and row[at].strip().lower() in NO:
            result.locked.append(who)
    result.missing = [m for m in marks if m.status == "graded" and m.user not in seen]
    result.text = _write(table, ",")
    return result


def _canvas_assignment(header: list[str], *, title: str, assignment_id: str, name: str) -> int:
    if assignment_id:
        found = [i for i, cell in enumerate(header) if cell.strip().endswith(f"({assignment_id})")]
    else:
        found = [i for i, cell in enumerate(header) if cell.strip() == title or cell.strip().startswith(f"{title} (")]
    if len(found) != 1:
        assignments = ", ".join(repr(c) for c in header[5:] if c.strip().endswith(")")) or "none"
        wanted = f"id {assignment_id}" if assignment_id else repr(title)
        raise HarnessError(f"{name}: {'no' if not found else 'more than one'} assignment column for {wanted}; "
                           f"its assignments: {assignments}: give --canvas-assignment-id")
    return found[0]


def fill_canvas_gradebook(text: str, marks: Sequence[Mark], *, name: str, maximum: Decimal, title: str,
                          assignment_id: str) -> Filled:
    """The export with the lab's column filled for each graded student; everything else as it was."""
    delimiter = canvas_delimiter(text)
    table = _rows(text, delimiter)
    header = table[0]
    target = _canvas_assignment(header, title=title, assignment_id=assignment_id, name=name)
    where = {key: header.index(key) if key in header else None for key in ("ID", "SIS User ID", "SIS Login ID")}
    finder, result, seen = _Finder(marks), Filled(kind="canvas-gradebook", name=name), set()
    for row in table[1:]:
        if len(row) <= target:
            continue
        if "Points Possible" in row[0]:
            _check_maximum(row[target], maximum, f"{name}: the assignment's Points Possible")
            continue
        if all(not cell.strip() or cell.strip().lower() == "muted" or cell.strip().startswith("Manual Posting")
               for cell in row):
            continue
        pairs = [(key, row[at]) for key, at in (("canvas_id", where["ID"]), ("sis_user_id", where["SIS User ID"]),
                                                 ("login", where["SIS Login ID"])) if at is not None]
        mark = finder.find([*pairs, ("name", row[0])])
        if mark is not None and mark.status == "invalid":
            result.by_hand.append(row[0])
            continue
        if mark is None or mark.grade is None:
            result.no_submission.append(row[0])
            continue
        seen.add(mark.user)
        row[target] = lms_number(mark.grade).replace(".", "," if delimiter == ";" else ".")
        result.graded += 1
    result.missing = [m for m in marks if m.status == "graded" and m.user not in seen]
    result.text = _write(table, delimiter)
    return result
