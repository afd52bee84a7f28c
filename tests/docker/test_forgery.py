"""Forged grades through the real grader: each forgery gets exactly what its honest part earns.

Every notebook of tests/answers/forgery.py graded in the CPU image (real containers, two at a time):
the score must equal the honest part's (0 on the unsolved student version, full marks on the solutions),
every exercise row must stay within its points, and the interference is reported as evidence where
the kernel can see it (reported for the instructor, never graded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from harness.cli import main
from harness.course import catalog
from in_image.exercises.declared import declared_in
from tests.answers.forgery import FORGERIES, Forgery
from tests.answers.notebooks import submission, write
from tests.answers.reach_forgery import ECHOED, attack

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def graded(cpu_image: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("forgeries")
    paths = [write(submission("00", solved=f.solved, insert=f.cells), folder / f"{f.name}.ipynb") for f in FORGERIES]
    code = main(["grade", *map(str, paths), "--lab", "00", "--jobs", "2", "--cell-timeout", "20", "--exercise-timeout", "20",
                 "--reports", str(folder / "reports")])
    assert code in (0, 1), f"grading the forgeries failed to run (exit {code})"
    report = json.loads((folder / "reports" / "grade-00.json").read_text())
    return {row["name"]: row for row in report["submissions"]}


@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_forgery_earns_only_its_honest_part(graded: dict[str, dict[str, Any]], forgery: Forgery) -> None:
    row = graded[forgery.name]
    assert row["status"] == "ok", f"{forgery.name}: the judge must produce a result: {row['message']}"
    earned = {e["id"]: (e["score"], e["status"], e["message"]) for e in row["exercises"] if e["score"]}
    assert row["score"] == forgery.honest_score, (
        f"{forgery.name}: scored {row['score']}, its honest part earns {forgery.honest_score}; points from {earned}")
    for exercise in row["exercises"]:
        assert 0 <= exercise["score"] <= exercise["max_score"], f"{forgery.name}: unclamped score {exercise}"
    declared = declared_in(catalog.find_lab("00").checks)
    assert [e["id"] for e in row["exercises"]] == [d.id for d in declared], f"{forgery.name}: one result per exercise"


@pytest.mark.parametrize("forgery", [f for f in FORGERIES if f.evidence], ids=lambda f: f.name)
def test_interference_is_reported_as_evidence(graded: dict[str, dict[str, Any]], forgery: Forgery) -> None:
    evidence = graded[forgery.name]["evidence"]
    assert any(forgery.evidence in item for item in evidence), f"{forgery.name}: evidence should mention " \
        f"{forgery.evidence!r}: {evidence}"


# ---- the old attack: the kernel answering with the judge's own computations ----------------------------
@pytest.mark.parametrize("lab", ["00", "01", "02"])
def test_a_blank_notebook_with_the_reference_attack_earns_nothing(cpu_image: str, tmp_path: Path, lab: str) -> None:
    """Blank student notebook + one cell that imports the references, rebuilds the test set and replaces PROBES: 0.

    The cell finds nothing that computes an answer; its forged probes echo the kernel's data, which fools
    comprobar on the public cases (the control that the forgery works) but not the judge's hidden inputs."""
    notebook = write(submission(lab, solved=False, insert=(attack(lab),)), tmp_path / f"forja-{lab}.ipynb")
    code = main(["grade", str(notebook), "--lab", lab, "--reports", str(tmp_path / "reports")])
    assert code in (0, 1), f"grading failed to run (exit {code})"
    row = json.loads((tmp_path / "reports" / f"grade-{lab}.json").read_text())["submissions"][0]
    assert row["status"] == "ok", row["message"]
    executed = nbformat.read(row["executed_notebook"], as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    assert "FORJA referencias: []" in printed, f"lab {lab}: the kernel reached a reference or rebuilder: {printed[:600]}"
    for exercise in ECHOED[lab]:
        assert f"✅ Ejercicio «{exercise}»" in printed, (
            f"lab {lab}: the forged probe of «{exercise}» should fool comprobar on the public cases: {printed[-1500:]}")
    earned = {e["id"]: e["score"] for e in row["exercises"] if e["score"]}
    assert row["score"] == 0, f"lab {lab}: the attack earned {row['score']}: {earned}"
