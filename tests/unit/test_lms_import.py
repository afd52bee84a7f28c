"""The export's files replayed through re-implementations of the LMSs' own importers (export_fixtures/moodle.py, canvas.py).

Each case builds a class, runs `harness export` (or `harness gradebook`) as an instructor would,
and imports what it wrote the way Moodle or Canvas does: every grade must land on its own
student, nothing may abort, and every student left out must be in not-imported.csv with why.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.grading.grades import GradeScale, decimal
from harness.grading.late import parse_late_penalty
from tests.unit.export_fixtures import canvas, moodle

LAB_ITEM = 7  # the lab's grade item in the Moodle course
FINAL_ITEM = 9
DEADLINE = dt.datetime(2026, 12, 1, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def exercise(score: float, max_score: float) -> dict[str, Any]:
    status = "passed" if score == max_score else "partial" if score else "failed"
    return {"id": "e1", "title": "ejercicio", "status": status, "score": score, "max_score": max_score, "message": ""}


def write_report(folder: Path, lab: str, scores: dict[str, tuple[float, float]], *, collection: Path | None = None) -> Path:
    """reports/grade-LAB.json with one single-exercise submission per student; notebooks from `collection`."""
    submissions = [{"lab": lab, "name": name, "status": "ok", "score": score, "max_score": top,
                    "notebook": str((collection or folder / "entregas") / f"{name}.ipynb"),
                    "exercises": [exercise(score, top)]} for name, (score, top) in scores.items()]
    path = folder / f"grade-{lab}.json"
    path.write_text(json.dumps({"schema": "dl-lab.grading-report/1", "submissions": submissions}), encoding="utf-8")
    return path


def write_roster(path: Path, rows: list[dict[str, str]]) -> Path:
    columns = ["user", "login", "identifier", "email", "name", "canvas_id", "sis_user_id"]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows([{c: row.get(c, "") for c in columns} for row in rows])
    return path


def export(tmp_path: Path, *arguments: str) -> Path:
    out = tmp_path / "out"
    code = main(["export", "00", "--reports", str(tmp_path), "--out", str(out), *arguments])
    assert code == 0, "the export failed"
    return out


def table(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline=""), delimiter=delimiter))


def site(*users: tuple[str, str, str, str], grademax: float = 10.0) -> moodle.Site:
    """A Moodle course: (id, username, idnumber, email) per student, the lab's item and a final item."""
    return moodle.Site(users=[{"id": i, "username": u, "idnumber": n, "email": e} for i, u, n, e in users],
                       items={LAB_ITEM: moodle.Item(grademax=grademax), FINAL_ITEM: moodle.Item(activity=False)})


MAP_LAB = {"Práctica 00: Introducción a PyTorch": str(LAB_ITEM), "Feedback": f"feedback_{LAB_ITEM}"}
CLASS = [("u1", "ana", "11111111A", "ana@uni.es"), ("u2", "bea", "22222222B", ""), ("u3", "carlos", "33333333C", "carlos@uni.es")]
ROSTER = [{"user": "ana", "identifier": "11111111A", "email": "ana@uni.es", "name": "Ana"},
          {"user": "bea", "identifier": "22222222B", "email": "", "name": "Bea"},
          {"user": "carlos", "identifier": "33333333C", "email": "carlos@uni.es", "name": "Carlos"}]


# ---- the importer copies reproduce what the LMSs do --------------------------------------------------
def test_moodle_gives_a_blank_identifiers_grade_to_the_student_above() -> None:
    """The failure of the old moodle.csv, replayed: mapped from email, a blank email's 4.95 replaces 8.12."""
    old = ("Identifier,Email address,Full name,Práctica 00: Introducción a PyTorch,Feedback\r\n"
           "ana,ana@uni.es,Ana,8.12,x\r\nbea,,Bea,4.95,y\r\n")
    imported = moodle.import_csv(old, site(*CLASS), mapping={"Email address": "useremail", **MAP_LAB})
    assert imported.grades == {("u1", LAB_ITEM): 4.95}, "the copy of Moodle's importer no longer misassigns"


@pytest.mark.parametrize(("text", "failure"), [
    ("Username,G\r\nnadie,5\r\n", "usermappingerror"),
    ("Username,G\r\nana,150\r\n", "gradevaluetoobig"),
    ("Username,G\r\nana,\"8,5\"\r\n", "badgrade"),  # an English Moodle: a decimal comma is not a number
    ("Username,G\r\nana,5,extra\r\n", "csvweirdcolumns"),
])
def test_moodle_aborts_the_whole_import(text: str, failure: str) -> None:
    with pytest.raises(moodle.ImportFailed, match=failure):
        moodle.import_csv(text, site(*CLASS), mapping={"Username": "username", "G": str(LAB_ITEM)})


def test_moodle_cuts_a_grade_above_the_item_maximum_silently() -> None:
    imported = moodle.import_csv("Username,G\r\nana,40\r\n", site(*CLASS), mapping={"Username": "username",
                                                                                   "G": str(LAB_ITEM)})
    assert imported.grades[("u1", LAB_ITEM)] == 10.0 and ("u1", LAB_ITEM) in imported.overridden


# ---- moodle.csv imports whole and never misassigns -------------------------------------------------------
@pytest.mark.parametrize(("moodle_id", "column", "mapto", "left_out"), [
    ("email", "Email address", "useremail", {"bea"}),  # bea has no email: left out, not given to ana
    ("idnumber", "ID number", "useridnumber", set()),
    ("username", "Username", "username", set()),
])
def test_moodle_csv_gives_each_grade_to_its_student(tmp_path: Path, moodle_id: str, column: str, mapto: str,
                                                    left_out: set[str]) -> None:
    write_report(tmp_path, "00", {"ana": (8.12, 10.0), "bea": (4.95, 10.0), "carlos": (7.0, 10.0)})
    roster = write_roster(tmp_path / "roster.csv", [{**r, "login": r["user"]} for r in ROSTER])
    out = export(tmp_path, "--roster", str(roster), "--moodle-id", moodle_id, "--decimals", "2")
    header = (out / "moodle.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header.split(",")[0] == column and "Email address" not in header.split(",")[1:], header
    imported = moodle.import_csv((out / "moodle.csv").read_text(encoding="utf-8"), site(*CLASS),
                                 mapping={column: mapto, **MAP_LAB})
    expected = {"u1": 8.12, "u2": 4.95, "u3": 7.0}
    assert imported.grades == {(u, LAB_ITEM): g for u, g in expected.items() if u != "u2" or not left_out}
    assert {row["user"] for row in table(out / "not-imported.csv", ";") if row["file"] == "moodle.csv"} == left_out


@pytest.mark.parametrize(("roster", "reason"), [
    ([*ROSTER[:2]], "not in the roster"),  # carlos graded, missing from the roster
    ([*ROSTER[:2], {**ROSTER[2], "login": "-carlos"}], "starts like a formula"),  # needs an apostrophe
    ([*ROSTER[:2], {**ROSTER[2], "login": "ana"}], "belongs to more than one student"),
])
def test_rows_that_would_abort_or_misassign_go_to_not_imported(tmp_path: Path, roster: list[dict[str, str]],
                                                               reason: str) -> None:
    write_report(tmp_path, "00", {"ana": (8.0, 10.0), "bea": (4.0, 10.0), "carlos": (7.0, 10.0)})
    path = write_roster(tmp_path / "roster.csv", roster)
    out = export(tmp_path, "--roster", str(path))
    imported = moodle.import_csv((out / "moodle.csv").read_text(encoding="utf-8"), site(*CLASS),
                                 mapping={"Username": "username", **MAP_LAB})  # no ImportFailed: it imports whole
    assert imported.grades[("u2", LAB_ITEM)] == 4.0
    assert ("u3", LAB_ITEM) not in imported.grades, "carlos's row was written"
    rows = [r for r in table(out / "not-imported.csv", ";") if r["file"] == "moodle.csv"]
    assert {r["user"] for r in rows} >= {"carlos"} and any(reason in r["reason"] for r in rows), rows


def test_a_grade_outside_the_range_is_left_out(tmp_path: Path) -> None:
    write_report(tmp_path, "00", {"ana": (11.0, 10.0), "bea": (4.0, 10.0)})  # a bonus above the maximum
    out = export(tmp_path)
    rows = table(out / "not-imported.csv", ";")
    assert [(r["file"], r["user"]) for r in rows] == [("moodle.csv", "ana"), ("canvas.csv", "ana")], rows
    assert "outside 0–10" in rows[0]["reason"]


@pytest.mark.parametrize(("arguments", "item_max", "expected"), [
    ([], 10.0, 7.5),  # a 40-point lab, out of 10 by default
    (["--scale", "points"], 40.0, 30.0),  # its points into a 0–40 item
])
def test_a_forty_point_lab_fits_its_grade_item(tmp_path: Path, arguments: list[str], item_max: float,
                                               expected: float) -> None:
    write_report(tmp_path, "00", {"ana": (30.0, 40.0)})
    out = export(tmp_path, *arguments)
    imported = moodle.import_csv((out / "moodle.csv").read_text(encoding="utf-8"), site(*CLASS, grademax=item_max),
                                 mapping={"Username": "username", **MAP_LAB})
    assert imported.grades[("u1", LAB_ITEM)] == expected


# ---- Spanish grading rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("points", "max_points", "decimals", "expected"), [
    (8.125, 10.0, 1, "8.1"), (2.005, 10.0, 1, "2.0"), (8.125, 10.0, 2, "8.13"), (2.005, 10.0, 2, "2.01"),
    (8.15, 10.0, 1, "8.2"), (4.95, 10.0, 1, "5.0"), (13.0, 16.0, 1, "8.1"), (13.0, 16.0, 2, "8.13"),
    (2.675, 10.0, 2, "2.68"), (1.3333, 4.0, 1, "3.3"), (0.0, 10.0, 1, "0.0"), (10.0, 10.0, 0, "10"),
])
def test_halves_round_up_in_decimal_arithmetic(points: float, max_points: float, decimals: int, expected: str) -> None:
    assert str(GradeScale(decimals=decimals).grade(decimal(points), decimal(max_points))) == expected


def test_rounded_grades_reach_moodle_as_recorded(tmp_path: Path) -> None:
    write_report(tmp_path, "00", {"ana": (8.125, 10.0), "bea": (2.005, 10.0)})
    out = export(tmp_path)
    imported = moodle.import_csv((out / "moodle.csv").read_text(encoding="utf-8"), site(*CLASS),
                                 mapping={"Username": "username", **MAP_LAB})
    assert imported.grades == {("u1", LAB_ITEM): 8.1, ("u2", LAB_ITEM): 2.0}
    assert imported.feedback[("u1", LAB_ITEM)] == "Nota: 8,1 de 10 (8,125 de 10 puntos). Ejercicios superados: 0 de 1."


def test_no_presentado(tmp_path: Path) -> None:
    """A roster student without a notebook: no grade in either LMS, No presentado in Moodle's feedback and the records."""
    write_report(tmp_path, "00", {"ana": (8.0, 10.0)})
    roster = write_roster(tmp_path / "roster.csv", [{**r, "login": r["user"], "canvas_id": str(i)}
                                                    for i, r in enumerate(ROSTER[:2], 1)])
    out = export(tmp_path, "--roster", str(roster))
    imported = moodle.import_csv((out / "moodle.csv").read_text(encoding="utf-8"), site(*CLASS),
                                 mapping={"Username": "username", **MAP_LAB})
    assert imported.grades[("u2", LAB_ITEM)] is None and imported.feedback[("u2", LAB_ITEM)] == "No presentado"
    course = canvas.Course(students=[canvas.Student(1, "Ana"), canvas.Student(2, "Bea")],
                           assignments={4711: "Práctica 00: Introducción a PyTorch"})
    grades = canvas.import_gradebook((out / "canvas.csv").read_bytes(), course).grades
    assert grades == {1: {4711: "8.0"}, 2: {4711: ""}}
    records = {r["user"]: r["record"] for r in table(out / "grades.csv", ";")}
    assert records == {"ana": "8,0", "bea": "No presentado"}
    assert not (out / "feedback" / "bea.md").exists()


# ---- Canvas ------------------------------------------------------------------------------------------------
def test_canvas_csv_imports_onto_its_students(tmp_path: Path) -> None:
    write_report(tmp_path, "00", {"ana": (8.125, 10.0), "bea": (4.0, 10.0), "carlos": (10.0, 10.0)})
    roster = write_roster(tmp_path / "roster.csv", [
        {"user": "ana", "canvas_id": "101", "name": "Ana Díaz"},  # by ID
        {"user": "bea", "sis_user_id": "S2", "name": "Bea"},  # by SIS User ID
        {"user": "carlos", "login": "carlos.c", "name": "Carlos"}])  # by SIS Login ID
    out = export(tmp_path, "--roster", str(roster), "--canvas-assignment-id", "4711")
    course = canvas.Course(students=[canvas.Student(101, "Ana Díaz"), canvas.Student(102, "Bea", sis_user_id="S2"),
                                     canvas.Student(103, "Carlos", login="carlos.c")],
                           assignments={4711: "Práctica 00: Introducción a PyTorch"})
    imported = canvas.import_gradebook((out / "canvas.csv").read_bytes(), course)
    assert imported.grades == {101: {4711: "8.1"}, 102: {4711: "4.0"}, 103: {4711: "10.0"}}
    assert imported.points_possible == {4711: "10"} and not imported.new_students and not imported.new_assignments


# ---- Excel-ready files ---------------------------------------------------------------------------------------
def test_the_instructors_csvs_open_in_spanish_excel(tmp_path: Path) -> None:
    write_report(tmp_path, "00", {"ana": (2.4, 3.0), "bea": (1.3333, 3.0)})
    out = export(tmp_path)
    raw = (out / "statistics.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a byte-order mark, so Excel reads UTF-8"
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert rows[0][:4] == ["exercise", "title", "max_score", "submissions"] and rows[1][5:7] == ["0,000", "1,867"], rows
    grades = table(out / "grades.csv", ";")
    assert [(g["points"], g["grade"]) for g in grades] == [("2,4", "8,0"), ("1,3333", "4,4")]


def test_xlsx_holds_numbers_and_text(tmp_path: Path) -> None:
    write_report(tmp_path, "00", {"=1+1": (2.4, 3.0), "bea": (1.5, 3.0)})
    out = export(tmp_path, "--excel", "xlsx")
    book = openpyxl.load_workbook(out / "export.xlsx")
    assert book.sheetnames == ["grades", "exercises", "statistics", "not-imported", "evidence", "similarity"]
    grades = list(book["grades"].iter_rows(values_only=True))
    assert grades[0][:3] == ("user", "name", "status")
    assert grades[1][0] == "=1+1" and book["grades"]["A2"].data_type == "s", "a name is text, never a formula"
    assert grades[1][8] == 8 and grades[2][8] == 5 and grades[1][10] == "8,0", grades
    assert (out / "grades.csv").read_text(encoding="utf-8-sig").startswith("user,name,"), "--excel xlsx: plain CSVs too"


# ---- late penalties from the collection's manifest ----------------------------------------------------------
def write_collection(folder: Path, handed_in: dict[str, dt.timedelta | None]) -> Path:
    """A `harness collect` folder: the deadline, each notebook's time (None: missing)."""
    folder.mkdir(parents=True)
    students = [{"user": user, "status": "missing" if late is None else "collected", "late": None if late is None
                 else late > dt.timedelta(0), "mtime": None if late is None else (DEADLINE + late).isoformat()}
                for user, late in handed_in.items()]
    (folder / "manifest.json").write_text(json.dumps({"schema": "dl-lab.collect/1", "deadline": DEADLINE.isoformat(),
                                                      "students": students}), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("rule", "late", "points", "expected"), [
    ("10%/day", dt.timedelta(minutes=5), 8.0, "7.0"),
    ("10%/day", dt.timedelta(hours=25), 8.0, "6.0"),
    ("10%/day", dt.timedelta(minutes=-5), 8.0, "8.0"),
    ("10%/day", dt.timedelta(days=30), 8.0, "0.0"),
    ("10%/day,min=50%", dt.timedelta(days=30), 8.0, "5.0"),
    ("10%/day,min=50%", dt.timedelta(days=3), 4.0, "4.0"),  # never lowers a grade already below the minimum
    ("2,5%/hour", dt.timedelta(hours=2, minutes=1), 8.0, "7.3"),
])
def test_late_penalty_as_canvas_computes_it(tmp_path: Path, rule: str, late: dt.timedelta, points: float,
                                            expected: str) -> None:
    collection = write_collection(tmp_path / "collected" / "00-20261202-000000", {"ana": late})
    write_report(tmp_path, "00", {"ana": (points, 10.0)}, collection=collection)
    out = export(tmp_path, "--late-penalty", rule)
    assert (out / "moodle.csv").read_text(encoding="utf-8").splitlines()[1].split(",")[2] == expected
    grades = table(out / "grades.csv", ";")[0]
    feedback = (out / "feedback" / "ana.md").read_text(encoding="utf-8")
    if late > dt.timedelta(0) and expected != f"{points:.1f}":
        assert grades["late_penalty"] != "0" and "Penalización por retraso" in feedback, (grades, feedback)
        assert "fuera de plazo" in feedback and "Penalización por retraso" in (out / "moodle.csv").read_text()
    else:
        assert grades["late_penalty"] == "0" and "Penalización" not in feedback


def test_a_late_penalty_needs_a_deadline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(tmp_path, "00", {"ana": (8.0, 10.0)})
    code = main(["export", "00", "--reports", str(tmp_path), "--late-penalty", "10%/day"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "harness collect --deadline" in err and len(err.splitlines()) == 1, err


@pytest.mark.parametrize("rule", ["10", "10%", "10%/week", "150%/day", "10%/day,min=", "diez%/day"])
def test_late_penalty_mistakes_say_what_to_write(rule: str) -> None:
    with pytest.raises(HarnessError, match="--late-penalty"):
        parse_late_penalty(rule)


def test_the_no_show_of_a_collection_is_no_presentado(tmp_path: Path) -> None:
    collection = write_collection(tmp_path / "collected" / "00-x", {"ana": dt.timedelta(0), "bea": None,
                                                                    "carlos": dt.timedelta(0)})
    manifest = json.loads((collection / "manifest.json").read_text())
    manifest["students"][2]["status"] = "invalid"  # carlos handed in a file that is not a notebook
    (collection / "manifest.json").write_text(json.dumps(manifest))
    write_report(tmp_path, "00", {"ana": (8.0, 10.0)}, collection=collection)
    out = export(tmp_path, "--late-penalty", "10%/day", "--fill", str(worksheet_for(tmp_path)))
    assert (out / "moodle.csv").read_text(encoding="utf-8").splitlines()[1:] == [
        "ana,ana,8.0,\"Nota: 8,0 de 10 (8 de 10 puntos). Ejercicios superados: 0 de 1.\"", "bea,bea,,No presentado"]
    left_out = table(out / "not-imported.csv", ";")
    assert {(r["file"], r["user"]) for r in left_out} == {("moodle.csv", "carlos"), ("canvas.csv", "carlos")}
    assert "not a notebook" in left_out[0]["reason"]
    assert {r["user"]: r["record"] for r in table(out / "grades.csv", ";")} == {
        "ana": "8,0", "bea": "No presentado", "carlos": "sin calificar: no es un cuaderno"}
    worksheet = [row[-1] for row in csv.reader(io.StringIO((out / "w-filled.csv").read_text(encoding="utf-8")))]
    assert worksheet[2:] == ["<p>No presentado</p>", ""], "bea handed in nothing; carlos's file is graded by hand"


def worksheet_for(folder: Path) -> Path:
    path = folder / "w.csv"
    path.write_text(MOODLE_WORKSHEET["en"] + "".join(f"Participant {i},{n},{n}@uni.es,x,,10.00,Yes,-,-,\r\n"
                                                     for i, n in enumerate(["ana", "bea", "carlos"], 1)), "utf-8")
    return path


# ---- the LMSs' own worksheets, filled -------------------------------------------------------------------------
MOODLE_WORKSHEET = {
    "en": ("Identifier,Full name,Email address,Status,Grade,Maximum grade,Grade can be changed,"
           "Last modified (submission),Last modified (grade),Feedback comments\r\n"),
    "es": ("Identificador,Nombre completo,Dirección de correo,Estado,Calificación,Calificación máxima,"
           "La calificación puede ser cambiada,Última modificación (entrega),Última modificación (calificación),"
           "Comentarios de retroalimentación\r\n"),
}


@pytest.mark.parametrize(("lang", "maximum", "hiddenuser"), [("en", "10.00", "Participant "), ("es", "10,00", "Participante ")])
def test_a_moodle_grading_worksheet_filled_and_uploaded(tmp_path: Path, lang: str, maximum: str, hiddenuser: str) -> None:
    write_report(tmp_path, "00", {"ana": (8.125, 10.0), "carlos": (10.0, 10.0), "dani": (5.0, 10.0)})
    roster = write_roster(tmp_path / "roster.csv", [*ROSTER, {"user": "dani", "email": "dani@uni.es", "name": "Dani"}])
    rows = [(f"{hiddenuser}1", "Ana", "ana@uni.es"), (f"{hiddenuser}2", "Bea", "bea@uni.es"),
            (f"{hiddenuser}3", "Carlos", "carlos@uni.es")]
    worksheet = tmp_path / "Calificaciones-Practica00.csv"
    worksheet.write_bytes(("\ufeff" + MOODLE_WORKSHEET[lang] + "".join(
        f'{i},{n},{e},Enviado,,"{maximum}",Sí,"lunes, 1 de diciembre de 2026",-,\r\n' for i, n, e in rows)).encode())
    out = export(tmp_path, "--roster", str(roster), "--fill", str(worksheet))
    filled = (out / "Calificaciones-Practica00-filled.csv").read_text(encoding="utf-8")
    assignment = moodle.upload_worksheet(filled, moodle.Assignment(maxgrade=10.0, participants={"1": "u1", "2": "u2",
                                                                                                "3": "u3"},
                                                                   decsep="," if lang == "es" else "."), lang=lang)
    assert {u: g for u, (g, _) in assignment.grades.items()} == {"u1": 8.1, "u3": 10.0}
    assert assignment.feedback["u2"] == "<p>No presentado</p>" and "u2" not in assignment.grades
    assert assignment.feedback["u1"].startswith("<ul>") and "<li><strong>Nota:</strong> 8,1 de 10" in assignment.feedback["u1"]
    missing = [r for r in table(out / "not-imported.csv", ";") if r["file"].endswith("-filled.csv")]
    assert [r["user"] for r in missing] == ["dani"], "our student missing from the worksheet is listed"
    assert (out / "Calificaciones-Practica00-filled.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_worksheet_of_another_maximum_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_report(tmp_path, "00", {"ana": (8.0, 10.0)})
    worksheet = tmp_path / "w.csv"
    worksheet.write_text(MOODLE_WORKSHEET["en"] + "Participant 1,Ana,ana@uni.es,x,,100.00,Yes,-,-,\r\n", encoding="utf-8")
    code = main(["export", "00", "--reports", str(tmp_path), "--out", str(tmp_path / "o"), "--fill", str(worksheet)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "maximum grade is 100.00" in err and "--scale 100" in err, err


@pytest.mark.parametrize(("delimiter", "bom"), [(",", False), (";", True)])
def test_a_canvas_gradebook_export_filled_and_imported(tmp_path: Path, delimiter: str, bom: bool) -> None:
    write_report(tmp_path, "00", {"ana": (8.125, 10.0), "bea": (4.0, 10.0)})
    roster = write_roster(tmp_path / "roster.csv", [{"user": "ana", "canvas_id": "101", "name": "Ana"},
                                                    {"user": "bea", "login": "bea.b", "name": "Bea"}])
    d = delimiter
    decimal_mark = "," if d == ";" else "."
    exported = (f"Student{d}ID{d}SIS User ID{d}SIS Login ID{d}Section{d}Práctica 00: Introducción a PyTorch (4711)"
                f"{d}Práctica 01 (4712){d}Current Score{d}Final Score\r\n"
                f"    Points Possible{d}{d}{d}{d}{d}10{d}20{d}(read only){d}(read only)\r\n"
                f"Ana{d}101{d}S1{d}ana.a{d}A{d}{d}\"15{decimal_mark}5\"{d}77{d}77\r\n"
                f"Bea{d}102{d}S2{d}bea.b{d}A{d}3{d}{d}0{d}0\r\n"
                f"Carmen{d}103{d}S3{d}carmen{d}A{d}{d}12{d}60{d}60\r\n")
    path = tmp_path / "2026-12-02T1000_Notas-DL.csv"
    path.write_bytes((("\ufeff" if bom else "") + exported).encode())
    out = export(tmp_path, "--roster", str(roster), "--fill", str(path))
    filled = (out / "2026-12-02T1000_Notas-DL-filled.csv").read_bytes()
    assert filled.startswith(b"\xef\xbb\xbf") == bom
    course = canvas.Course(students=[canvas.Student(101, "Ana"), canvas.Student(102, "Bea", login="bea.b"),
                                     canvas.Student(103, "Carmen")], assignments={4711: "Práctica 00: Introducción a PyTorch",
                                                                                 4712: "Práctica 01"})
    imported = canvas.import_gradebook(filled, course)
    assert imported.grades == {101: {4711: "8.1", 4712: "15.5"}, 102: {4711: "4.0", 4712: ""},
                               103: {4711: "", 4712: "12"}}, "only the lab's column changed"
    assert imported.points_possible[4711] == "10"


@pytest.mark.parametrize(("content", "expected"), [
    ("nombre,nota\r\nana,5\r\n", "--fill takes a Moodle grading worksheet"),
    ("Student,ID,SIS Login ID,Section,Otra (1)\r\nAna,1,ana,A,3\r\n", "no assignment column for 'Práctica 00"),
])
def test_fill_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                    expected: str) -> None:
    write_report(tmp_path, "00", {"ana": (8.0, 10.0)})
    (tmp_path / "f.csv").write_text(content, encoding="utf-8")
    code = main(["export", "00", "--reports", str(tmp_path), "--out", str(tmp_path / "o"), "--fill", str(tmp_path / "f.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and len(err.splitlines()) == 1, err


# ---- the course gradebook ---------------------------------------------------------------------------------
def three_labs(tmp_path: Path) -> Path:
    write_report(tmp_path, "00", {"ana": (10.0, 10.0), "bea": (4.0, 10.0), "carlos": (8.0, 10.0)})
    write_report(tmp_path, "01", {"ana": (15.0, 30.0), "bea": (30.0, 30.0)})  # carlos: no lab 01
    write_report(tmp_path, "02", {"ana": (16.0, 20.0), "bea": (9.9, 20.0)})
    write_roster(tmp_path / "roster.csv", [{**r, "login": r["user"]} for r in ROSTER] +
                          [{"user": "dani", "login": "dani", "name": "Dani"}])
    course = tmp_path / "course.toml"
    course.write_text('title = "Aprendizaje profundo"\nfinal_item = "Nota final"\nroster = "roster.csv"\n'
                      '[[labs]]\nid = "00"\nweight = 20\n[[labs]]\nid = "01"\nweight = 30\n'
                      '[[labs]]\nid = "02"\nweight = 50\ncanvas_assignment_id = "4713"\n', encoding="utf-8")
    return course


def test_a_three_lab_gradebook_with_weights(tmp_path: Path) -> None:
    course = three_labs(tmp_path)
    out = tmp_path / "gradebook"
    assert main(["gradebook", str(course), "--reports", str(tmp_path), "--out", str(out), "--no-plot"]) == 0
    book = {r["user"]: r for r in table(out / "gradebook.csv", ";")}
    # ana 10, 5, 8 -> 0.2*10 + 0.3*5 + 0.5*8 = 7.5; bea 4, 10, 5.0 (4.95 up) -> 0.8 + 3 + 2.5 = 6.3; carlos 8 -> 1.6
    assert {u: (r["course_grade"], r["record"], r["qualitative"]) for u, r in book.items()} == {
        "ana": ("7,5", "7,5", "Notable"), "bea": ("6,3", "6,3", "Aprobado"), "carlos": ("1,6", "1,6", "Suspenso"),
        "dani": ("", "No presentado", "")}
    site_ = moodle.Site(users=[{"id": f"u{i}", "username": u} for i, u in enumerate(["ana", "bea", "carlos", "dani"])],
                        items={i: moodle.Item() for i in (1, 2, 3)} | {FINAL_ITEM: moodle.Item(activity=False)})
    titles = ["Práctica 00: Introducción a PyTorch", "Práctica 01: Perceptrón multicapa",
              "Práctica 02: Redes convolucionales"]
    mapping = {"Username": "username", **{t: str(i) for i, t in enumerate(titles, 1)}, "Nota final": str(FINAL_ITEM),
               "Feedback": f"feedback_{FINAL_ITEM}"}
    imported = moodle.import_csv((out / "moodle.csv").read_text(encoding="utf-8"), site_, mapping=mapping)
    assert {u: imported.grades[(u, FINAL_ITEM)] for u in ("u0", "u1", "u2", "u3")} == {
        "u0": 7.5, "u1": 6.3, "u2": 1.6, "u3": None}
    assert imported.grades[("u2", 2)] is None and imported.feedback[("u3", FINAL_ITEM)] == "No presentado"
    assert imported.feedback[("u0", FINAL_ITEM)] == "7,5 (Notable)"
    statistics = {r["item"]: r for r in table(out / "statistics.csv", ";")}
    assert statistics["course"]["presented"] == "3" and statistics["course"]["no_shows"] == "1"
    assert statistics["01"]["no_shows"] == "2" and statistics["00"]["weight"] == "0,2"
    assert statistics["course"]["suspenso"] == "1"
    assert statistics["course"]["aprobado"] == "1"
    assert statistics["course"]["notable"] == "1"
    columns = (out / "canvas.csv").read_text(encoding="utf-8").splitlines()[0]
    assert columns.endswith("Práctica 02: Redes convolucionales (4713),Nota final"), columns


@pytest.mark.parametrize(("content", "expected"), [
    ("[[labs]]\nid = \"00\"\n", "weight must be a positive number"),
    ("[[labs]]\nid = \"00\"\nweight = 1\n[[labs]]\nid = \"00\"\nweight = 2\n", "a lab is listed twice"),
    ("labs = []\n", "no labs"),
    ("tittle = \"x\"\n[[labs]]\nid = \"00\"\nweight = 1\n", "unknown key(s) tittle"),
    ("[[labs]]\nid = \"05\"\nweight = 1\n", "grade-05.json: no such report"),
    ("[labs\n", "not a TOML file"),
])
def test_course_file_mistakes_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str,
                                           expected: str) -> None:
    (tmp_path / "course.toml").write_text(content, encoding="utf-8")
    code = main(["gradebook", str(tmp_path / "course.toml"), "--reports", str(tmp_path), "--no-plot"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and len(err.splitlines()) == 1, err


def test_decimal_spellings() -> None:
    assert decimal(8.125) == Decimal("8.125") and decimal(10.0) == Decimal(10)
