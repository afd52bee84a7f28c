"""`harness export LAB`: from a grading report, the files Moodle and Canvas import, statistics and feedback.

Reads reports/grade-LAB.json (or --report) and writes into reports/export-LAB/ (or --out):
moodle.csv and canvas.csv (grade imports), exercises.csv (one row per student and exercise),
statistics.csv (per exercise: pass rate, mean score, most frequent message; also shown as a
table) and feedback/<student>.md and .html (each student's result, in Spanish). Without --roster
the hub user name identifies the student in the LMS; a roster (CSV: user,identifier[,email,name,
section,canvas_id,sis_user_id,login]) maps it to the LMS's identifiers. --out-of 10 rescales the
grades to 10 points.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.config import REPORTS_DIR
from harness.course import catalog
from harness.errors import HarnessError
from harness.grading.export import ExerciseStatistics, ExportSettings, export, read_report, read_roster
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="grade CSVs for Moodle and Canvas, statistics and feedback from a report",
                                   description=__doc__)
    parser.add_argument("lab", nargs="?", metavar="LAB", help="the lab (e.g. 00): reads REPORTS/grade-LAB.json")
    parser.add_argument("--report", type=Path, metavar="JSON", help="the grading report to export (instead of LAB's)")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR",
                        help="where the grading reports are (default: reports/)")
    parser.add_argument("--roster", type=Path, metavar="CSV",
                        help="hub user name to LMS identifiers: columns user,identifier[,email,name,section,canvas_id,"
                             "sis_user_id,login]")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the files go (default: REPORTS/export-LAB/)")
    parser.add_argument("--out-of", type=float, metavar="N", help="rescale the grades to N points (default: the lab's points)")
    parser.add_argument("--canvas-assignment-id", default="", metavar="ID",
                        help="the Canvas assignment's id, so the column updates it (default: matched by its title)")
    parser.set_defaults(handler=handle)


def lab_title(lab_id: str) -> str:
    try:
        lab = catalog.find_lab(lab_id)
    except HarnessError:
        return f"Práctica {lab_id}"
    return f"Práctica {lab.id}: {lab.title}"


def print_statistics(console: Console, rows: list[ExerciseStatistics], *, title: Text) -> None:
    table = Table(title=title, title_justify="left")
    for column, justify in (("exercise", "left"), ("passed", "right"), ("pass rate", "right"), ("mean", "right"),
                            ("most frequent message", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        message = Text(row.most_frequent_message[:100])
        if row.most_frequent_count:
            message.append(f"  (×{row.most_frequent_count})", style="dim")
        table.add_row(Text(f"{row.id}: {row.title}"), f"{row.passed}/{row.submissions}", f"{row.pass_rate:.0%}",
                      f"{row.mean_score:.2f}/{row.max_score:g}", message)
    console.print(table)


def warn(console: Console, what: str, names: list[str]) -> None:
    if names:
        text = Text(f"{what}: ", style="yellow")
        text.append(", ".join(names))
        console.print(text)


def handle(args: argparse.Namespace) -> int:
    if not args.lab and not args.report:
        raise HarnessError("say which lab to export (harness export 00) or which report (--report reports/grade-00.json)")
    if args.out_of is not None and (not math.isfinite(args.out_of) or args.out_of <= 0):
        raise HarnessError(f"--out-of is the grade's maximum, a positive number (e.g. 10), not {args.out_of}")
    wanted = catalog.find_lab(args.lab).id if args.lab else None
    report = read_report(args.report or args.reports / f"grade-{wanted}.json")
    if wanted and report.lab and report.lab != wanted:
        raise HarnessError(f"{report.path} grades lab {report.lab}, not lab {wanted}: give the right LAB or --report")
    lab_id = wanted or report.lab
    people = read_roster(args.roster) if args.roster else None
    settings = ExportSettings(lab_title=lab_title(lab_id), out_of=args.out_of,
                              canvas_assignment_id=str(args.canvas_assignment_id).strip())
    out = args.out or args.reports / f"export-{lab_id}"
    result = export(report, out=out, settings=settings, people=people)
    print_statistics(Console(), result.statistics, title=Text(f"{settings.lab_title}: {len(report.students)} student(s)"))
    err = stderr_console()
    warn(err, "not in the roster (exported under their hub user name)", result.not_in_roster)
    warn(err, "in the roster without a graded notebook (left out of the LMS files)", result.without_submission)
    warn(err, "identifiers that start like a formula (=, +, -, @) are written with a leading apostrophe, which the LMS "
              "will not match: map them with --roster", result.unsafe_identifiers)
    err.print(Text(f"wrote {', '.join(str(p) for p in result.files)} and {len(result.feedback)} feedback file(s) in "
                   f"{out / 'feedback'}"))
    return 0
