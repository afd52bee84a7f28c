"""The judge's tests of a lab: the exercises and public cases of practica.labNN_checks, plus the hidden cases,
each judged against the expected outputs that the answer key (answer_key.labNN) computes in this process.

The hidden tests file (labs/hidden/labNN.py) reaches the judge only (never the image, never the
kernel) and defines `cases(rng) -> {exercise id: [Case, ...]}`. Its cases are other inputs for the
same criteria; the kernel only ever sees those inputs. The generator is seeded with the grading
run's seed, made by the host for each run and recorded in its report (`--seed` replays a run), so
inputs copied out of one run are useless in the next; a file's own `SEED` serves only when no run
seed is given.

The answer key is judge-only: in the image it lies in ANSWER_KEY_ROOT (root-only, 0700), which only
this process puts on its sys.path; on the host (--variant local) it is in the labs folder, already on
the judge's path.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from in_image.exercises.framework import Case, Exercise

# Where the lab image installs the answer key (docker/Dockerfile): readable by root only.
ANSWER_KEY_ROOT = Path("/opt/dl-lab-judge")


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


def answer_key(lab: str) -> Any:
    """The lab's answer key module (answer_key.labNN), from the judge-only folder when there is one; None for a
    lab whose criteria still compute their expected values themselves (no answer key yet)."""
    if ANSWER_KEY_ROOT.is_dir() and str(ANSWER_KEY_ROOT) not in sys.path:
        sys.path.insert(0, str(ANSWER_KEY_ROOT))
    name = f"answer_key.lab{lab}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name != name:
            raise
        return None


def lab_exercises(lab: str) -> tuple[Exercise, ...]:
    """The lab's exercises, each with the answer key's `expect` (criteria compare with what it computes)."""
    module = importlib.import_module(f"practica.lab{lab}_checks")
    key = answer_key(lab)
    if key is None:
        return tuple(module.EXERCISES)
    return tuple(dataclasses.replace(exercise, expect=key.expect) for exercise in module.EXERCISES)


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
