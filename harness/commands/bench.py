"""`harness bench`: not written yet."""

from __future__ import annotations

import argparse
from typing import Any

from harness.errors import HarnessError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("bench", help="(not written yet)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    raise HarnessError("harness bench is not written yet")
