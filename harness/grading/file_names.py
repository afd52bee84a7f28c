"""File names made from names students and instructors chose: the one sanitiser and the one uniqueness scheme.

`harness grade` (executed copies), `harness collect` (the collected copies) and `harness export`
(feedback files) name their files from display names, hub user names or students' names, which can
hold any character. Each becomes a safe stem (letters, digits, '.', '-', '_', '@'; never hidden,
never an option, at most 100 characters), then a unique one: stem, stem-2, stem-3... compared
without case, for case-insensitive file systems.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_STEM = 100
FALLBACK_STEM = "estudiante"


def safe_stem(name: str) -> str:
    """Runs of other characters become '_'; leading and trailing '.', '_', '-' go; empty becomes FALLBACK_STEM."""
    return (re.sub(r"[^\w.@-]+", "_", name).strip("._-") or FALLBACK_STEM)[:MAX_STEM]


def unique_stem(stem: str, taken: set[str]) -> str:
    """The stem, or stem-2, stem-3...: the first not in `taken` (compared without case), which it joins."""
    candidate, number = stem, 2
    while candidate.lower() in taken:
        candidate, number = f"{stem}-{number}", number + 1
    taken.add(candidate.lower())
    return candidate


def file_stem(name: str, taken: set[str]) -> str:
    """A safe stem for `name`, unique among `taken` (which it joins)."""
    return unique_stem(safe_stem(name), taken)


def unique_names(names: Iterable[str]) -> list[str]:
    """The names as given, the repeated ones numbered by the same scheme (name, name-2...)."""
    taken: set[str] = set()
    return [unique_stem(name, taken) for name in names]
