"""The hidden inputs of a grading run, as text fragments to look for in what goes back to students."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from harness.config import labs_dir
from harness.course import catalog
from in_image.exercises import wire
from in_image.judge.lab_tests import load_lab_tests


def _numbers(value: Any) -> Iterator[float]:
    if isinstance(value, wire.ArrayData):
        value = value.values
    if isinstance(value, np.ndarray) and value.dtype.kind == "f":
        yield from (float(v) for v in value.ravel())
    elif isinstance(value, dict):
        for item in value.values():
            yield from _numbers(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers(item)


def tokens(numbers: Iterable[float]) -> set[str]:
    """Each number's first six decimals ("0.123456" of 0.12345678): how any printout of it starts (float32 prints
    with 8 significant digits), specific enough not to turn up by chance."""
    return {f"{abs(n):.9f}"[:-3] for n in numbers if 0.01 <= abs(n) < 100}


def hidden_tokens(lab_id: str, seed: int) -> set[str]:
    """The tokens of every hidden input the judge draws for lab_id with seed (as the judge does, labs/ on the path)."""
    if str(labs_dir()) not in sys.path:
        sys.path.insert(0, str(labs_dir()))
    lab = catalog.find_lab(lab_id)
    tests = load_lab_tests(lab_id, lab.hidden_tests.read_text(), seed=seed)
    return tokens(n for cases in tests.hidden.values() for case in cases for n in _numbers(dict(case.inputs)))


def leaked_tokens(leak: Path) -> set[str]:
    """The tokens of the requests a forgery copied, one wire JSON per line."""
    lines = leak.read_text().splitlines() if leak.exists() else []
    return tokens(n for line in lines if line.strip() for n in _numbers(wire.decode(json.loads(line))))


def _text(path: Path) -> str:
    if zipfile.is_zipfile(path):  # .xlsx: the text is in its compressed members
        with zipfile.ZipFile(path) as archive:
            return "\n".join(archive.read(name).decode("utf-8", errors="replace") for name in archive.namelist())
    return path.read_bytes().decode("utf-8", errors="replace")


def files_holding(folder: Path, wanted: set[str]) -> dict[str, list[str]]:
    """Every file under folder that holds one of the tokens, with (up to 3 of) those it holds."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text = _text(path)
        held = sorted(token for token in wanted if token in text)
        if held:
            found[str(path)] = held[:3]
    return found
