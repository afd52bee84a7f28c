"""The exercise framework without Docker: the wire format, verdicts and scores, declarations, hidden cases, clean state."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from typing import Any

import numpy as np
import pytest
import torch

from harness.config import REPO_ROOT
from harness.course import catalog
from in_image.exercises import wire
from in_image.exercises.declared import declared_exercises
from in_image.exercises.framework import Case, CaseChecks, Exercise, Outcome, outcome_from, verdict
from in_image.exercises.isolation import clean_torch_state
from in_image.judge.lab_tests import HiddenTestsError, hidden_cases, lab_exercises, load_lab_tests


# ---- wire ----------------------------------------------------------------------------------------
def _round_trip(value: Any) -> Any:
    return wire.decode(json.loads(json.dumps(wire.encode(value))))


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), (True, True), (3, 3), (2.5, 2.5), ("texto", "texto"), ([1, "a"], [1, "a"]), ((1, 2), (1, 2)),
    ({"a": 1, 2: "b", (1, 2): None}, {"a": 1, 2: "b", (1, 2): None}), (np.float32(1.5), 1.5), (np.int64(7), 7),
    (torch.Size([2, 3]), wire.SizeData((2, 3))), (torch.device("cpu"), wire.DeviceData("cpu")),
    (torch.float64, wire.DtypeData("torch.float64")), (wire.Raised("ValueError: x"), wire.Raised("ValueError: x")),
])
def test_plain_values_cross_unchanged(value: Any, expected: Any) -> None:
    assert _round_trip(value) == expected


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_floats_cross(number: float) -> None:
    got = _round_trip(number)
    assert isinstance(got, float) and (math.isnan(got) if math.isnan(number) else got == number)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.int64, torch.int32, torch.uint8, torch.bool,
                                   torch.bfloat16, torch.float16, torch.complex64])
def test_tensors_cross_with_their_values_and_facts(dtype: torch.dtype) -> None:
    tensor = (torch.arange(6).reshape(2, 3) % 2).to(dtype)
    got = _round_trip(tensor)
    assert isinstance(got, wire.ArrayData) and got.is_tensor and got.shape == (2, 3)
    assert got.torch_dtype == str(dtype) and got.device == "cpu"
    assert np.array_equal(got.values.astype(np.complex128), tensor.to(torch.complex128).numpy()), f"{dtype} values changed"


def test_a_zero_dimensional_tensor_stays_zero_dimensional() -> None:
    got = _round_trip(torch.tensor(3.5))
    assert isinstance(got, wire.ArrayData) and got.shape == () and float(got.values) == 3.5, got


def test_autograd_facts_cross() -> None:
    x = torch.ones(2, requires_grad=True)
    got = _round_trip({"leaf": x, "result": torch.sqrt(x)})
    assert got["leaf"].requires_grad and got["leaf"].grad_fn is None
    assert got["result"].grad_fn == "SqrtBackward0"


def test_a_lying_tensor_subclass_crosses_as_what_it_really_holds() -> None:
    class Liar(torch.Tensor):
        @classmethod
        def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            return torch.full((5, 3), 0.5)

    got = _round_trip(torch.zeros(2).as_subclass(Liar))
    assert got.subclass == "test_a_lying_tensor_subclass_crosses_as_what_it_really_holds.<locals>.Liar"
    assert not got.is_tensor and got.shape == (2,) and not got.values.any(), "the subclass's lies must not cross"


def test_other_objects_cross_as_descriptions_only() -> None:
    got = _round_trip(object())
    assert isinstance(got, wire.ObjectData) and got.type_name == "builtins.object"


def _array(**overrides: Any) -> dict[str, Any]:
    return {"__array__": {"dtype": "float32", "shape": [2], "data": "AACAPwAAAEA=", **overrides}}


@pytest.mark.parametrize(("document", "reason"), [
    ({"__pickle__": "gASV"}, "unknown tag"),
    ({"a": 1, "b": 2}, "tagged forms"),
    (_array(dtype="object"), "valid dtype"),
    (_array(shape=[3]), "does not match"),
    (_array(shape=[-1]), "non-negative"),
    (_array(data="no es base64!"), "not base64"),
    (_array(shape=[100_000, 100_000]), "MB of arrays"),
    (_array(grad_fn=["no"]), "must be strings"),
    ({"__map__": [[{"__array__": 1}, 1]]}, "__array__ must hold"),
    ({"__size__": ["a"]}, "integers"),
    ({"__float__": "1e400x"}, "__float__"),
    ([[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]], "deeper"),
    (list(range(wire.MAX_ITEMS + 1)), "items"),
    ("x" * (wire.MAX_STRING + 1), "string longer"),
])
def test_malformed_documents_are_refused(document: Any, reason: str) -> None:
    with pytest.raises(wire.WireError, match=reason):
        wire.decode(document)


# ---- verdicts --------------------------------------------------------------------------------------
def _exercise(*, points: float = 2.0) -> Exercise:
    def compare(c: CaseChecks, case: Case, answer: Any) -> None:
        c.check("a", answer.get("a") is True, "a falla")
        c.check("b", answer.get("b") is True, "b falla")

    return Exercise("x", "equis", ("a", "b"), compare, (Case("el caso 1"), Case("el caso 2")), points=points)


def _answer(**value: Any) -> Outcome:
    return Outcome("answer", value)


@pytest.mark.parametrize(("outcomes", "status", "score", "message"), [
    ([_answer(a=True, b=True), _answer(a=True, b=True)], "passed", 2.0, ""),
    ([_answer(a=True, b=False), _answer(a=True, b=True)], "partial", 1.0, "b falla (con el caso 1)"),
    ([_answer(a=True, b=True), _answer(a=False, b=False)], "failed", 0.0, "a falla (con el caso 2); b falla (con el caso 2)"),
    ([_answer(a=True, b=True), Outcome("raised", message="ValueError: roto")], "error", 0.0, "ValueError: roto"),
    ([Outcome("pending", message="PENDIENTE"), _answer(a=True, b=True)], "not_attempted", 0.0, "PENDIENTE"),
    ([Outcome("missing", message="no encuentro «f»")] * 2, "not_attempted", 0.0, "no encuentro «f»"),
    ([_answer(a=True, b=True)], "error", 0.0, "una respuesta por caso"),
    ([Outcome("answer", "no es un dict")] * 2, "failed", 0.0, "la forma esperada"),
])
def test_verdicts(outcomes: list[Outcome], status: str, score: float, message: str) -> None:
    exercise = _exercise()
    result = verdict(exercise, exercise.cases, outcomes)
    assert result.status == status, f"{outcomes} -> {result}"
    assert result.score == score, f"{outcomes} -> {result}"
    assert message in result.message, f"expected {message!r} in {result.message!r}"
    assert 0 <= result.score <= result.max_score == 2.0


def test_a_criterion_passes_only_when_every_case_passes_it() -> None:
    exercise = _exercise(points=1.0)
    result = verdict(exercise, exercise.cases, [_answer(a=True, b=True), _answer(a=True, b=False)])
    assert [(c.name, c.passed) for c in result.criteria] == [("a", True), ("b", False)]
    assert result.checks_passed == 1 and result.score == 0.5


def test_a_criterion_no_case_tests_fails() -> None:
    exercise = Exercise("x", "equis", ("a", "b"), lambda c, case, answer: c.check("a", True, ""), (Case("uno", criteria=("a",)),))
    result = verdict(exercise, exercise.cases, [_answer()])
    assert result.status == "partial" and "ningún caso" in result.message


@pytest.mark.parametrize("document", [None, {"kind": "stolen"}, {"kind": "answer", "value": {"__pickle__": 1}}, "x"])
def test_malformed_answers_count_as_raised(document: Any) -> None:
    assert outcome_from(document).kind == "raised"


# ---- declarations and hidden cases -----------------------------------------------------------------
@pytest.mark.parametrize("lab_id", sorted(catalog.all_labs()))
def test_declarations_read_with_ast_match_the_exercises(lab_id: str) -> None:
    lab = catalog.find_lab(lab_id)
    declared = declared_exercises(lab.checks.read_text())
    exercises = lab_exercises(lab_id)
    assert [(d.id, d.title, d.points, d.checks) for d in declared] == [
        (e.id, e.title, e.points, len(e.criteria)) for e in exercises], "ast reading and importing must agree"


@pytest.mark.parametrize("lab_id", sorted(catalog.all_labs()))
def test_hidden_cases_only_add_inputs_to_known_exercises(lab_id: str) -> None:
    lab = catalog.find_lab(lab_id)
    tests = load_lab_tests(lab_id, lab.hidden_tests.read_text())
    for exercise in tests.exercises:
        cases = tests.cases[exercise.id]
        assert cases[: len(exercise.cases)] == exercise.cases, f"«{exercise.id}»: the public cases come first"
        for case in cases:
            assert set(case.criteria or exercise.criteria) <= set(exercise.criteria), f"«{exercise.id}»: {case}"


@pytest.mark.parametrize(("source", "reason"), [
    ("def cases(rng):\n    return {'no_existe': []}", "no existen"),
    ("def cases(rng):\n    return [1]", "debe devolver un dict"),
    ("def cases(rng):\n    return {'pinv': [1]}", "deben ser Case"),
    ("cases = 1 / 0", "ZeroDivisionError"),
    ("def cases(rng):\n    return {", "SyntaxError"),
    ("x = 1", "KeyError"),
])
def test_a_broken_hidden_tests_file_is_named(source: str, reason: str) -> None:
    with pytest.raises(HiddenTestsError, match=reason):
        hidden_cases(source, lab="00", known={"pinv"})


# ---- clean state ---------------------------------------------------------------------------------
def test_each_probe_starts_clean_and_the_notebook_gets_its_state_back() -> None:
    torch.manual_seed(0)
    seeded = torch.rand(1, dtype=torch.float32).item()
    torch.manual_seed(123)
    notebook_draw = torch.rand(1, dtype=torch.float32).item()
    torch.manual_seed(123)
    torch.set_grad_enabled(False)
    torch.set_default_dtype(torch.float64)
    try:
        with clean_torch_state(seed=0):
            inside = (torch.is_grad_enabled(), torch.get_default_dtype(), torch.rand(1).item())
            torch.set_grad_enabled(False)
        after = (torch.is_grad_enabled(), torch.get_default_dtype(), torch.rand(1, dtype=torch.float32).item())
    finally:
        torch.set_grad_enabled(True)
        torch.set_default_dtype(torch.float32)
    assert inside == (True, torch.float32, seeded), f"the probe must start clean: {inside}"
    assert after == (False, torch.float64, notebook_draw), f"the notebook's state (RNG included) must come back: {after}"


def test_the_judge_starts_without_torch() -> None:
    """The judge imports the criteria, not the kernel side: loading every lab's tests must not import torch (a second)."""
    code = ("import sys, pathlib\nimport in_image.judge.__main__\nfrom in_image.judge.lab_tests import load_lab_tests\n"
            "for path in sorted(pathlib.Path('labs/hidden').glob('lab*.py')):\n"
            "    load_lab_tests(path.stem.removeprefix('lab'), path.read_text())\n"
            "print(sorted(m for m in ('torch', 'sklearn', 'scipy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                          check=False, env={**os.environ, "PYTHONPATH": f"{REPO_ROOT / 'labs'}:{REPO_ROOT}"})
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"the judge's start-up imported {done.stdout.strip()}"
