"""The "Adding a lab" guide of docs/instructors.md, followed for a small lab from tests/fixtures/new_lab: generated
and graded.

The course is copied to a temporary folder (DL_LAB_LABS_DIR), the fixture lab's four files added as the
guide says, and then: `harness labs` makes its student and instructor versions, `harness run 99 --variant
local` grades the solutions (full marks), and the judge grades the student version (not attempted) and a
wrong answer (partial credit, with the criterion's message) in the host's Python.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from harness.cli import main
from harness.config import REPO_ROOT
from harness.course import catalog
from harness.grading.jobs import GradingJob
from harness.grading.local import LocalExecutor
from harness.grading.results import Limits
from tests.answers.notebooks import submission, write

FIXTURE = REPO_ROOT / "tests" / "fixtures" / "new_lab"
NEW_FILES = ("source/99-ejemplo.ipynb", "practica/lab99.py", "practica/lab99_checks.py", "hidden/lab99.py")


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    labs = tmp_path / "labs"
    shutil.copytree(REPO_ROOT / "labs", labs, ignore=shutil.ignore_patterns("__pycache__"))
    for name in NEW_FILES:
        shutil.copy2(FIXTURE / name, labs / name)
    monkeypatch.setenv("DL_LAB_LABS_DIR", str(labs))
    yield labs


def test_a_new_lab_is_generated_and_its_solutions_get_full_marks(course: Path, tmp_path: Path) -> None:
    lab = catalog.find_lab("99")
    assert lab.title == "Laboratorio de ejemplo" and lab.checks == course / "practica" / "lab99_checks.py"
    assert main(["labs", "--out", str(tmp_path / "generated")]) == 0
    student = nbformat.read(tmp_path / "generated" / "student" / "99-ejemplo.ipynb", as_version=4)
    assert "PENDIENTE" in nbformat.writes(student) and "torch.arange(n) ** 2" not in nbformat.writes(student)
    assert main(["run", "99", "--variant", "local", "--reports", str(tmp_path / "reports")]) == 0
    report = json.loads((tmp_path / "reports" / "run-local.json").read_text())
    assert report["summary"]["score"] == report["summary"]["max_score"] == 3.0, report["summary"]


def _grade(notebook: nbformat.NotebookNode, tmp_path: Path) -> dict[str, dict[str, object]]:
    path = write(notebook, tmp_path / "entrega.ipynb")
    result = LocalExecutor(limits=Limits()).run(GradingJob(lab=catalog.find_lab("99"), notebook=path, name="entrega"))
    return {row["id"]: row for row in result.exercises}


def test_a_new_lab_grades_pending_and_wrong_answers(course: Path, tmp_path: Path) -> None:
    pending = _grade(submission("99", solved=False), tmp_path)
    assert {row["status"] for row in pending.values()} == {"not_attempted"}, pending
    graded = _grade(submission("99", replace={"media_filas": "def media_filas(m):\n    return m.mean(dim=0)"}), tmp_path)
    assert graded["cuadrados"]["status"] == "passed", graded["cuadrados"]
    row = graded["media_filas"]
    assert row["status"] in ("partial", "failed", "error") and row["score"] == 0.0, row
    assert "medias" in str(row["message"]), f"the deduction says why: {row['message']}"
