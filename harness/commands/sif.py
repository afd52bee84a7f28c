"""`harness sif` (make sif): the lab image as an Apptainer image sif/dl-lab_VARIANT-VERSION.sif, for Slurm.

Converted from this engine's image with apptainer (or singularity); where neither is installed it
says what to do. The conversion itself is deploy/slurm/build-sif.sh, which cluster admins can also
run on their own.
"""

from __future__ import annotations

import argparse
import subprocess
from typing import Any

from harness.config import REPO_ROOT, VARIANTS

SCRIPT = REPO_ROOT / "deploy" / "slurm" / "build-sif.sh"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("sif", help="convert the lab image into an Apptainer .sif", description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS, default="cpu", help="the image to convert (default: cpu)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    return subprocess.run(["bash", str(SCRIPT), args.variant], check=False).returncode
