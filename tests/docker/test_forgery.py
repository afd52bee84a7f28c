"""Forged grades through the real grader: each forgery gets exactly what its honest part earns.

Every notebook of tests/answers/forgery.py graded in the CPU image (real containers, two at a time):
the score must equal the honest part's (0 on the unsolved student version, full marks on the solutions),
every exercise row must stay within its points, and the interference is reported as evidence where
the kernel can see it (reported for the instructor, never graded). The kernel as untrusted input: a
forged result field aborts nothing, a display-update flood is dropped, hidden inputs change with each
run's seed and none reaches `harness export`, an unhashable map key costs only its exercise.
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
from tests.answers.forgery import FORGERIES, PINV_ECHOES_ITS_INPUT, UNHASHABLE_KEY, Forgery, hidden_leak_cell
from tests.answers.notebooks import submission, write
from tests.answers.reach_forgery import ECHOED, attack
from tests.utils.hidden_values import files_holding, hidden_tokens

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def graded(cpu_image: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("forgeries")
    paths = [write(submission("00", solved=f.solved, insert=f.cells, replace=dict(f.replace)), folder / f"{f.name}.ipynb")
             for f in FORGERIES]
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


def test_the_result_overwrite_aborts_nothing_and_keeps_its_evidence(graded: dict[str, dict[str, Any]]) -> None:
    """A kernel that forges its facts to overwrite the judge's fields: rejected whole, the class run goes on."""
    row = graded["overwrites-result-fields-solved"]
    assert isinstance(row["timeline"], list) and row["timeline"], "the judge's timeline stays the judge's"
    assert row["device"] is None, f"a forged environment is not taken: {row['device']}"
    assert any("rechazada" in sign for sign in row["evidence"]), row["evidence"]
    honest = graded["signals-to-parent-solved"]
    assert honest["score"] == honest["max_score"], "the notebooks beside it keep their marks"


def test_a_display_update_flood_during_requests_is_dropped(graded: dict[str, dict[str, Any]]) -> None:
    row = graded["display-update-flood-solved"]
    assert row["display_updates_dropped"] >= 1 and row["output_truncated"], row
    assert row["executed_notebook"] is not None, f"the executed notebook is kept: {row['executed_notebook_reason']}"
    assert Path(row["executed_notebook"]).stat().st_size < 2_000_000


def test_hidden_inputs_change_with_each_run_and_never_reach_the_export(cpu_image: str, tmp_path: Path) -> None:
    notebook = submission("00", replace={"pinv": PINV_ECHOES_ITS_INPUT}, insert=[hidden_leak_cell("/tmp/fuga.txt")])
    seen = []
    for run in ("a", "b"):
        path = write(notebook, tmp_path / run / "fuga.ipynb")
        reports = tmp_path / run / "reports"
        assert main(["grade", str(path), "--lab", "00", "--reports", str(reports), "--cell-timeout", "30"]) in (0, 1)
        report = json.loads((reports / "grade-00.json").read_text())
        hidden = hidden_tokens("00", report["seed"])
        export = tmp_path / run / "export"
        assert main(["export", "--report", str(reports / "grade-00.json"), "--out", str(export)]) == 0
        leaks = {**files_holding(export, hidden), **files_holding(reports, hidden)}
        assert not leaks, f"hidden inputs in the export or the reports: {leaks}"
        seen.append((report["seed"], hidden))
    (seed_a, hidden_a), (seed_b, hidden_b) = seen
    assert seed_a != seed_b and hidden_a and len(hidden_a & hidden_b) <= len(hidden_a) // 20, (
        "each run draws other hidden inputs")


def test_an_unhashable_map_key_is_that_exercise_error_only(cpu_image: str, tmp_path: Path) -> None:
    path = write(submission("00", insert=[UNHASHABLE_KEY]), tmp_path / "clave.ipynb")
    assert main(["grade", str(path), "--lab", "00", "--reports", str(tmp_path / "reports")]) in (0, 1)
    row = json.loads((tmp_path / "reports" / "grade-00.json").read_text())["submissions"][0]
    statuses = {e["id"]: e["status"] for e in row["exercises"]}
    assert statuses.pop("pinv") == "error" and set(statuses.values()) == {"passed"}, statuses
# ---- the old attack: the kernel answering with the judge's own computations ----------------------------
@pytest.mark.parametrize("lab", ["00", "01", "02", "03"])
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
