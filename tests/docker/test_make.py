"""The instructor's Make targets for real: make labs, make check, make grade, and make lint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.config import REPO_ROOT
from harness.course import catalog
from tests.answers.notebooks import submission, write

pytestmark = pytest.mark.docker


def make(*arguments: str, timeout_s: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["make", "--no-print-directory", *arguments], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout_s, check=False)


def test_make_labs_writes_both_versions_of_every_lab() -> None:
    done = make("labs")
    assert done.returncode == 0, done.stderr[-2000:]
    for lab in catalog.all_labs().values():
        for version in ("student", "instructor"):
            path = REPO_ROOT / "build" / "labs" / version / lab.notebook_name
            assert path.exists() and str(path) in done.stderr, f"make labs should write and list {path}"


def test_make_check_grades_every_lab_in_the_cpu_image(cpu_image: str) -> None:
    done = make("check")
    assert done.returncode == 0, f"make check failed:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    report = json.loads((REPO_ROOT / "reports" / "run-cpu.json").read_text())
    graded = {row["lab"]: row for row in report["submissions"]}
    assert set(graded) == set(catalog.all_labs()), f"make check must cover every lab, graded {sorted(graded)}"
    for lab, row in graded.items():
        assert row["score"] == row["max_score"], f"lab {lab}: {[(e['id'], e['message']) for e in row['exercises']]}"


def test_make_grade_grades_the_given_notebooks(cpu_image: str, tmp_path: Path) -> None:
    notebook = write(submission("00", solved=False), tmp_path / "entrega_final.ipynb")
    done = make("grade", "LAB=00", f"SUBMISSIONS={notebook}", "JOBS=1")
    # harness grade exits 1 for a notebook that does not pass; make reports any failing command as 2.
    assert done.returncode == 2 and "grade] Error 1" in done.stderr, f"an unsolved notebook fails: {done.stderr[-2000:]}"
    assert "entrega_final" in done.stdout, f"the table names the notebook:\n{done.stdout}"
    report = json.loads((REPO_ROOT / "reports" / "grade-00.json").read_text())
    assert report["submissions"][0]["name"] == "entrega_final" and report["submissions"][0]["score"] == 0


def test_make_lint_is_clean() -> None:
    done = make("lint", timeout_s=600)
    assert done.returncode == 0, f"ruff (McCabe <= 10) and mypy --strict must pass:\n{done.stdout[-4000:]}"
