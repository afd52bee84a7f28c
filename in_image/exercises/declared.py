"""The exercises a lab declares (labs/practica/labNN_checks.py), read with `ast`, without importing it.

The host names every exercise, with its points and number of criteria, before any container runs (and
when a container produces no result); it needs neither numpy nor torch for that. Stdlib only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Declared:
    id: str
    title: str
    points: float
    checks: int


def _declaration(node: ast.Call) -> Declared | None:
    if not (isinstance(node.func, ast.Name) and node.func.id == "Exercise" and len(node.args) >= 3):
        return None
    try:
        exercise, title, criteria = (ast.literal_eval(arg) for arg in node.args[:3])
        keywords = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg == "points"}
    except ValueError:
        return None
    points = keywords.get("points", node.args[5] if len(node.args) > 5 else 1.0)
    points = ast.literal_eval(points) if isinstance(points, ast.AST) else points
    return Declared(id=str(exercise), title=str(title), points=float(points), checks=len(criteria))


def declared_exercises(source: str, *, origin: str = "<checks>") -> list[Declared]:
    """Every `Exercise("id", "title", (criteria...), compare, cases[, points=P])` call, in source order."""
    found = [(node, d) for node in ast.walk(ast.parse(source, filename=origin)) if isinstance(node, ast.Call)
             for d in [_declaration(node)] if d is not None]
    return [d for _, d in sorted(found, key=lambda pair: (pair[0].lineno, pair[0].col_offset))]


def declared_in(path: Path) -> list[Declared]:
    return declared_exercises(path.read_text(), origin=str(path))
