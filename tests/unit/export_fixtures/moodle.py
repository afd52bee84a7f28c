"""Small re-implementations of Moodle's two grade uploads, to replay the export's files through.

Written from Moodle's source (github.com/moodle/moodle, main), function by function:

- lib/csvlib.class.php, csv_import_reader::load_csv_content: the content converted to UTF-8, the
  byte-order mark trimmed (core_text::trim_utf8_bom), CR LF and CR made LF, the whole text trimmed,
  rows read with fgetcsv(delimiter, '"'); a blank line skipped; a row with another number of cells
  than the header fails the whole file (csvweirdcolumns). get_delimiter: comma, semicolon, colon, tab.
- grade/import/csv/classes/load_data.php, gradeimport_csv_load_data::prepare_import_grade_data:
  studentid reset once per file; per row every cell trimmed; the "Map from" column finds the user
  (map_user_data_with_value: skipped when PHP's empty() holds, i.e. '' or '0'; check_user_exists:
  an unknown value aborts everything, usermappingerror); a grade '' or '-' is "no grade", else
  unformat_float(value, true) or the import aborts (badgrade); a row with no user aborts
  (usermappingerrorusernotfound); insert_grade_record: a grade over 100 (gradepointmax with
  unlimitedgrades) aborts (gradevaluetoobig); "feedback_ID" columns go to an existing item only,
  "new" columns create a grade item.
- grade/import/lib.php, grade_import_commit, and lib/grade/grade_item.php, update_final_grade: each
  buffered grade in order (a second row for a user wins), the grade set as overridden on an
  activity's item, bounded_grade: cut to [grademin, grademax] (x10 with unlimitedgrades).
- lib/moodlelib.php, unformat_float: spaces removed, the language's decimal separator made '.',
  then is_numeric (strict) or PHP's (float) cast, which keeps a leading number ("8,5" -> 8).
- mod/assign/feedback/offline/importgradeslib.php and locallib.php (process_import_grades): the
  grading worksheet's columns found by their names in the uploader's language, the student by
  "Participant N", the grade with unformat_float (not strict), rows skipped when the grade is empty,
  negative, unchanged, above the assignment's maximum, locked, or older than Moodle's (unless
  ignoremodified); "Feedback comments" written unless the row is stale.

What is left out: scales, groups, locked items and outcomes; PHP's fgetcsv backslash escape.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field

_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")  # PHP 8 is_numeric on strings
_LEADING = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
DELIMITERS = {"comma": ",", "semicolon": ";", "colon": ":", "tab": "\t"}
ABORTED = "Import failed. No data was imported."


class ImportFailed(Exception):
    """The whole import stopped: nothing was written."""


def load_csv_content(text: str, *, delimiter: str = "comma") -> list[list[str]]:
    content = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").strip()
    rows = [row for row in csv.reader(io.StringIO(content, newline=""), delimiter=DELIMITERS[delimiter]) if row]
    if not rows:
        raise ImportFailed("csvemptyfile")
    if any(len(row) != len(rows[0]) for row in rows):
        raise ImportFailed("csvweirdcolumns")
    return rows


def php_float(text: str) -> float:
    """PHP's (float) cast of a string: its leading number, or 0."""
    match = _LEADING.match(text)
    return float(match.group(0)) if match else 0.0


def unformat_float(value: str, *, decsep: str, strict: bool) -> float | bool | None:
    value = value.strip()
    if value == "":
        return None
    value = value.replace(" ", "").replace(decsep, ".")
    if strict and not _NUMERIC.match(value):
        return False
    return php_float(value)


@dataclass
class Item:
    grademax: float = 10.0
    grademin: float = 0.0
    activity: bool = True  # an activity's grade item: an import overrides it


@dataclass
class Site:
    users: list[dict[str, str]]  # id, username, idnumber, email
    items: dict[int, Item]
    decsep: str = "."  # the uploader's language: '.' in English, ',' in Spanish
    unlimitedgrades: bool = False
    gradepointmax: float = 100.0
    grades: dict[tuple[str, int], float | None] = field(default_factory=dict)
    feedback: dict[tuple[str, int], str] = field(default_factory=dict)
    overridden: set[tuple[str, int]] = field(default_factory=set)

    def user(self, by: str, value: str) -> str | None:
        found = [u["id"] for u in self.users if u.get(by) == value]
        return found[0] if len(found) == 1 else None


USER_FIELDS = {"username": "username", "useridnumber": "idnumber", "useremail": "email"}


def _grade(site: Site, value: str) -> float | None:
    if value in {"", "-"}:
        return None
    number = unformat_float(value, decsep=site.decsep, strict=True)
    if number is False:
        raise ImportFailed("badgrade")
    assert not isinstance(number, bool)
    return number


def _row(site: Site, header: list[str], line: list[str], mapping: dict[str, str], state: dict[str, str | None]
         ) -> list[tuple[int, str, float | str | None]]:
    buffered: list[tuple[int, str, float | str | None]] = []
    for key, raw in enumerate(line):
        value, target = raw.strip(), mapping.get(header[key].strip(), "")
        if target in USER_FIELDS:
            if value not in {"", "0"}:  # PHP's empty()
                state["student"] = site.user(USER_FIELDS[target], value)
                if state["student"] is None:
                    raise ImportFailed(f"usermappingerror: {value}")
        elif target.startswith("feedback_"):
            buffered.append((int(target.split("_")[1]), "feedback", value))
        elif target.isdigit():
            buffered.append((int(target), "grade", _grade(site, value)))
    return buffered


def import_csv(text: str, site: Site, *, mapping: dict[str, str], delimiter: str = "comma") -> Site:
    """Moodle's CSV grade import; mapping: column header -> username|useridnumber|useremail, an item id, feedback_ID.

    Raises ImportFailed when Moodle would say "Import failed. No data was imported"; otherwise commits into site.
    """
    rows = load_csv_content(text, delimiter=delimiter)
    header, state = [h.strip() for h in rows[0]], {"student": None}
    limit = site.gradepointmax if site.unlimitedgrades else 100.0
    buffer: list[tuple[str, int, str, float | str | None]] = []
    for line in rows[1:]:
        if len(line) <= 1:
            continue
        cells = _row(site, header, line, mapping, state)
        student = state["student"]
        if student is None:
            raise ImportFailed("usermappingerrorusernotfound")
        for item, kind, value in cells:
            if kind == "grade" and isinstance(value, float) and value > limit:
                raise ImportFailed(f"gradevaluetoobig: {limit}")
            buffer.append((student, item, kind, value))
    for student, item_id, kind, value in buffer:
        item, key = site.items[item_id], (student, item_id)
        if kind == "feedback":
            site.feedback[key] = str(value)
        else:
            top = item.grademax * 10 if site.unlimitedgrades else item.grademax
            site.grades[key] = None if value is None else min(max(float(value), item.grademin), top)  # type: ignore[arg-type]
        if item.activity:
            site.overridden.add(key)
    return site


# ---- the assignment's grading worksheet --------------------------------------------------------------
WORKSHEET_STRINGS = {
    "en": {"recordid": "Identifier", "hiddenuser": "Participant ", "grade": "Grade",
           "lastmodifiedgrade": "Last modified (grade)", "feedback": "Feedback comments"},
    "es": {"recordid": "Identificador", "hiddenuser": "Participante ", "grade": "Calificación",
           "lastmodifiedgrade": "Última modificación (calificación)", "feedback": "Comentarios de retroalimentación"},
}


@dataclass
class Assignment:
    maxgrade: float
    participants: dict[str, str]  # the number in "Participant N" -> user id
    grades: dict[str, tuple[float, dt.datetime]] = field(default_factory=dict)  # with when it was graded
    feedback: dict[str, str] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)
    decsep: str = "."
    skipped: dict[str, str] = field(default_factory=dict)


def strtotime(text: str) -> float:
    """The seconds PHP's strtotime gives for the worksheet's dates: an ISO 8601 time, else false (0)."""
    try:
        return dt.datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        return 0.0


def upload_worksheet(text: str, assignment: Assignment, *, lang: str = "en", ignoremodified: bool = False) -> Assignment:
    """process_import_grades: the worksheet's grades and feedback comments into the assignment."""
    strings = WORKSHEET_STRINGS[lang]
    rows = load_csv_content(text)
    header = rows[0]
    index = {key: header.index(strings[key]) if strings[key] in header else -1
             for key in ("recordid", "grade", "lastmodifiedgrade", "feedback")}
    if min(index["recordid"], index["grade"], index["lastmodifiedgrade"]) < 0:
        raise ImportFailed("invalidgradeimport")
    for record in rows[1:]:
        user = assignment.participants.get(record[index["recordid"]][len(strings["hiddenuser"]):])
        if user is None:
            continue
        grade = unformat_float(record[index["grade"]], decsep=assignment.decsep, strict=False)
        modified = strtotime(record[index["lastmodifiedgrade"]])
        current = assignment.grades.get(user)
        stale = current is not None and current[1].timestamp() > modified + 60
        reason = _skip(assignment, user, grade, current, stale=stale and not ignoremodified)
        if reason:
            assignment.skipped[user] = reason
        else:
            assert isinstance(grade, float)
            assignment.grades[user] = (grade, dt.datetime.now(dt.UTC))
        written = index["feedback"] > 0 and (ignoremodified or not stale)
        if written and record[index["feedback"]] != assignment.feedback.get(user, ""):
            assignment.feedback[user] = record[index["feedback"]]
    return assignment


def _skip(assignment: Assignment, user: str, grade: float | bool | None, current: tuple[float, dt.datetime] | None, *,
          stale: bool) -> str:
    if current is not None and current[0] == grade:
        return "grade not modified"
    if grade is None or isinstance(grade, bool) or grade < 0:
        return "grade has no value"
    if stale:
        return "grade has been modified in Moodle"
    if user in assignment.locked:
        return "grade is locked"
    if grade > assignment.maxgrade:
        return "out of range"
    return ""
