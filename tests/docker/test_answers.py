"""Wrong answers and correct alternatives through the real grader: each gets its verdict, and comprobar agrees.

Every answer of tests/answers/wrong_answers.py, packed into a few notebooks per lab and graded in the
CPU image (real containers, two at a time). For each: the grade's verdict (full, partial, zero) and
message, the verdicts of the exercises it does not touch (full, unless it names its effects), and
the student-facing verdict of comprobar in the executed notebook, which must agree with the grade.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from harness.cli import main
from harness.course import catalog
from tests.answers.notebooks import comprobar_output, submission, write
from tests.answers.wrong_answers import LAB00, LAB01, Answer, notebooks, verdict_of
from tests.answers.wrong_answers_lab02 import LAB02
from tests.answers.wrong_answers_lab03 import LAB03

pytestmark = pytest.mark.docker
SUITES = {"00": LAB00, "01": LAB01, "02": LAB02, "03": LAB03}
CI_PARAMETERS = {"01", "02", "03"}  # graded with their CI parameters (fewer epochs, a shorter time budget)
CASES = [pytest.param(lab, answer, id=f"lab{lab}-{answer.name}") for lab, answers in SUITES.items() for answer in answers]
Graded = Callable[[str], dict[str, dict[str, Any]]]


def _grade(lab: str, answers: tuple[Answer, ...], folder: Path) -> dict[str, dict[str, Any]]:
    """{answer name: (its notebook's report row, its executed notebook, the notebook's answers)} for one lab."""
    found: dict[str, dict[str, Any]] = {}
    packed = notebooks(answers)
    paths = [write(submission(lab, replace={e: a.code for e, a in group.items()}), folder / f"respuestas{i:02d}.ipynb")
             for i, group in enumerate(packed)]
    reports = folder / "reports"
    # One recorded seed of the hidden cases: a verdict that depends on the drawn inputs (a singular AᵀA) stays fixed.
    extra = ["--seed", "1082061156903683534"] + (["--ci-parameters"] if lab in CI_PARAMETERS else [])
    if lab == "03":  # the deliverable trains 200 steps: two containers share the CPUs with the rest of the suite
        extra += ["--cell-timeout", "240"]
    code = main(["grade", *map(str, paths), "--lab", lab, "--jobs", "2", "--reports", str(reports), *extra])
    assert code in (0, 1), f"grading lab {lab}'s answers failed to run (exit {code})"
    report = json.loads((reports / f"grade-{lab}.json").read_text())
    for group, row in zip(packed, report["submissions"], strict=True):
        executed = nbformat.read(row["executed_notebook"], as_version=4)
        for answer in group.values():
            found[answer.name] = {"row": row, "executed": executed, "group": group}
    return found


@pytest.fixture(scope="module")
def graded(cpu_image: str, tmp_path_factory: pytest.TempPathFactory) -> Graded:
    """graded(lab): that lab's answers, graded the first time a test asks for them (-k selects labs)."""
    found: dict[str, dict[str, dict[str, Any]]] = {}

    def lab_answers(lab: str) -> dict[str, dict[str, Any]]:
        if lab not in found:
            found[lab] = _grade(lab, SUITES[lab], tmp_path_factory.mktemp(f"answers{lab}"))
        return found[lab]

    return lab_answers


def test_every_lab_has_its_answers() -> None:
    assert set(SUITES) == set(catalog.all_labs()), "each lab of labs/source needs its wrong answers in SUITES"


@pytest.mark.parametrize(("lab", "answer"), CASES)
def test_answer_gets_its_verdict_and_comprobar_agrees(graded: Graded, lab: str, answer: Answer) -> None:
    entry = graded(lab)[answer.name]
    rows = {row["id"]: row for row in entry["row"]["exercises"]}
    row = rows[answer.exercise]
    assert verdict_of(row["score"], row["max_score"]) == answer.verdict, (
        f"{answer.name}: «{answer.exercise}» got {row['score']}/{row['max_score']} ({row['status']}: {row['message']}), "
        f"expected {answer.verdict}")
    assert answer.message in row["message"], f"{answer.name}: the grade's message should say {answer.message!r}: {row}"
    said = comprobar_output(entry["executed"], answer.exercise)
    expected_mark = "✅" if answer.verdict == "full" or answer.hidden_only else "❌"
    assert said.startswith(expected_mark), f"{answer.name}: comprobar said {said!r}, the grade is {answer.verdict}"
    if expected_mark == "❌":
        assert answer.message in said, f"{answer.name}: comprobar must give the grade's reason {answer.message!r}: {said!r}"


@pytest.mark.parametrize(("lab", "answer"), CASES)
def test_other_exercises_keep_their_marks(graded: Graded, lab: str, answer: Answer) -> None:
    entry = graded(lab)[answer.name]
    touched = set(entry["group"])
    effects = {k: v for a in entry["group"].values() for k, v in a.effects.items()}
    for row in entry["row"]["exercises"]:
        if row["id"] in touched:
            continue
        wanted = effects.get(row["id"], "full")
        assert verdict_of(row["score"], row["max_score"]) == wanted, (
            f"{answer.name}'s notebook: «{row['id']}» got {row['score']}/{row['max_score']} ({row['message']}), "
            f"expected {wanted}")
