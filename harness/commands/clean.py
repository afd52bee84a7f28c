"""`harness clean` (make clean): remove the containers, volumes and networks the project started, and the
staged build contexts. The wheelhouse, the images and the hub stay: its containers, networks, the
students' work and the accounts are removed by `harness hub down` and `harness hub purge` only."""

from __future__ import annotations

import argparse
import shutil
from typing import Any

from harness.config import BUILD_DIR
from harness.engine.containers import remove_project_resources
from harness.hub.settings import COMPONENT as HUB
from harness.ui import stderr_console

# Never removed by `make clean`: the hub's students' work and accounts.
KEPT = (HUB,)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("clean", help="remove the project's containers, volumes, networks and build contexts",
                                   description=__doc__)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    removed = remove_project_resources(keep_components=KEPT)
    for folder in (BUILD_DIR / "context", BUILD_DIR / "labs"):
        shutil.rmtree(folder, ignore_errors=True)
    stderr_console().print(f"removed {removed} resource(s) and the staged build contexts; the hub and students' work "
                           "are kept (`make hub-down` stops it, `harness hub purge` deletes it)")
    return 0
