"""The reference attack in one Python, without Docker: the kernel part, then the judge part; prints what each earned.

Usage: python -m tests.answers.reach_forgery_run LAB JUDGE_PATH. The attack cell runs first, with whatever
the process's path offers (the test gives it only practica, or the answer key too: the control); then
JUDGE_PATH (the folder with the answer key) goes on the path and the judge asks the forged probes its
public and hidden cases. Prints "FORJA ...", comprobar's lines and one "JUEZ <exercise> <score>" per echoed exercise.
"""

from __future__ import annotations

import importlib
import json
import sys

from harness.course import catalog
from in_image.exercises import wire
from in_image.exercises.answering import run_cases
from in_image.exercises.framework import outcome_from, verdict
from tests.answers.reach_forgery import ECHOED, attack


def main(lab: str, judge_path: str) -> None:
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(attack(lab), "<celda pegada>", "exec"), namespace)
    sys.path.insert(0, judge_path)
    from in_image.judge.lab_tests import load_lab_tests  # noqa: PLC0415 (the judge's part, after the kernel's)

    tests = load_lab_tests(lab, catalog.find_lab(lab).hidden_tests.read_text())
    probes = importlib.import_module(f"practica.lab{lab}").PROBES
    for exercise in tests.exercises:
        if exercise.id in ECHOED[lab]:
            cases = tests.cases[exercise.id]
            inputs = [wire.decode(wire.encode(dict(case.inputs))) for case in cases]
            documents = run_cases(probes[exercise.id], namespace, inputs)
            result = verdict(exercise, cases, [outcome_from(json.loads(json.dumps(d))) for d in documents])
            print(f"JUEZ {exercise.id} {result.score}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
