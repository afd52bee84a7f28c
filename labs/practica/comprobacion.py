"""`comprobar` de cada laboratorio: los casos públicos, por el mismo camino y con los mismos criterios que la nota.

Se importa en el kernel del alumno (necesita torch); el calificador, que solo importa los criterios
(`practica.labNN_checks`), no lo carga.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence

from in_image.exercises import wire
from in_image.exercises.answering import Probe, run_cases
from in_image.exercises.framework import NOT_ATTEMPTED, PASSED, Exercise, Verdict, find, outcome_from, verdict

__all__ = ["crear_comprobar", "informe"]


def crear_comprobar(lab: str, exercises: Sequence[Exercise], probes: Mapping[str, Probe]) -> Callable[[str], None]:
    """La función `comprobar(ejercicio)` de un laboratorio: evalúa el ejercicio en el cuaderno que la llama."""

    def comprobar(ejercicio: str) -> None:
        # The caller's globals are the notebook's namespace (IPython runs cells in user_ns).
        namespace = sys._getframe(1).f_globals
        try:
            exercise = find(exercises, ejercicio)
        except KeyError as error:
            print(f"⚠️ Laboratorio {lab}: {error.args[0]}")
            return
        print(informe(evaluar(exercise, probes[exercise.id], namespace)))

    comprobar.__doc__ = f"Comprueba un ejercicio del laboratorio {lab} y explica el resultado."
    return comprobar


def evaluar(exercise: Exercise, probe: Probe, namespace: Mapping[str, object]) -> Verdict:
    """El veredicto de los casos públicos, por el mismo camino que sigue la nota (ida y vuelta por `wire`)."""
    inputs = [wire.decode(wire.encode(dict(case.inputs))) for case in exercise.cases]
    documents = run_cases(probe, namespace, inputs)
    outcomes = [outcome_from(document) for document in documents]
    return verdict(exercise, exercise.cases, outcomes)


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
