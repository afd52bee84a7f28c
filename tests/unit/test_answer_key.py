"""The answer key without Docker: labs 00 and 01 judged in-process as the grade judges them, comprobar from the kernel's data.

For every exercise, the solutions pass the public and hidden cases (the judge: expectations from the answer key) and
comprobar (expectations from practica/data, no answer key). Every wrong answer of tests/answers/wrong_answers.py gets
its verdict and message from the judge, and comprobar agrees (✅ exactly when the grade is full, unless only the
hidden inputs reveal the bug). And the kernel's side holds nothing that computes an answer.
"""

from __future__ import annotations

import ast
import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import pytest

from harness.config import REPO_ROOT
from harness.course import catalog
from in_image.exercises.framework import PASSED, Verdict
from tests.answers.in_process import comprobar, judge
from tests.answers.notebooks import submission
from tests.answers.reach_forgery import ECHOED
from tests.answers.wrong_answers import LAB00, LAB01, NOT_CHARGED_TWICE, Answer, verdict_of

matplotlib.use("Agg")
LABS = ("00", "01")
ANSWERS = {"00": LAB00, "01": LAB01}
# Exercises whose answer is the notebook's trained state (the CI run of the whole notebook checks them).
TRAINED = {"exactitud_prueba"}


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each lab's namespace after every code cell of its solutions (CI parameters), as a kernel would hold it."""
    namespaces = {}
    show, folder = plt.show, tmp_path_factory.mktemp("cuadernos")
    plt.show = lambda *args, **kwargs: None
    try:
        for lab in LABS:
            notebook = submission(lab, parameters=catalog.find_lab(lab).ci_parameters)
            namespace: dict[str, Any] = {"__name__": "__main__"}
            with pytest.MonkeyPatch.context() as patch:
                patch.chdir(folder)
                for cell in notebook.cells:
                    if cell.cell_type == "code" and not cell.source.lstrip().startswith(("%", "!")):
                        with contextlib.suppress(Exception):  # the statement's cells that show an error on purpose
                            exec(compile(cell.source, f"<lab {lab}>", "exec"), namespace)
            plt.close("all")
            namespaces[lab] = namespace
    finally:
        plt.show = show
    return namespaces


def _judge(lab: str, exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    return judge(lab, exercise_id, namespace)


def _comprobar(lab: str, exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    return comprobar(lab, exercise_id, namespace)


EXERCISES = [(lab, e.id) for lab in LABS for e in __import__(f"practica.lab{lab}_checks", fromlist=["EXERCISES"]).EXERCISES
             if e.id not in TRAINED]


@pytest.mark.parametrize(("lab", "exercise"), EXERCISES)
def test_the_solutions_pass_for_the_judge_and_for_comprobar(solved: dict[str, dict[str, Any]], lab: str,
                                                             exercise: str) -> None:
    judged = _judge(lab, exercise, dict(solved[lab]))
    assert judged.status == PASSED, f"lab {lab} «{exercise}», the judge: {judged.message}"
    checked = _comprobar(lab, exercise, dict(solved[lab]))
    assert checked.status == PASSED, f"lab {lab} «{exercise}», comprobar: {checked.message}"


WRONG = [(lab, a) for lab in LABS for a in ANSWERS[lab] if a.exercise not in TRAINED]


@pytest.mark.parametrize(("lab", "answer"), WRONG, ids=[f"{lab}-{a.name}" for lab, a in WRONG])
def test_each_answer_gets_its_verdict_and_comprobar_agrees(solved: dict[str, dict[str, Any]], lab: str,
                                                           answer: Answer) -> None:
    namespace = dict(solved[lab])
    exec(compile(answer.code, f"<{answer.name}>", "exec"), namespace)
    judged = _judge(lab, answer.exercise, namespace)
    assert verdict_of(judged.score, judged.max_score) == answer.verdict, (
        f"{answer.name}: {judged.score}/{judged.max_score} ({judged.message})")
    assert answer.message in judged.message, f"{answer.name}: the grade should say {answer.message!r}: {judged.message}"
    checked = _comprobar(lab, answer.exercise, namespace)
    full = answer.verdict == "full" or answer.hidden_only
    assert (checked.status == PASSED) == full, f"{answer.name}: comprobar says {checked.status} ({checked.message})"
    if not full:
        assert answer.message in checked.message, f"{answer.name}: comprobar should say {answer.message!r}: {checked.message}"


TWICE = [(a, other) for a in LAB01 for other in NOT_CHARGED_TWICE.get(a.name, ())]


@pytest.mark.parametrize(("answer", "other"), TWICE, ids=[f"{a.name}-{other}" for a, other in TWICE])
def test_one_mistake_costs_points_in_its_own_exercise_only(solved: dict[str, dict[str, Any]], answer: Answer,
                                                           other: str) -> None:
    namespace = dict(solved["01"])
    exec(compile(answer.code, f"<{answer.name}>", "exec"), namespace)
    for name, value in list(namespace.items()):  # the later functions read the broken one from this namespace
        if callable(value) and getattr(value, "__globals__", None) is solved["01"]:
            namespace[name] = type(value)(value.__code__, namespace, name, value.__defaults__, value.__closure__)
    assert _judge("01", answer.exercise, namespace).status != PASSED, f"{answer.name} must lose points in its exercise"
    judged = _judge("01", other, namespace)
    assert judged.status == PASSED, f"{answer.name} must not cost «{other}»: {judged.message}"
    checked = _comprobar("01", other, namespace)
    assert checked.status == PASSED, f"{answer.name}: comprobar of «{other}» says {checked.message}"


# ---- nothing on the kernel's side computes an answer -------------------------------------------------
KERNEL_SIDE = [*sorted((REPO_ROOT / "labs" / "practica").glob("*.py")), *sorted((REPO_ROOT / "in_image").rglob("*.py"))]


def _defined_and_imported(path: Path) -> tuple[set[str], set[str]]:
    tree = ast.parse(path.read_text())
    defined = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return defined, imported


def test_no_kernel_side_module_imports_or_defines_the_answer_key() -> None:
    key = REPO_ROOT / "labs" / "answer_key"
    answers = {name for p in key.glob("*.py") for name in _defined_and_imported(p)[0] if not name.startswith("_")}
    answers -= {"main"}
    for path in KERNEL_SIDE:
        defined, imported = _defined_and_imported(path)
        relative = path.relative_to(REPO_ROOT)
        judge_loader = relative == Path("in_image/judge/lab_tests.py")
        assert judge_loader or not any(name.startswith("answer_key") for name in imported), (
            f"{relative} imports the answer key")
        if relative.parts[:2] != ("in_image", "bench"):  # the benchmark's conv2d is a timed torch workload
            assert not defined & answers, f"{relative} defines the answer key's {sorted(defined & answers)}"


# ---- the reference attack, kernel and judge in one Python (tests/docker/test_forgery.py does it for real) ----
def _attack(lab: str, path: list[Path]) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*map(str, path), str(REPO_ROOT)])}
    done = subprocess.run([sys.executable, "-m", "tests.answers.reach_forgery_run", lab, str(REPO_ROOT / "labs")],
                          env=env, capture_output=True, text=True, timeout=600, check=False, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("lab", ["00", "01", "02", "03"])
def test_the_reference_attack_earns_nothing_without_the_answer_key(tmp_path: Path, lab: str) -> None:
    kernel = tmp_path / "kernel"  # what a kernel's path offers: the students' package, not the answer key
    kernel.mkdir()
    (kernel / "practica").symlink_to(REPO_ROOT / "labs" / "practica")
    printed = _attack(lab, [kernel])
    assert "FORJA referencias: []" in printed, printed
    echoed = ECHOED[lab]
    assert all(f"✅ Ejercicio «{e}»" in printed for e in echoed), f"the forgery fools comprobar (the control): {printed}"
    assert all(f"JUEZ {e} 0.0" in printed for e in echoed), f"the judge must give the forgery 0: {printed}"


def test_the_reference_attack_would_win_with_the_answer_key() -> None:
    """The control: with the answer key on the kernel's path, the same cell earns every point of the echoed exercises."""
    printed = _attack("00", [REPO_ROOT / "labs"])
    assert '"answer_key.lab00.expect"' in printed, printed
    assert all(f"JUEZ {e} 1.0" in printed for e in ECHOED["00"]), printed


# ---- a trivial notebook: every function an echo of its first argument, every variable None ----------
TRIVIAL_VARIABLES = {"00": ("aleatorio", "ceros", "datos", "forma_datos"),
                     "01": ("X_entrenamiento", "y_entrenamiento", "X_validacion", "y_validacion", "X_prueba", "y_prueba",
                            "cargador_entrenamiento", "modelo")}


def trivial(namespace: dict[str, Any], variables: tuple[str, ...]) -> dict[str, Any]:
    """The notebook's own functions replaced by echoes (first argument, or None), its answer variables by None."""
    def echo(*args: Any, **kwargs: Any) -> Any:
        return args[0] if args else None

    trivial_namespace = dict(namespace)
    for name, value in namespace.items():
        if getattr(getattr(value, "__code__", None), "co_filename", "").startswith("<lab"):
            trivial_namespace[name] = echo
    return trivial_namespace | dict.fromkeys(variables)


@pytest.mark.parametrize("lab", LABS)
def test_a_trivial_notebook_scores_nothing(solved: dict[str, dict[str, Any]], lab: str) -> None:
    namespace = trivial(solved[lab], TRIVIAL_VARIABLES[lab])
    exercises = [exercise for la, exercise in EXERCISES if la == lab]
    scores = {exercise: _judge(lab, exercise, dict(namespace)) for exercise in exercises}
    earned = {exercise: [c.name for c in v.criteria if c.passed] for exercise, v in scores.items() if v.score}
    assert not earned, earned
