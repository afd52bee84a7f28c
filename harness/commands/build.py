"""`harness build`: build the base image, the lab images and the hub image (make base, images, image-cpu...)."""

from __future__ import annotations

import argparse
from typing import Any

from harness.config import VARIANTS
from harness.images.hub_image import build as build_hub_image
from harness.images.lab_image import build_base, build_image

TARGETS = ("base", *VARIANTS, "hub")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("build", help="build images: base, cpu, cuda, hub", description=__doc__)
    parser.add_argument("targets", nargs="*", choices=TARGETS, metavar="IMAGE",
                        help="base, cpu, cuda and/or hub (default: cpu)")
    parser.add_argument("--if-changed", action="store_true",
                        help="skip lab images that exist and were built from the current sources")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    for target in args.targets or ["cpu"]:
        if target == "base":
            build_base()
        elif target == "hub":
            build_hub_image()
        else:
            build_image(target, if_changed=args.if_changed)
    return 0
