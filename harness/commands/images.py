"""`harness build`: build the lab images (base image and wheelhouse first, where missing)."""

from __future__ import annotations

import argparse
from typing import Any

from harness.config import VARIANTS, facts
from harness.containers import docker_client, image_exists
from harness.images import build_image


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="build the lab image(s)", description=__doc__)
    parser.add_argument("variants", nargs="*", choices=VARIANTS, metavar="VARIANT", help="cpu and/or cuda (default: cpu)")
    parser.add_argument("--missing", action="store_true", help="build only the images that do not exist yet")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    for variant in args.variants or ["cpu"]:
        if args.missing and image_exists(docker_client(), facts().image(variant)):
            continue
        build_image(variant)
    return 0
