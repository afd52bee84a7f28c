"""`harness lab`: placeholder."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("lab", help="start JupyterLab")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    return 0
