"""`harness clean` (make clean): remove the containers, volumes and networks the project started, and the
staged build contexts. The wheelhouse and the images stay."""

from __future__ import annotations

import argparse
import shutil
from typing import Any

from harness.config import BUILD_DIR
from harness.engine.containers import remove_project_resources
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("clean", help="remove the project's containers, volumes, networks and build contexts",
                                   description=__doc__)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    removed = remove_project_resources()
    for folder in (BUILD_DIR / "context", BUILD_DIR / "labs"):
        shutil.rmtree(folder, ignore_errors=True)
    stderr_console().print(f"removed {removed} resource(s) and the staged build contexts")
    return 0
