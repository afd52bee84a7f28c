"""`harness collect LAB`: copy every student's notebook of a lab from the hub's volumes, then grade them.

The students' work volumes are read through read-only mounts (nothing is written to them); each
notebook is copied with the time it was last modified into collected/LAB-<date>-<time>/, with a
manifest.json that lists every student: collected (with the modification time, size, SHA-256 and,
given --deadline, whether it was late), missing, or invalid. The students are those with a work
volume, the accounts of the running hub and the roster's (--roster). The copies are then graded
like `harness grade` does (reports/grade-LAB.json): each as the student left it (its own parameters;
--ci-parameters applies the lab's shorter CI ones), unless --no-grade.

Exit code: 0 when every student handed in and every exercise passed; 1 when a notebook is missing
or invalid or an exercise did not pass; 2 for bad input.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import requests
from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.commands.grading_options import add_grading_options, grading_from, seed_from
from harness.config import REPO_ROOT
from harness.course import catalog
from harness.errors import HarnessError
from harness.grading.collect import Collected, Collection, collect, local_time, parse_deadline
from harness.grading.export import read_roster
from harness.grading.session import grade_notebooks
from harness.hub.instance import running_hub
from harness.hub.settings import DEFAULT_NAME
from harness.ui import stderr_console

log = logging.getLogger(__name__)
DEFAULT_OUT = REPO_ROOT / "collected"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("collect", help="copy the students' notebooks of a lab from the hub, and grade them",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lab", metavar="LAB", help="the lab (e.g. 00)")
    parser.add_argument("--hub", default=DEFAULT_NAME, help="the hub instance's name (default: %(default)s)")
    parser.add_argument("--deadline", metavar="TIME",
                        help="notebooks modified after it are late: 2026-12-01T23:59 (local time) or with an offset, +01:00")
    parser.add_argument("--roster", type=Path, metavar="CSV",
                        help="the class list (column 'user': hub user names): each must hand in, or is listed as missing")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, metavar="DIR",
                        help="where the dated folder of copies goes (default: collected/)")
    parser.add_argument("--no-grade", action="store_true", help="only collect")
    parser.add_argument("--variant", choices=("cpu", "cuda"), default="cpu", help="the image to grade in (default: cpu)")
    add_grading_options(parser)
    parser.set_defaults(handler=handle)


def hub_students(name: str) -> list[str]:
    """The running hub's accounts that are not admins; none when the hub is not running."""
    try:
        hub = running_hub(name)
        users = hub.checked("GET", "users", ok=[200]).json()
    except (HarnessError, requests.exceptions.RequestException) as error:
        log.info("students from the volumes and the roster only: %s", error)
        return []
    return [str(u["name"]) for u in users if isinstance(u, dict) and not u.get("admin")]


def print_collection(console: Console, collection: Collection) -> None:
    table = Table(title=Text(f"lab {collection.lab.id}: {collection.folder}"), title_justify="left")
    for column in ("student", "status", "modified", "late", "size", "note"):
        table.add_column(column)
    style = {"collected": "green", "missing": "red", "invalid": "red"}

    def late_text(entry: Collected) -> Text:
        return Text("") if entry.late is None else Text("late", style="yellow") if entry.late else Text("no")

    for entry in collection.students:
        modified = "" if entry.mtime_ns is None else local_time(entry.mtime_ns).strftime("%Y-%m-%d %H:%M:%S")
        size = "" if entry.size is None else f"{entry.size / 1024:.0f} KiB"
        table.add_row(Text(entry.user), Text(entry.status, style=style[entry.status]), modified, late_text(entry), size,
                      Text(entry.message))
    console.print(table)


def handle(args: argparse.Namespace) -> int:
    lab = catalog.find_lab(args.lab)
    deadline = parse_deadline(args.deadline) if args.deadline else None
    expected = list(read_roster(args.roster)) if args.roster else []  # lower case, as the hub keeps user names
    grading = None
    if not args.no_grade:  # a grading set-up that cannot work stops here, before anything is copied
        grading = grading_from(args)
    err = stderr_console()
    with err.status(Text(f"collecting lab {lab.id} from the hub {args.hub}")):
        collection = collect(lab, hub=args.hub, out=args.out, deadline=deadline,
                             expected=expected + hub_students(args.hub))
    print_collection(Console(), collection)
    collected, missing = collection.with_status("collected"), collection.with_status("missing")
    invalid = collection.with_status("invalid")
    err.print(Text(f"{len(collected)} collected ({len(collection.late)} late), {len(missing)} missing, "
                   f"{len(invalid)} invalid: {collection.folder}"))
    code = 1 if missing or invalid else 0
    if grading is None or not collected:
        return code
    executor, parallel = grading
    graded = grade_notebooks(lab, [(collection.folder / str(entry.file), entry.user, str(entry.file)) for entry in collected],
                             executor=executor, variant=args.variant, parallel=parallel, reports=args.reports,
                             ci_parameters=args.ci_parameters, details=args.details, seed=seed_from(args))
    return max(code, graded)
