"""The kernel as untrusted input, through the real judge in the host's Python (real kernels, no Docker).

A class run graded with forgeries beside honest notebooks: the forgery that overwrites the judge's
result fields aborts nothing and the others keep their marks; a display-update flood during the
judge's requests is dropped; a forgery that copies the hidden inputs everywhere gets none of them
into what goes back to students, and the inputs change with each run's seed; a forgery that switches
on only under grading earns nothing more than its honest part. The wire and reply schemas, and the
host's check of each result, on their own.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main
from harness.config import REPO_ROOT
from harness.course import catalog
from harness.grading.local import LocalExecutor
from harness.grading.results import Limits, judged
from harness.grading.session import grade_notebooks
from harness.grading.validation import SchemaViolation, check_submission
from in_image.exercises import wire
from in_image.exercises.tags import exercise_of
from in_image.judge import replies
from in_image.judge.engine import placeholder_exercises
from in_image.judge.lab_tests import load_lab_tests
from tests.answers import forgery
from tests.answers.notebooks import submission, write
from tests.utils.hidden_values import files_holding, hidden_tokens, leaked_tokens

LIMITS = Limits(cell_timeout_s=60, exercise_timeout_s=60)
DECLARED = [{"id": "pinv", "title": "pinv", "max_score": 1.0, "checks_total": 2}]


def _grade(tmp_path: Path, notebooks: dict[str, Any], *, seed: int | None = None) -> dict[str, Any]:
    """Grade the notebooks as one class run of lab 00 (local judge, CI parameters); the report."""
    paths = [(write(nb, tmp_path / "in" / f"{name}.ipynb"), name, f"{name}.ipynb") for name, nb in notebooks.items()]
    code = grade_notebooks(catalog.find_lab("00"), paths, executor=LocalExecutor(limits=LIMITS), variant="local", parallel=1,
                           reports=tmp_path / "reports", ci_parameters=True, details=False, seed=seed)
    assert code in (0, 1), f"the class run failed (exit {code})"
    report: dict[str, Any] = json.loads((tmp_path / "reports" / "grade-00.json").read_text())
    return report


def _rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in report["submissions"]}


@pytest.fixture(scope="module")
def class_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("class")
    report = _grade(folder, {
        "honesta-1": submission("00"),
        "sobrescribe-resultado": submission("00", insert=[forgery.RESULT_OVERWRITE]),
        "inunda-pantalla": submission("00", insert=[forgery.DISPLAY_FLOOD]),
        "solo-al-calificar": submission("00", solved=False, insert=[forgery.ONLY_UNDER_GRADING]),
        "honesta-2": submission("00"),
    })
    return folder, report


def test_the_class_run_writes_every_report_and_the_honest_keep_their_marks(class_run: tuple[Path, Any]) -> None:
    folder, report = class_run
    assert (folder / "reports" / "grade-00.junit.xml").exists(), "the JUnit report is always written"
    rows = _rows(report)
    assert list(rows) == ["honesta-1", "sobrescribe-resultado", "inunda-pantalla", "solo-al-calificar", "honesta-2"]
    for name in ("honesta-1", "honesta-2"):
        assert rows[name]["score"] == rows[name]["max_score"] == 15, (name, rows[name]["message"])
    assert isinstance(report["seed"], int), "the report records the run's seed"


def test_the_kernel_cannot_overwrite_the_judges_fields(class_run: tuple[Path, Any]) -> None:
    row = _rows(class_run[1])["sobrescribe-resultado"]
    assert row["status"] == "ok" and row["score"] == 15, "the forgery's honest part (the solutions) keeps its marks"
    assert isinstance(row["timeline"], list) and row["timeline"], "the judge's timeline stays the judge's"
    assert row["device"] is None, f"a forged environment is rejected whole, not taken: {row['device']}"
    assert any("input_transformers_post" in sign for sign in row["evidence"]), row["evidence"]
    assert any("rechazada" in sign and "environment" in sign for sign in row["evidence"]), row["evidence"]


def test_display_updates_during_requests_are_dropped(class_run: tuple[Path, Any]) -> None:
    row = _rows(class_run[1])["inunda-pantalla"]
    assert row["score"] == 15 and row["display_updates_dropped"] >= 1, row
    assert row["output_truncated"], "the dropped update counts toward the notebook's output cap"
    executed = Path(row["executed_notebook"])
    assert executed.stat().st_size < 2_000_000, "the 25 MB update never reached the executed notebook"
    assert "xxxxxxxxxx" not in executed.read_text()


def test_a_forgery_switched_on_under_grading_earns_only_its_honest_part(class_run: tuple[Path, Any]) -> None:
    row = _rows(class_run[1])["solo-al-calificar"]
    assert row["score"] == 0, [(e["id"], e["status"]) for e in row["exercises"] if e["score"]]
    pinv = next(e for e in row["exercises"] if e["id"] == "pinv")
    assert pinv["status"] == "not_attempted", "its cell still holds the placeholder, whatever the kernel answers"


def test_hidden_inputs_change_with_the_seed_and_never_reach_the_students(tmp_path: Path) -> None:
    runs = []
    for run in ("a", "b"):
        leak = tmp_path / f"fuga-{run}.txt"
        notebook = submission("00", replace={"pinv": forgery.PINV_ECHOES_ITS_INPUT},
                              insert=[forgery.hidden_leak_cell(str(leak))])
        report = _grade(tmp_path / run, {"fuga": notebook})
        hidden = hidden_tokens("00", report["seed"])
        assert hidden & leaked_tokens(leak), "the forgery saw the hidden inputs (else this test proves nothing)"
        export = tmp_path / run / "export"
        assert main(["export", "--report", str(tmp_path / run / "reports" / "grade-00.json"), "--out", str(export)]) == 0
        row = report["submissions"][0]
        pinv = next(e for e in row["exercises"] if e["id"] == "pinv")
        assert pinv["status"] in ("error", "failed") and "caso oculto" in pinv["message"], pinv
        leaks = {**files_holding(export, hidden), **files_holding(tmp_path / run / "reports", hidden)}
        assert not leaks, f"hidden inputs in files that go back to students or into the reports: {leaks}"
        runs.append((report["seed"], hidden))
    (seed_a, hidden_a), (seed_b, hidden_b) = runs
    assert seed_a != seed_b and len(hidden_a & hidden_b) <= len(hidden_a) // 20, (
        "each run draws other hidden inputs")


def test_the_same_seed_replays_the_same_hidden_inputs() -> None:
    source = catalog.find_lab("00").hidden_tests.read_text()
    first, again, other = (load_lab_tests("00", source, seed=s).hidden["pinv"] for s in (7, 7, 8))
    assert all((a.inputs["A"] == b.inputs["A"]).all() for a, b in zip(first, again, strict=True))
    assert not any((a.inputs["A"] == b.inputs["A"]).all() for a, b in zip(first, other, strict=True))


# ---- the wire and the reply schemas ------------------------------------------------------------------
def test_a_map_key_that_decodes_to_an_unhashable_tuple_is_a_wire_error() -> None:
    with pytest.raises(wire.WireError):
        wire.decode({"__map__": [[{"__tuple__": [[1, 2]]}, 1]]})
    with pytest.raises(wire.WireError):
        wire.decode({"__map__": [[{"__tuple__": [{"__array__": {"dtype": "int8", "shape": [1], "data": "AQ=="}}]}, 1]]})


@pytest.mark.parametrize("payload", [
    {"environment": {"python": "3.11", "timeline": "xx"}},
    {"environment": {"device": "x" * 201}},
    {"environment": {"device": 1}},
    {"environment": {}, "evidence": []},
    {"environment": "cpu"},
])
def test_environment_replies_follow_a_strict_schema(payload: Any) -> None:
    with pytest.raises(wire.WireError):
        replies.environment_facts(payload)


@pytest.mark.parametrize("payload", [
    {"exercise": "otro", "answers": [{"kind": "answer", "value": 1}]},
    {"exercise": "pinv", "answers": [{"kind": "answer", "value": 1}] * 2},
    {"exercise": "pinv", "answers": [{"kind": "answer", "value": 1, "score": 1}]},
    {"exercise": "pinv", "answers": [{"kind": "aprobado"}]},
    {"exercise": "pinv", "answers": [{"kind": "answer", "value": {"__map__": [[{"__tuple__": [[1]]}, 1]]}}]},
    {"exercise": "pinv", "answers": [{"kind": "answer"}], "timeline": "xx"},
])
def test_answer_replies_follow_a_strict_schema(payload: Any) -> None:
    with pytest.raises(wire.WireError):
        replies.answer_outcomes(payload, exercise="pinv", cases=1)


def test_valid_replies_are_taken() -> None:
    facts = replies.environment_facts({"environment": {"python": "3.11.9", "device": "cpu"}})
    assert facts == {"device": "cpu", "python": "3.11.9"}
    assert replies.evidence_signs({"evidence": ["b", "a", "a"]}) == ["a", "b"]
    (outcome,) = replies.answer_outcomes({"exercise": "pinv", "answers": [{"kind": "answer", "value": 2}]},
                                         exercise="pinv", cases=1)
    assert outcome.kind == "answer" and outcome.value == 2


def test_an_unhashable_key_makes_that_exercise_error_and_the_next_is_still_asked(tmp_path: Path) -> None:
    report = _grade(tmp_path, {"clave": submission("00", insert=[forgery.UNHASHABLE_KEY])})
    rows = {e["id"]: e for e in report["submissions"][0]["exercises"]}
    assert rows["pinv"]["status"] == "error" and "no es válida" in rows["pinv"]["message"], rows["pinv"]
    others = [e for i, e in rows.items() if i != "pinv"]
    assert all(e["status"] == "passed" for e in others), [(e["id"], e["message"]) for e in others if e["status"] != "passed"]


# ---- the host's check of each result ---------------------------------------------------------------
def _judged(raw: dict[str, Any]) -> Any:
    return judged({"exercises": [], **raw}, lab="00", notebook=Path("x.ipynb"), name="x", time_s=1.0, startup_s=None,
                  declared=DECLARED)


@pytest.mark.parametrize("raw", [
    {"timeline": "xx"},
    {"timeline": [["a", "b"]]},
    {"cell_errors": "xx"},
    {"cell_errors": [{"index": -1, "ename": "E", "evalue": "", "expected": False}]},
    {"kernel_reported": {"environment": {"device": "x" * 500}}},
    {"kernel_reported": {"evidence": ["x"] * 41}},
    {"exercises": [{"id": "pinv", "status": "aprobado"}]},
    {"attempts": "muchos"},
])
def test_a_malformed_judge_result_makes_that_notebook_error(raw: dict[str, Any]) -> None:
    result = _judged(raw)
    assert result.status == "error" and "no es válido" in result.message, result
    assert [e["status"] for e in result.exercises] == ["error"]
    check_submission(result.as_dict())  # the notebook's error entry follows the schema


def test_a_well_formed_judge_result_is_taken() -> None:
    result = _judged({"seed": 5, "exercises": [{"id": "pinv", "status": "passed", "score": 1.0, "checks_passed": 2,
                                                 "time_s": 0.1, "message": "", "title": "pinv"}],
                      "kernel_reported": {"environment": {"device": "cpu", "torch": "2.13.0"}, "evidence": ["e"]}})
    assert result.status == "ok" and result.score == 1.0 and result.device == "cpu" and result.evidence == ["e"]
    assert result.seed == 5


def test_the_validator_rejects_what_the_schema_forbids() -> None:
    good = _judged({}).as_dict()
    check_submission(good)
    for change in ({"status": "bien"}, {"extra": 1}, {"lab": "1"}, {"score": -1}, {"timeline": [["a"]]}):
        with pytest.raises(SchemaViolation):
            check_submission({**good, **change})


# ---- placeholders, read from the source --------------------------------------------------------------
def test_a_cell_that_still_holds_its_placeholder_is_not_attempted() -> None:
    student = submission("00", solved=False)
    tagged = {exercise_of(cell) for cell in student.cells} - {None}
    assert tagged and placeholder_exercises(student) == tagged
    solved = submission("00")
    assert placeholder_exercises(solved) == set()
    commented = submission("00", replace={"pinv": "# raise NotImplementedError('PENDIENTE: ...')\n"
                                                  "import numpy as np\npinv = np.linalg.pinv"})
    assert "pinv" not in placeholder_exercises(commented), "a placeholder left in a comment is not one"


# ---- the seed's options --------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", ["-1", "x", str(2**63)])
def test_a_bad_seed_gets_one_clear_line(seed: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notebook = write(submission("00"), tmp_path / "a.ipynb")
    with pytest.raises(SystemExit) as stopped:
        main(["grade", str(notebook), "--lab", "00", "--seed", seed])
    assert stopped.value.code == 2 and "--seed: must be an integer from 0" in capsys.readouterr().err


@pytest.mark.parametrize(("target", "extra"), [("grade", ["SUBMISSIONS=a.ipynb"]), ("collect", [])])
def test_make_passes_the_seed_on(target: str, extra: list[str]) -> None:
    made = subprocess.run(["make", "-n", target, "LAB=00", "SEED=12345", *extra], cwd=REPO_ROOT, capture_output=True,
                          text=True, check=True)
    assert f"{target} " in made.stdout and "--seed 12345" in made.stdout, made.stdout


def test_hidden_inputs_stashed_before_a_crash_stay_out_of_the_next_run(tmp_path: Path) -> None:
    """The kernel that got hidden inputs kills itself; the notebook's re-run prints them and raises with them."""
    report = _grade(tmp_path, {"guarda": submission("00", insert=[forgery.STASH_THEN_CRASH])})
    row = report["submissions"][0]
    assert row["attempts"] >= 2, "the crash made the judge re-run the notebook"
    pinv = next(e for e in row["exercises"] if e["id"] == "pinv")
    assert pinv["status"] == "crashed", pinv
    assert row["score"] == row["max_score"] - pinv["max_score"], "the other exercises keep their marks"
    hidden = hidden_tokens("00", report["seed"])
    leaks = files_holding(tmp_path / "reports", hidden)
    assert not leaks, f"what the re-run printed or raised went into the reports or the executed notebook: {leaks}"
