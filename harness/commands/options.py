"""Argument types several commands share; light, for the commands a GPU machine without Docker runs (smoke, bench).

Not a command itself (harness.cli registers the modules of COMMAND_MODULES only): argparse stays in
harness/commands/, and the library below it takes keyword arguments.
"""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value
