"""The grading and LMS options several commands share, and their reading into the library's keyword arguments.

Not a command itself (harness.cli registers the modules of COMMAND_MODULES only): argparse stays in
harness/commands/, and the library below it takes keyword arguments.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.config import REPORTS_DIR
from harness.grading.export import EXCEL_CHOICES
from harness.grading.jobs import SEED_LIMIT, new_seed
from harness.grading.lms import MOODLE_IDS
from harness.grading.pool import Executor
from harness.grading.results import Limits
from harness.grading.session import DEFAULT_LIMITS, checked_limits, make_executor, parallelism


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("limits")
    group.add_argument("--jobs", "-j", type=int, default=None, help="notebooks graded at once (default: cores / --cpus)")
    group.add_argument("--cpus", type=float, default=DEFAULT_LIMITS.cpus, help="CPUs per container (default: %(default)s)")
    group.add_argument("--memory", default=DEFAULT_LIMITS.memory, help="memory per container, no swap (default: %(default)s)")
    group.add_argument("--pids", type=int, default=DEFAULT_LIMITS.pids,
                       help="processes and threads per container (default: %(default)s)")
    group.add_argument("--cell-timeout", type=float, default=DEFAULT_LIMITS.cell_timeout_s, metavar="S",
                       help="seconds per notebook cell (default: %(default)s)")
    group.add_argument("--exercise-timeout", type=float, default=DEFAULT_LIMITS.exercise_timeout_s, metavar="S",
                       help="seconds to check one exercise's public cases, and again its hidden ones (default: %(default)s)")
    group.add_argument("--budget", type=float, default=DEFAULT_LIMITS.budget_s, metavar="S",
                       help="seconds for a whole notebook, restarts included (default: %(default)s)")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR",
                        help="where the JSON and JUnit reports go (default: reports/)")
    parser.add_argument("--details", action="store_true", help="a per-exercise table for every notebook")


def limits_from(args: argparse.Namespace) -> Limits:
    return checked_limits(cpus=args.cpus, memory=args.memory, pids=args.pids, cell_timeout_s=args.cell_timeout,
                          exercise_timeout_s=args.exercise_timeout, budget_s=args.budget)


def parallelism_from(args: argparse.Namespace, limits: Limits, *, default: int | None = None) -> int:
    return parallelism(jobs=args.jobs, limits=limits, default=default)


def add_image_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--image", metavar="REF", default=None,
                        help="grade in this image instead of the variant's (e.g. last year's release, dl-lab:cpu-2025.11)")


def add_ci_parameters_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ci-parameters", action="store_true",
                        help="replace the notebooks' parameters by the lab's shorter CI ones (default: as the student left them)")



def seed_value(text: str) -> int:
    """--seed's value: an integer from 0 below SEED_LIMIT, as a report's "seed" records it."""
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if not 0 <= seed < SEED_LIMIT:
        raise argparse.ArgumentTypeError(f"must be an integer from 0 to {SEED_LIMIT - 1} (a report's \"seed\"), not {text!r}")
    return seed


def add_seed_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=seed_value, default=None, metavar="N",
                        help="the seed of the hidden cases: the one a report records replays that run "
                             "(default: a new one for each run)")


def seed_from(args: argparse.Namespace) -> int:
    """--seed, or a new seed for this run."""
    seed: int | None = getattr(args, "seed", None)
    return new_seed() if seed is None else seed


def add_grading_options(parser: argparse.ArgumentParser) -> None:
    """The options of a class run (`harness grade`, `harness collect`): parameters, seed, image and limits."""
    add_ci_parameters_option(parser)
    add_seed_option(parser)
    add_image_option(parser)
    add_limit_options(parser)


def grading_from(args: argparse.Namespace) -> tuple[Executor, int]:
    """The executor (variant, image, limits) and how many notebooks are graded at once."""
    limits = limits_from(args)
    return make_executor(args.variant, limits, image=args.image), parallelism_from(args, limits)


def add_lms_options(parser: argparse.ArgumentParser) -> None:
    """The options `harness export` and `harness gradebook` share: the roster, Moodle's identifier, spreadsheets."""
    parser.add_argument("--roster", type=Path, metavar="CSV",
                        help="hub user name to LMS identifiers: columns user[,login,identifier,email,name,section,"
                             "canvas_id,sis_user_id]")
    parser.add_argument("--moodle-id", choices=sorted(MOODLE_IDS), default="username",
                        help="the one column moodle.csv identifies students by: username (roster login, else the hub "
                             "user), idnumber (roster identifier) or email (default username)")
    parser.add_argument("--excel", choices=EXCEL_CHOICES, default="es",
                        help="the instructor's CSVs for Spanish Excel (es: ';' and decimal comma, the default), plain "
                             "(',' and '.'), or plain plus an .xlsx workbook (xlsx)")
