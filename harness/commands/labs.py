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
    parser.add_argument("--standalone", metavar="URL",
                        help="also write standalone/: student notebooks whose first cell installs the student wheel "
                             "(make practica-wheel) from URL, for Colab, Kaggle or any Jupyter with torch")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.standalone is not None:
        versions.check_wheel_url(args.standalone)
    versions.generate(out=args.out)
    if args.standalone is not None:
        versions.generate_standalone(out=args.out, url=args.standalone)
    console = stderr_console()
    for path in sorted(args.out.glob("*/*.ipynb")):
        console.print(str(path), markup=False, highlight=False)
    return 0
