"""`harness build`: build the lab images (base image and wheelhouse first, where missing)."""

from __future__ import annotations

import argparse
from typing import Any

from harness.config import VARIANTS
from harness.images import build_image


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="build the lab image(s)", description=__doc__)
    parser.add_argument("variants", nargs="*", choices=VARIANTS, metavar="VARIANT", help="cpu and/or cuda (default: cpu)")
    parser.add_argument("--if-changed", action="store_true",
                        help="skip images that exist and were built from the current sources")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    for variant in args.variants or ["cpu"]:
        build_image(variant, if_changed=args.if_changed)
    return 0
