"""A small re-implementation of Canvas's gradebook CSV import, to replay the export's files through.

Written from Canvas's source (github.com/instructure/canvas-lms, app/models/gradebook_importer.rb):

- csv_stream / semicolon_delimited? / identify_delimiter: the separator is ';' when, on the first
  three lines, ';' gives a consistent and larger number of fields than ','; fields pass through the
  decimal_comma_to_period converter (a field of digits, '.' and ',' keeps its last separator as the
  decimal point: "8,5" -> "8.5", "1.234,5" -> "1234.5"); lines of only ';', ',' and spaces skipped.
  The file is read as UTF-8 without removing a byte-order mark, which then starts the first header
  cell; the header checks use include?, so "\ufeffStudent" still passes.
- header? / update_column_count: the first cell includes "Student", the second "ID"; then "SIS
  Login ID", or "SIS User ID" and "SIS Login ID" (then "Integration ID", "Root Account"); the last
  student column must include "Section". Columns named like the totals (Current Score, Final Grade,
  ...) are not assignments. parse_assignments: "Title (id)" finds the assignment by id, else by its
  title, else makes a new one.
- check_for_non_student_row: a first cell including "Points Possible" gives the points; a row of
  only blanks, "Muted" or "Manual Posting" is skipped.
- process_student: by ID, then SIS User ID, then SIS Login ID, then name or sortable name; else a
  new student, which the import reports as not in the course.

What is left out: custom columns, override scores, grading periods, pass/fail and letter grades.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

_PURE_NUMBER = re.compile(r"^-?[0-9.,]+%?$")
_TITLE_AND_ID = re.compile(r"\A(.*)\s+\((\d+)\)\Z", re.S)
_SKIP_LINE = re.compile(r"^[;, ]+$")
NON_ASSIGNMENT = re.compile("Current Score|Current Points|Current Grade|Final Score|Final Points|Final Grade|"
                            "Override Score|Override Grade|Override Status")


class InvalidHeaderRow(Exception):
    pass


@dataclass
class Student:
    id: int
    name: str
    sortable_name: str = ""
    sis_user_id: str = ""
    login: str = ""


@dataclass
class Course:
    students: list[Student]
    assignments: dict[int, str]  # id -> title


@dataclass
class Imported:
    grades: dict[int | str, dict[int | str, str]] = field(default_factory=dict)  # student (id, or name if new) -> grades
    new_students: list[str] = field(default_factory=list)
    new_assignments: list[str] = field(default_factory=list)
    points_possible: dict[int | str, str] = field(default_factory=dict)


def decimal_comma_to_period(value: str) -> str:
    if not _PURE_NUMBER.match(value):
        return value
    parts = re.split(r"[,.]", value)
    last = parts.pop()
    return "".join(parts) + "." + last if parts else last


def identify_delimiter(lines: list[str]) -> str:
    counts = {}
    for separator in (";", ","):
        counts[separator] = 0
        try:
            sizes = {len(next(csv.reader([line], delimiter=separator, strict=True), [])) for line in lines}
        except csv.Error:
            continue
        if len(sizes) == 1:
            counts[separator] = sizes.pop()
    return ";" if counts[";"] > counts[","] else ","


def rows_of(raw: bytes) -> list[list[str]]:
    text = raw.decode("utf-8")  # Ruby keeps a BOM as the first character
    separator = identify_delimiter(text.splitlines(keepends=True)[:3])
    lines = [line for line in text.splitlines(keepends=True) if not _SKIP_LINE.match(line.rstrip("\r\n"))]
    return [[decimal_comma_to_period(cell) for cell in row]
            for row in csv.reader(io.StringIO("".join(lines), newline=""), delimiter=separator)]


def _student_columns(header: list[str]) -> dict[str, int]:
    if not (len(header) > 3 and "Student" in header[0] and "ID" in header[1]):
        raise InvalidHeaderRow
    columns, where = 3, {}
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        where["login"], columns = 2, 4
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        extra = 1 if re.search(r"Integration\s+ID", header[4]) else 0
        where["sis"], where["login"], columns = 2, 3, 5 + extra
        if re.search(r"Root\s+Account", header[4 + extra]):
            columns += 1
    if "Section" not in header[columns - 1]:
        raise InvalidHeaderRow
    where["columns"] = columns
    return where


def _assignments(course: Course, header: list[str], columns: int, result: Imported) -> dict[int, int | str]:
    found: dict[int, int | str] = {}
    for index, name in enumerate(header[columns:], start=columns):
        if NON_ASSIGNMENT.search(name):
            continue
        match = _TITLE_AND_ID.match(name)
        title, number = (match.group(1), int(match.group(2))) if match else (name, None)
        if number is not None and number in course.assignments:
            found[index] = number
        elif (by_title := [i for i, t in course.assignments.items() if t == name]):
            found[index] = by_title[0]
        else:
            found[index] = f"new:{title}"
            result.new_assignments.append(title)
    return found


def _student(course: Course, row: list[str], where: dict[str, int]) -> Student | None:
    by_id = {s.id: s for s in course.students}
    student = by_id.get(int(row[1])) if row[1].strip().isdigit() else None
    if student is None and "sis" in where and row[where["sis"]]:
        student = next((s for s in course.students if s.sis_user_id == row[where["sis"]]), None)
    if student is None and "login" in where and row[where["login"]]:
        student = next((s for s in course.students if s.login == row[where["login"]]), None)
    if student is None:
        student = next((s for s in course.students if row[0] in (s.name, s.sortable_name)), None)
    return student


def import_gradebook(raw: bytes, course: Course) -> Imported:
    rows = rows_of(raw)
    result = Imported()
    where = _student_columns(rows[0])
    assignments = _assignments(course, rows[0], where["columns"], result)
    for row in rows[1:]:
        if row and "Points Possible" in row[0]:
            result.points_possible = {assignments[i]: row[i] for i in assignments}
            continue
        if all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", cell, re.I) for cell in row):
            continue
        student = _student(course, row, where)
        key: int | str = student.id if student else row[0]
        if student is None:
            result.new_students.append(row[0])
        result.grades[key] = {assignments[i]: row[i].strip() for i in assignments}
    return result
