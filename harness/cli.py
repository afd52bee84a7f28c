"""Command line: `harness COMMAND` (also `python -m harness`).

Each command lives in its own module with `register(subparsers)`; its handler returns the
exit code. A HarnessError ends the program with its one-line message, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from harness.errors import HarnessError

# Modules that define commands, in the order `harness --help` lists them.
COMMAND_MODULES = (
    "harness.commands.lab",
    "harness.commands.build",
    "harness.commands.wheels",
    "harness.commands.labs",
    "harness.commands.practica_wheel",
    "harness.commands.check",
    "harness.commands.run",
    "harness.commands.grade",
    "harness.commands.collect",
    "harness.commands.export",
    "harness.commands.gradebook",
    "harness.commands.bench",
    "harness.commands.smoke",
    "harness.commands.gpu_check",
    "harness.commands.hub",
    "harness.commands.sif",
    "harness.commands.figures",
    "harness.commands.clean",
)


class OneLineErrorParser(argparse.ArgumentParser):
    """Usage mistakes end with one line that says what to do, like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(prog="harness", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as error:
            if error.name is None or error.name.split(".")[0] not in HOST_PACKAGES:
                raise
            _register_unavailable(subparsers, name, error.name)
            continue
        module.register(subparsers)
    return parser


# Host packages some commands need and others do not: a GPU machine without Docker runs `harness gpu-check`,
# `smoke` and `bench` with --variant local without docker-py; the commands that need it say so when called.
HOST_PACKAGES = frozenset({"docker", "requests", "nbformat", "nbclient", "jupyter_client", "rich"})


def _register_unavailable(subparsers: Any, module: str, missing: str) -> None:
    command = module.rsplit(".", 1)[-1].replace("_", "-")
    parser = subparsers.add_parser(command, help=f"(unavailable here: needs the {missing} package)", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER)

    def unavailable(args: argparse.Namespace) -> int:
        raise HarnessError(f"`harness {command}` needs the {missing} package, missing from this Python "
                           f"({sys.executable}): pip install -e '.[local]'")

    parser.set_defaults(handler=unavailable)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        code: int = args.handler(args)
    except HarnessError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
