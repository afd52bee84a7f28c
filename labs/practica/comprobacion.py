"""`comprobar` de cada laboratorio: los casos públicos, por el mismo camino y con los mismos criterios que la nota.

Se importa en el kernel del alumno (necesita torch); el calificador, que solo importa los criterios
(`practica.labNN_checks`), no lo carga. Las salidas esperadas de los casos públicos son datos
(practica/data/labNN.json), precalculados por el calificador al construir la imagen: aquí no hay
código que calcule la respuesta de un ejercicio.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from in_image.exercises import wire
from in_image.exercises.answering import Probe, run_cases
from in_image.exercises.framework import NOT_ATTEMPTED, PASSED, Case, Exercise, Verdict, case_digest, find, outcome_from, verdict

__all__ = ["crear_comprobar", "informe"]

DATA_FOLDER = Path(__file__).parent / "data"


class StaleData(Exception):
    """The precomputed expected outputs do not belong to these cases (an image or data file out of date)."""


@functools.cache
def _lab_data(lab: str) -> Mapping[str, Any] | None:
    """The lab's precomputed expectations by exercise; None for a lab without an answer key (no data file)."""
    path = DATA_FOLDER / f"lab{lab}.json"
    if not path.exists():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StaleData(f"no se pueden leer los datos de las comprobaciones ({path.name}: {type(error).__name__})") from None
    exercises: Mapping[str, Any] = document.get("exercises", {}) if isinstance(document, Mapping) else {}
    return exercises


def _plain(value: Any) -> Any:
    """Decoded wire data with its arrays as numpy arrays (the values the criteria compare with)."""
    if isinstance(value, wire.ArrayData):
        return value.values
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def public_cases(lab: str, exercise: Exercise) -> tuple[Case, ...]:
    """The exercise's public cases with their expected outputs, from the lab's data file."""
    data = _lab_data(lab)
    if data is None:
        return exercise.cases
    entries = data.get(exercise.id)
    if not isinstance(entries, list) or len(entries) != len(exercise.cases):
        raise StaleData(f"los datos de las comprobaciones no tienen los casos de «{exercise.id}»")
    cases = []
    for case, entry in zip(exercise.cases, entries, strict=True):
        if entry.get("digest") != case_digest(case):
            raise StaleData(f"los datos de las comprobaciones de «{exercise.id}» no son de estos casos")
        cases.append(dataclasses.replace(case, expected=_plain(wire.decode(entry.get("expected")))))
    return tuple(cases)


def crear_comprobar(lab: str, exercises: Sequence[Exercise], probes: Mapping[str, Probe]) -> Callable[[str], None]:
    """La función `comprobar(ejercicio)` de un laboratorio: evalúa el ejercicio en el cuaderno que la llama."""

    def comprobar(ejercicio: str) -> None:
        # The caller's globals are the notebook's namespace (IPython runs cells in user_ns).
        namespace = sys._getframe(1).f_globals
        try:
            exercise = find(exercises, ejercicio)
            cases = public_cases(lab, exercise)
        except KeyError as error:
            print(f"⚠️ Laboratorio {lab}: {error.args[0]}")
            return
        except StaleData as error:
            print(f"⚠️ Laboratorio {lab}: {error}; la imagen o el paquete practica están desactualizados: "
                  "pide la versión actual a tu profesor")
            return
        print(informe(evaluar(exercise, probes[exercise.id], namespace, cases=cases)))

    comprobar.__doc__ = f"Comprueba un ejercicio del laboratorio {lab} y explica el resultado."
    return comprobar


def evaluar(exercise: Exercise, probe: Probe, namespace: Mapping[str, object], *,
            cases: Sequence[Case] | None = None) -> Verdict:
    """El veredicto de los casos públicos, por el mismo camino que sigue la nota (ida y vuelta por `wire`)."""
    cases = tuple(cases) if cases is not None else exercise.cases
    inputs = [wire.decode(wire.encode(dict(case.inputs))) for case in cases]
    documents = run_cases(probe, namespace, inputs)
    outcomes = [outcome_from(document) for document in documents]
    return verdict(exercise, cases, outcomes)


def informe(resultado: Verdict) -> str:
    """El resultado para el alumno, en español: una línea y, si algo falla, un criterio por línea."""
    titulo = f"Ejercicio «{resultado.id}» ({resultado.title})"
    if resultado.status == PASSED:
        return f"✅ {titulo}: ¡correcto! ({resultado.checks_passed}/{resultado.checks_total} comprobaciones)"
    if resultado.status == NOT_ATTEMPTED:
        return f"⏳ {titulo}: pendiente. {resultado.message}"
    lineas = [f"❌ {titulo}: todavía no ({resultado.checks_passed}/{resultado.checks_total} comprobaciones)."]
    lineas += [f"   • {c.message}" for c in resultado.criteria if not c.passed]
    return "\n".join(lineas)
