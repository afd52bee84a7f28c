"""Exercises, cases and criteria: one definition that both `comprobar` and the judge apply.

An exercise (declared in labs/practica/labNN_checks.py) names its criteria and has a `compare`
function. A case is the inputs a probe calls the student's code with (in the student's kernel,
labs/practica/labNN.py); the probe's answer comes back as data (in_image.exercises.wire), and
`compare(checks, case, answer)` decides each criterion the case tests by comparing the answer with
`checks.expected`, the case's expected outputs (and the outputs of known mistakes), with a Spanish
message saying what is wrong. Criteria never compute a correct answer themselves:
- in the kernel (`comprobar`), the expected outputs of the public cases are data, precomputed by the
  judge-only package (labs/answer_key) when the image is built (practica/data/labNN.json);
- in the judge, the exercise's `expect` hook (set from answer_key.labNN) computes them from the
  reference code, for the public cases and the hidden cases of labs/hidden/labNN.py alike.
A criterion passes when it passes in every case that tests it; the score is points x passed
criteria / criteria, clamped to [0, points]. numpy only: the judge of a lab whose criteria need
no torch never imports it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from in_image.exercises import wire
from in_image.exercises.wire import ArrayData, Raised

# Exercise statuses (stable keys of the reports).
PASSED = "passed"
PARTIAL = "partial"
FAILED = "failed"
ERROR = "error"
NOT_ATTEMPTED = "not_attempted"
MESSAGE_LIMIT = 500


@dataclass(frozen=True)
class Case:
    """Inputs for one call of the probe, and which criteria that call tests (None: all)."""

    description: str  # Spanish, completes "con ...": "una matriz 3x2"
    inputs: Mapping[str, Any] = field(default_factory=dict)
    criteria: tuple[str, ...] | None = None
    # Expected outputs and known mistakes' outputs, as data (the kernel's public cases, from practica/data).
    expected: Mapping[str, Any] = field(default_factory=dict)


class CaseChecks:
    """The criteria one case decides: `check(criterion, ok, message)`; the first failure's message is kept."""

    def __init__(self, criteria: Sequence[str], *, expected: Mapping[str, Any] | None = None) -> None:
        self.criteria = tuple(criteria)
        self.expected: Mapping[str, Any] = expected or {}
        self.failures: dict[str, str] = {}
        self.passes: set[str] = set()

    def check(self, criterion: str, ok: object, message: str) -> bool:
        if criterion not in self.criteria:
            raise KeyError(f"unknown criterion {criterion!r} (declared: {', '.join(self.criteria)})")
        if ok:
            self.passes.add(criterion)
            return True
        self.failures.setdefault(criterion, message)
        return False

    def tensor(self, value: Any, *, criterion: str, what: str) -> ArrayData | None:
        """value when it is a plain torch tensor (the criterion passes so far); else the criterion fails, saying what it is."""
        if isinstance(value, ArrayData) and value.is_tensor:
            self.check(criterion, True, "")
            return value
        if isinstance(value, Raised):
            self.check(criterion, False, value.message)
        elif isinstance(value, ArrayData) and value.subclass:
            self.check(criterion, False, f"{what} es una subclase de torch.Tensor ({value.subclass}), no un tensor")
        else:
            self.check(criterion, False, f"{what} debe ser un torch.Tensor (es {describe(value)})")
        return None

    def fail_rest(self, tested: Sequence[str], message: str) -> None:
        """Every tested criterion not decided yet fails with message."""
        for criterion in tested:
            if criterion not in self.passes and criterion not in self.failures:
                self.failures[criterion] = message


Compare = Callable[[CaseChecks, Case, Any], None]
# The judge's expectations of a case: (exercise id, case, the decoded answer) -> expected outputs.
Expect = Callable[[str, Case, Any], Mapping[str, Any]]


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str  # Spanish
    criteria: tuple[str, ...]
    compare: Compare
    cases: tuple[Case, ...]  # the public ones: comprobar's, and the judge's first
    points: float = 1.0
    expect: Expect | None = None  # set by the judge only (answer_key); the kernel reads case.expected
    # Exercises the notebook must attempt for this one to count (a trained model comes from the notebook's training)
    requires: tuple[str, ...] = ()

    def tested_by(self, case: Case) -> tuple[str, ...]:
        return case.criteria if case.criteria is not None else self.criteria


def case_digest(case: Case) -> str:
    """What ties a case's precomputed expected outputs to its description and inputs (stale data is detected)."""
    encoded = json.dumps(wire.encode(dict(case.inputs)), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{case.description}\0{encoded}".encode()).hexdigest()[:16]


@dataclass
class CriterionResult:
    name: str
    passed: bool
    message: str = ""


@dataclass
class Verdict:
    """An exercise's result (the keys of the JSON report's exercise entries)."""

    id: str
    title: str
    status: str
    score: float
    max_score: float
    checks_passed: int
    checks_total: int
    time_s: float
    message: str
    criteria: list[CriterionResult] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def close(actual: ArrayData | None, expected: Any, *, rtol: float = 1e-5, atol: float = 1e-6) -> bool:
    """actual's values have expected's shape and are within tolerance of it (NaN never matches)."""
    if actual is None:
        return False
    wanted = np.asarray(expected)
    values = actual.values
    if values.shape != wanted.shape or values.dtype.kind not in "fciub" or wanted.dtype.kind not in "fciub":
        return False
    return bool(np.allclose(values.astype(np.complex128 if values.dtype.kind == "c" else np.float64), wanted,
                            rtol=rtol, atol=atol, equal_nan=False))


def spanish_number(value: float, spec: str) -> str:
    """value formatted by the format spec, with the decimal comma Spanish messages use: (0.932, ".1f") → "0,9"."""
    return format(value, spec).replace(".", ",")


def describe(value: Any) -> str:
    """A short Spanish description of a value's kind, for messages."""
    if value is None:
        return "None"
    if isinstance(value, Raised):
        return f"un error: {value.message}"
    if isinstance(value, ArrayData):
        return f"un array de numpy {value.shape}" if value.torch_dtype is None else f"un tensor {value.shape}"
    kind = getattr(value, "type_name", None) or type(value).__name__
    return f"{kind}"


# ---- the answers a probe sends back, one per case -----------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What happened when the probe ran one case in the student's kernel."""

    kind: str  # "answer", "missing" (a name the exercise needs), "pending" (NotImplementedError), "raised"
    value: Any = None
    message: str = ""


def outcome_from(document: Any) -> Outcome:
    """One case's answer document, its value decoded from wire data; a malformed one counts as raised."""
    if not isinstance(document, Mapping) or document.get("kind") not in ("answer", "missing", "pending", "raised"):
        return Outcome("raised", message="la comprobación no recibió una respuesta válida del cuaderno")
    message = document.get("message", "")
    try:
        value = wire.decode(document.get("value"))
    except wire.WireError as error:
        return Outcome("raised", message=f"la respuesta del cuaderno no se puede leer ({error})")
    return Outcome(str(document["kind"]), value, str(message)[:MESSAGE_LIMIT])


# ---- judging -----------------------------------------------------------------------------------
def judge_case(exercise: Exercise, case: Case, outcome: Outcome) -> CaseChecks:
    """Decide the criteria the case tests from its outcome; never raises."""
    tested = exercise.tested_by(case)
    checks = CaseChecks(exercise.criteria, expected=case.expected)
    if outcome.kind == "raised":
        checks.fail_rest(tested, outcome.message)
        return checks
    try:
        if exercise.expect is not None:
            checks.expected = {**case.expected, **exercise.expect(exercise.id, case, outcome.value)}
        exercise.compare(checks, case, outcome.value)
    except Exception as error:  # an answer of an unexpected shape must not crash comprobar or the judge
        checks.fail_rest(tested, f"la respuesta no tiene la forma esperada ({type(error).__name__}: {error})"[:300])
    first = next(iter(checks.failures.values()), "no se comprobó")
    checks.fail_rest(tested, first)
    return checks


def verdict(exercise: Exercise, cases: Sequence[Case], outcomes: Sequence[Outcome], *, time_s: float = 0.0) -> Verdict:
    """The exercise's verdict over every case (the same for comprobar and the judge)."""
    started = time.perf_counter()
    pending = next((o for o in outcomes if o.kind in ("missing", "pending")), None)
    if pending is not None or len(outcomes) != len(cases):
        message = pending.message if pending else "la comprobación no devolvió una respuesta por caso"
        return unanswered(exercise, status=NOT_ATTEMPTED if pending else ERROR, message=message, time_s=time_s)
    failed: dict[str, str] = {}
    tested: set[str] = set()
    for case, outcome in zip(cases, outcomes, strict=True):
        checks = judge_case(exercise, case, outcome)
        tested.update(exercise.tested_by(case))
        for criterion, text in checks.failures.items():
            failed.setdefault(criterion, f"{text} (con {case.description})")
    for criterion in exercise.criteria:
        if criterion not in tested:
            failed.setdefault(criterion, "ningún caso lo comprueba")
    passed = [c for c in exercise.criteria if c not in failed]
    raised = any(o.kind == "raised" for o in outcomes)
    status = PASSED if not failed else ERROR if raised else PARTIAL if passed else FAILED
    message = "; ".join(dict.fromkeys(failed[c] for c in exercise.criteria if c in failed))
    return _result(exercise, status=status, passed=passed, failed=failed, message=message,
                   time_s=time_s + time.perf_counter() - started)


def unanswered(exercise: Exercise, *, status: str, message: str, time_s: float = 0.0) -> Verdict:
    """A verdict without answers (pending, timed out, crashed, not evaluated): no criterion passes."""
    return _result(exercise, status=status, passed=[], failed={c: message for c in exercise.criteria}, message=message,
                   time_s=time_s)


def _result(exercise: Exercise, *, status: str, passed: list[str], failed: dict[str, str], message: str,
            time_s: float) -> Verdict:
    total = len(exercise.criteria)
    score = exercise.points * len(passed) / total if total and status != NOT_ATTEMPTED else 0.0
    score = round(min(max(score, 0.0), exercise.points), 4)
    criteria = [CriterionResult(name, name not in failed, failed.get(name, "")) for name in exercise.criteria]
    return Verdict(exercise.id, exercise.title, status, score, exercise.points, len(passed), total, round(time_s, 4),
                   message[:MESSAGE_LIMIT], criteria)


def find(exercises: Sequence[Exercise], exercise_id: str) -> Exercise:
    for exercise in exercises:
        if exercise.id == exercise_id:
            return exercise
    valid = ", ".join(f"«{e.id}»" for e in exercises)
    raise KeyError(f"no existe el ejercicio «{exercise_id}»; los ejercicios son: {valid}")
