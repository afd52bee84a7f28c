"""`harness practica-wheel` (make practica-wheel): the student package as a wheel, for Colab, Kaggle or any Jupyter."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.config import BUILD_DIR
from harness.course import student_wheel
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("practica-wheel", help="build the student package (comprobar and data) as a wheel",
                                   description=__doc__)
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "practica", metavar="DIR",
                        help="where the wheel goes (default: build/practica)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    wheel = student_wheel.build(out=args.out)
    stderr_console().print(str(wheel), markup=False, highlight=False)
    return 0
