"""`harness labs` (make labs): the student and instructor notebooks of every lab, made from labs/source."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.config import BUILD_DIR
from harness.course import versions
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("labs", help="generate the student and instructor notebooks", description=__doc__)
    parser.add_argument("--out", type=Path, default=BUILD_DIR / "labs", metavar="DIR",
                        help="where student/ and instructor/ go (default: build/labs)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    versions.generate(out=args.out)
    console = stderr_console()
    for path in sorted(args.out.glob("*/*.ipynb")):
        console.print(str(path), markup=False, highlight=False)
    return 0
