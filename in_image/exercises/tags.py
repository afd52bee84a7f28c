"""How a lab notebook marks its exercises, read by the generator on the host and the judge in the image.

A solution cell carries the tag `ejercicio:<id>`; in the student version its solution is a
`raise NotImplementedError(PLACEHOLDER)`. Stdlib only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EXERCISE_TAG = "ejercicio:"
# The student's placeholder; `pendiente` (pending) is what the judge and the tests look for.
PLACEHOLDER = "PENDIENTE: escribe tu solución del ejercicio «{id}» en lugar de esta línea"


def exercise_of(cell: Mapping[str, Any]) -> str | None:
    """The exercise id a cell's `ejercicio:<id>` tag names, or None."""
    for tag in cell.get("metadata", {}).get("tags", []):
        if isinstance(tag, str) and tag.startswith(EXERCISE_TAG):
            return tag.removeprefix(EXERCISE_TAG)
    return None
