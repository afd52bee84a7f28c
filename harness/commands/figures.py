"""`harness figures images|grading|hub`: the measurements of docs/measurements.md, on this machine.

images   (make bench-image)    image sizes, `docker run` to the API answering, rebuild after a notebook edit
grading  (make bench-harness)  lab 00 graded in the CPU container; 30 notebooks with --jobs 1 and 2
hub      (make bench-hub)      concurrent spawns on a throw-away hub (--students 1 10)
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from harness.errors import HarnessError
from harness.figures import grading, hub_spawns, images
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("figures", help="measure the figures of docs/measurements.md (images, grading, hub)",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="KIND")
    kinds.add_parser("images", help="image sizes, start-up, rebuild time").set_defaults(handler=handle_images)
    grade = kinds.add_parser("grading", help="grading time and throughput")
    grade.add_argument("--repeat", type=int, default=3, help="runs of lab 00 (default: %(default)s)")
    grade.add_argument("--submissions", type=int, default=30, help="notebooks graded (default: %(default)s)")
    grade.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="--jobs values (default: 1 2)")
    grade.set_defaults(handler=handle_grading)
    hub = kinds.add_parser("hub", help="concurrent spawns on a throw-away hub")
    hub.add_argument("--students", type=int, nargs="+", default=[1, 10], help="class sizes (default: 1 10)")
    hub.set_defaults(handler=handle_hub)


def handle_images(args: argparse.Namespace) -> int:
    return images.measure()


def handle_grading(args: argparse.Namespace) -> int:
    if args.repeat < 1 or args.submissions < 1 or min(args.jobs) < 1:
        raise HarnessError("--repeat, --submissions and --jobs take positive numbers")
    return grading.measure(repeat=args.repeat, submissions=args.submissions, jobs=args.jobs)


def handle_hub(args: argparse.Namespace) -> int:
    console = stderr_console()
    if min(args.students) < 1:
        raise HarnessError("--students takes positive class sizes")
    results = []
    for students in args.students:
        with console.status(f"spawning {students} server(s) at once"):
            results.append(hub_spawns.measure(students=students))
    table = Table(title=f"Concurrent spawns on this machine ({results[0].cpus} CPUs, {results[0].image})")
    for column in ("students", "all ready (s)", "first ready (s)", "median (s)", "hub start (s)"):
        table.add_column(column, justify="right")
    for r in results:
        table.add_row(str(r.students), f"{r.all_ready_s}", f"{r.first_ready_s}", f"{r.median_ready_s}", f"{r.hub_start_s}")
    console.print(table)
    console.print(f"wrote {hub_spawns.write_report(results)}")
    return 0
