"""`harness wheels lock|fetch VARIANT`: the lab images' locked wheels (make lock, make wheels-cpu, make wheels-cuda).

lock:  re-resolve docker/requirements.in plus torch into docker/requirements-VARIANT.lock, for the
       image's platform (not this machine's);
fetch: download exactly the locked wheels into build/wheelhouse/VARIANT (the image build installs
       them offline).
"""

from __future__ import annotations

import argparse
from typing import Any

from harness.config import VARIANTS
from harness.images import wheels
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("wheels", help="lock or fetch the lab images' wheels", description=__doc__)
    parser.add_argument("action", choices=("lock", "fetch"))
    parser.add_argument("variants", nargs="+", choices=VARIANTS, metavar="VARIANT", help="cpu and/or cuda")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    console = stderr_console()
    for variant in args.variants:
        if args.action == "lock":
            count = wheels.lock_lab(variant)
            vision = wheels.torchvision_status(wheels.lab_lock_file(variant))
            console.print(f"{variant}: {count} packages locked in {wheels.lab_lock_file(variant)}; torchvision {vision}",
                          highlight=False)
        else:
            count = wheels.fetch_lab(variant)
            console.print(f"{variant}: {count} wheels in {wheels.lab_wheelhouse(variant)}")
    return 0
