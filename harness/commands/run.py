"""`harness run`: not written yet."""

from __future__ import annotations

import argparse
from typing import Any

from harness.errors import HarnessError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="(not written yet)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    raise HarnessError("harness run is not written yet")
