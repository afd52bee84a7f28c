"""`harness export LAB`: from a grading report, the files Moodle and Canvas import, the records, statistics, feedback.

Reads reports/grade-LAB.json (or --report) and writes into reports/export-LAB/ (or --out):
moodle.csv and canvas.csv (grade imports that import whole: a student who could not be placed
goes to not-imported.csv with the reason), grades.csv (each student's points, late penalty and
grade, or "No presentado"), exercises.csv, statistics.csv (also shown as a table), export.xlsx
(--excel xlsx) and feedback/<student>.md and .html (in Spanish). Grades are out of 10 with one
decimal, halves rounded up (--scale, --decimals). --fill FILE fills a Moodle grading worksheet or
a Canvas gradebook export downloaded from the LMS. See docs/instructors.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.commands.grading_options import add_lms_options
from harness.config import REPORTS_DIR
from harness.course import catalog
from harness.errors import HarnessError
from harness.grading.export import ExerciseStatistics, Export, ExportSettings, export, read_report, read_roster
from harness.grading.grades import GradeScale, parse_scale
from harness.grading.late import parse_late_penalty
from harness.grading.lms import left_out_line
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("export", help="grade files for Moodle and Canvas, records, statistics and feedback "
                                   "from a report", description=__doc__)
    parser.add_argument("lab", nargs="?", metavar="LAB", help="the lab (e.g. 00): reads REPORTS/grade-LAB.json")
    parser.add_argument("--report", type=Path, metavar="JSON", help="the grading report to export (instead of LAB's)")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR",
                        help="where the grading reports are (default: reports/)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the files go (default: REPORTS/export-LAB/)")
    parser.add_argument("--scale", "--out-of", dest="scale", default="10", metavar="N|points",
                        help="the grade's maximum (default 10, as Spanish universities record); 'points': the lab's points")
    parser.add_argument("--decimals", type=int, default=1, metavar="D",
                        help="decimals a grade keeps, halves rounded up (default 1)")
    add_lms_options(parser)
    parser.add_argument("--canvas-assignment-id", default="", metavar="ID",
                        help="the Canvas assignment's id, so the column updates it (default: matched by its title)")
    parser.add_argument("--late-penalty", metavar="RULE",
                        help="points lost for lateness, from the collection's deadline: e.g. 10%%/day, 5%%/hour, "
                             "10%%/day,min=50%% (as Canvas's late policy)")
    parser.add_argument("--fill", type=Path, action="append", default=[], metavar="CSV",
                        help="a Moodle grading worksheet or a Canvas gradebook export to fill in (repeatable)")
    parser.set_defaults(handler=handle)


def grade_scale(args: argparse.Namespace) -> GradeScale:
    return GradeScale(out_of=parse_scale(str(args.scale)), decimals=args.decimals)


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


def report_export(console: Console, result: Export, *, out: Path) -> None:
    """What went where, one line each: the students without work, the LMS files and what they left out."""
    warn(console, "handed in nothing (No presentado in the LMS files, blank grade)", result.with_status("no_show"))
    warn(console, "handed in a file that is not a notebook (left out: grade it by hand)", result.with_status("invalid"))
    for file in result.lms_files:
        console.print(Text(left_out_line(file), style="yellow" if file.left_out else ""))
    for filled in result.filled:
        line = Text(f"{filled.name}: {filled.graded} graded")
        if filled.no_submission:
            line.append(f"; without a submission (marked No presentado where empty): {', '.join(filled.no_submission)}",
                        style="yellow")
        if filled.missing:
            line.append(f"; ours, not in the file: {', '.join(m.user for m in filled.missing)}", style="yellow")
        if filled.by_hand:
            line.append(f"; not a notebook, left as it was: {', '.join(filled.by_hand)}", style="yellow")
        if filled.locked:
            line.append(f"; locked in Moodle, will not change: {', '.join(filled.locked)}", style="yellow")
        console.print(line)
    console.print(Text(f"wrote {', '.join(p.name for p in result.files)} and {len(result.feedback)} feedback file(s) "
                       f"in {out}"))


def handle(args: argparse.Namespace) -> int:
    if not args.lab and not args.report:
        raise HarnessError("say which lab to export (harness export 00) or which report (--report reports/grade-00.json)")
    scale = grade_scale(args)
    late_policy = parse_late_penalty(args.late_penalty) if args.late_penalty else None
    wanted = catalog.find_lab(args.lab).id if args.lab else None
    report = read_report(args.report or args.reports / f"grade-{wanted}.json")
    if wanted and report.lab and report.lab != wanted:
        raise HarnessError(f"{report.path} grades lab {report.lab}, not lab {wanted}: give the right LAB or --report")
    lab_id = wanted or report.lab
    people = read_roster(args.roster) if args.roster else None
    settings = ExportSettings(lab_title=catalog.lab_title(lab_id), scale=scale,
                              canvas_assignment_id=str(args.canvas_assignment_id).strip(), moodle_id=args.moodle_id,
                              late_policy=late_policy, excel=args.excel, fill=tuple(args.fill))
    out = args.out or args.reports / f"export-{lab_id}"
    result = export(report, out=out, settings=settings, people=people)
    print_statistics(Console(), result.statistics, title=Text(f"{settings.lab_title}: {len(report.students)} student(s)"))
    report_export(stderr_console(), result, out=out)
    return 0
