"""`harness gradebook [COURSE.toml]`: every lab's grade, weighted into the course grade, for Moodle and Canvas.

Reads the course file (course.toml: the labs, their weights and reports, the scale, the late
penalty; see harness/grading/gradebook.py and docs/instructors.md) and every lab's grading report,
and writes into reports/gradebook/ (or --out): moodle.csv and canvas.csv (a column per lab and one
for the course grade; rows that would not import whole go to not-imported.csv), gradebook.csv
(each student's lab grades, course grade, "No presentado" and qualitative grade), statistics.csv
(per lab and for the course) and distribution.png (drawn in the CPU lab image; --no-plot skips it).
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
from harness.grading.gradebook import Gradebook, build, load_people, plot_data, read_course, write
from harness.grading.lms import left_out_line
from harness.grading.spreadsheets import DIALECTS, PLAIN, cell_text
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("gradebook", help="the course gradebook: every lab weighted into the course grade, "
                                   "for Moodle and Canvas, with statistics and a plot", description=__doc__)
    parser.add_argument("course", nargs="?", type=Path, default=Path("course.toml"), metavar="COURSE.toml",
                        help="the course file (default: course.toml)")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR",
                        help="where the grading reports are (default: reports/)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="where the files go (default: REPORTS/gradebook/)")
    add_lms_options(parser)
    parser.add_argument("--no-plot", action="store_true", help="do not draw distribution.png (it needs the Docker "
                        "engine and the CPU lab image)")
    parser.set_defaults(handler=handle)


def lab_titles() -> dict[str, str]:
    return {lab.id: catalog.lab_title(lab.id) for lab in catalog.all_labs().values()}


def print_statistics(console: Console, book: Gradebook) -> None:
    table = Table(title=Text(f"{book.course.title or book.course.path.name}: {len(book.rows)} student(s)"),
                  title_justify="left")
    for column, justify in (("item", "left"), ("weight", "right"), ("presented", "right"), ("no-shows", "right"),
                            ("mean", "right"), ("median", "right"), ("passed", "right")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for item in book.statistics:
        row = [cell_text(cell, PLAIN) or "-" for cell in item.row()]
        weight = "" if item.item == "course" else f"{float(item.weight or 0):.0%}"
        table.add_row(Text(f"{item.item}: {item.title}"), weight, row[5], row[6], row[7], row[8], row[12])
    console.print(table)


def handle(args: argparse.Namespace) -> int:
    course = read_course(args.course, reports=args.reports, titles=lab_titles())
    book = build(course, people=load_people(course, args.roster))
    out = args.out or args.reports / "gradebook"
    files = write(book, out=out, moodle_id=args.moodle_id, dialect=DIALECTS["plain" if args.excel == "xlsx" else args.excel],
                  xlsx=args.excel == "xlsx")
    print_statistics(Console(), book)
    err = stderr_console()
    for file in book.lms_files:
        err.print(Text(left_out_line(file), style="yellow" if file.left_out else ""))
    err.print(Text(f"wrote {', '.join(p.name for p in files)} in {out}"))
    if not args.no_plot:
        from harness.grading.distribution import draw_distribution  # noqa: PLC0415 (docker-py only for the plot)

        try:
            png = draw_distribution(plot_data(book), out / "distribution.png")
        except HarnessError as error:
            raise HarnessError(f"{error} (the other files are written; --no-plot skips the plot)") from None
        err.print(Text(f"drew {png}"))
    return 0
