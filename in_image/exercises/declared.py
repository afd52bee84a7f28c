"""The exercises a tests file declares, read with `ast` (without running it: no torch needed).

Both the host (to name exercises and points before any container runs) and the runner (to
report every exercise even when the kernel never got to the tests) use this. Stdlib only.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass


@dataclass(frozen=True)
class Declared:
    id: str
    title: str
    points: float
    checks: int


def declared_exercises(source: str, *, origin: str = "<tests>") -> list[Declared]:
    """The `@registro.prueba("id", titulo=..., comprobaciones=N, puntos=P)` decorators, in order."""
    found: list[Declared] = []
    for node in ast.walk(ast.parse(source, filename=origin)):
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "prueba" and decorator.args):
                continue
            keywords = {k.arg: k.value for k in decorator.keywords if k.arg}
            values = {key: ast.literal_eval(value) for key, value in keywords.items()}
            exercise = ast.literal_eval(decorator.args[0])
            found.append(Declared(
                id=str(exercise), title=str(values.get("titulo", exercise)),
                points=float(values.get("puntos", 1.0)), checks=int(values.get("comprobaciones", 1)),
            ))
    found.sort(key=lambda item: item.id)  # ast.walk is breadth-first; keep a stable order below
    return _source_order(found, source)


def _source_order(found: list[Declared], source: str) -> list[Declared]:
    def position(item: Declared) -> int:
        for quote in ('"', "'"):
            index = source.find(f"prueba({quote}{item.id}{quote}")
            if index >= 0:
                return index
        return len(source)

    return sorted(found, key=position)
