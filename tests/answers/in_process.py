"""A lab's exercises judged in this process, as the grade judges them and as `comprobar` checks them.

The judge's side: the public and the hidden cases (expected outputs from the answer key), the inputs and the
answers through the wire format and JSON, as between the kernel and the judge, and the hidden cases' failures
guarded as the judge guards them. `comprobar`'s side: the public cases, with the kernel's precomputed data.
"""

from __future__ import annotations

import importlib
import json
from typing import Any

import matplotlib.pyplot as plt
import pytest

from harness.course import catalog, versions
from in_image.exercises import wire
from in_image.exercises.answering import run_cases
from in_image.exercises.framework import Verdict, find, outcome_from
from in_image.judge.engine import guarded_verdict
from in_image.judge.lab_tests import load_lab_tests
from practica.comprobacion import evaluar, public_cases


def probes(lab: str) -> Any:
    return importlib.import_module(f"practica.lab{lab}").PROBES


def judge(lab: str, exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    """The verdict the judge gives (the hidden cases from the hidden tests file's own seed)."""
    tests = load_lab_tests(lab, catalog.find_lab(lab).hidden_tests.read_text())
    exercise = next(e for e in tests.exercises if e.id == exercise_id)
    inputs = [wire.decode(wire.encode(dict(case.inputs))) for case in tests.cases[exercise_id]]
    outcomes = [outcome_from(json.loads(json.dumps(d))) for d in run_cases(probes(lab)[exercise_id], namespace, inputs)]
    judged: Verdict = guarded_verdict(exercise, tests.public[exercise_id], tests.hidden[exercise_id], outcomes,
                                      elapsed=0.0, untrusted=False)
    return judged


def comprobar(lab: str, exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    """What comprobar says: the public cases, their expected outputs from the kernel's data (no answer key)."""
    exercise = find(importlib.import_module(f"practica.lab{lab}_checks").EXERCISES, exercise_id)
    assert exercise.expect is None, "the kernel's exercises carry no answer key"
    checked: Verdict = evaluar(exercise, probes(lab)[exercise_id], namespace, cases=public_cases(lab, exercise))
    return checked


def notebook_namespace(lab: str, monkeypatch: pytest.MonkeyPatch, *markers: str) -> dict[str, Any]:
    """The namespace after the instructor version's code cells that contain each marker, in that order."""
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: None)
    found = catalog.find_lab(lab)
    instructor = versions.make_version(catalog.read_notebook(found.source), student=False, origin=str(found.source))
    namespace: dict[str, Any] = {}
    for marker in markers:
        cell = next(c for c in instructor.cells if c.cell_type == "code" and marker in c.source)
        exec(compile(cell.source, f"<{marker}>", "exec"), namespace)
    plt.close("all")
    return namespace
