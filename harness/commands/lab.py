"""`harness lab` (`make lab`): start JupyterLab with the course notebooks on this machine."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from harness.config import VARIANTS
from harness.errors import HarnessError
from harness.lab.launcher import LabOptions, run_lab


def flag(value: str) -> bool:
    if value.lower() in ("1", "yes", "true", "on"):
        return True
    if value.lower() in ("0", "no", "false", "off"):
        return False
    raise argparse.ArgumentTypeError(f"GPU must be 0 or 1, not {value!r}")


def port(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a TCP port: choose one between 1024 and 65535 (PORT=8890)")
    return int(value)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("lab", help="start JupyterLab with the course notebooks (make lab)", description=__doc__)
    parser.add_argument("--variant", choices=VARIANTS, help="image to use (default: cuda when a GPU answers, else cpu)")
    parser.add_argument("--gpu", type=flag, metavar="0|1", help="1: require the GPU; 0: never use it")
    parser.add_argument("--port", type=port, help="host port (default: 8888, or the next free one)")
    parser.add_argument("--bind", default="127.0.0.1", help="host address to publish on (default: 127.0.0.1 only)")
    parser.add_argument("--work", type=Path, default=Path("work"), help="folder mounted as ~/work (default: ./work)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    token = os.environ.get("JUPYTER_TOKEN")
    if token is not None and not token.strip():
        raise HarnessError("JUPYTER_TOKEN is set but empty: give a token, or unset it to get a random one")
    return run_lab(
        LabOptions(
            variant=args.variant,
            gpu=args.gpu,
            port=args.port,
            bind=args.bind,
            token=token,
            work_dir=args.work,
            open_browser=not args.no_browser,
        )
    )
