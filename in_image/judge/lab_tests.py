"""The judge's tests of a lab: the exercises and public cases of practica.labNN_checks, plus the hidden cases.

The hidden tests file (labs/hidden/labNN.py) reaches the judge only (never the image, never the
kernel) and defines `cases(rng) -> {exercise id: [Case, ...]}`. Its cases are other inputs for the
same criteria; the kernel only ever sees those inputs. The generator is seeded with the grading
run's seed, made by the host for each run and recorded in its report (`--seed` replays a run), so
inputs copied out of one run are useless in the next; a file's own `SEED` serves only when no run
seed is given.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from in_image.exercises.framework import Case, Exercise


class HiddenTestsError(Exception):
    """The hidden tests file cannot be used (an instructor's mistake; the message says which)."""


@dataclass(frozen=True)
class LabTests:
    exercises: tuple[Exercise, ...]
    public: Mapping[str, tuple[Case, ...]]
    hidden: Mapping[str, tuple[Case, ...]]

    @property
    def cases(self) -> Mapping[str, tuple[Case, ...]]:
        """Public cases first, then the hidden ones."""
        return {e.id: (*self.public[e.id], *self.hidden[e.id]) for e in self.exercises}


def lab_exercises(lab: str) -> tuple[Exercise, ...]:
    module = importlib.import_module(f"practica.lab{lab}_checks")
    exercises: tuple[Exercise, ...] = tuple(module.EXERCISES)
    return exercises


def load_lab_tests(lab: str, hidden_source: str, *, seed: int | None = None) -> LabTests:
    exercises = lab_exercises(lab)
    hidden = hidden_cases(hidden_source, lab=lab, known={e.id for e in exercises}, seed=seed)
    return LabTests(exercises, {e.id: tuple(e.cases) for e in exercises}, {e.id: hidden.get(e.id, ()) for e in exercises})


def hidden_cases(source: str, *, lab: str, known: set[str], seed: int | None = None) -> dict[str, tuple[Case, ...]]:
    namespace: dict[str, Any] = {"__name__": f"hidden_lab{lab}"}
    try:
        exec(compile(source, f"<pruebas ocultas del laboratorio {lab}>", "exec"), namespace)
        made = namespace["cases"](np.random.default_rng(int(namespace.get("SEED", 0)) if seed is None else seed))
    except Exception as error:  # the instructor's file: any failure is reported, never a crash
        raise HiddenTestsError(f"las pruebas ocultas no se pudieron cargar ({type(error).__name__}: {error})") from None
    if not isinstance(made, Mapping):
        raise HiddenTestsError("cases(rng) debe devolver un dict {ejercicio: [Case, ...]}")
    unknown = sorted(set(made) - known)
    if unknown:
        raise HiddenTestsError(f"las pruebas ocultas nombran ejercicios que no existen: {', '.join(map(str, unknown))}")
    result: dict[str, tuple[Case, ...]] = {}
    for exercise, cases in made.items():
        if not all(isinstance(case, Case) for case in cases):
            raise HiddenTestsError(f"los casos de «{exercise}» deben ser Case(...)")
        result[exercise] = tuple(cases)
    return result
