"""Grading logic without Docker: the checking framework, reports, CLI errors, and the runner in the host's Python."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest

from harness.cli import main
from harness.config import REPO_ROOT
from harness.course import catalog, versions
from harness.grading.host import GradingJob, LocalExecutor
from harness.grading.model import Limits
from harness.grading.report import SCHEMA_FILE, junit_cases, report_dict
from in_image.exercises import tags
from in_image.exercises.declared import declared_exercises

sys.path.insert(0, str(REPO_ROOT / "labs"))
from practica.verificacion import Registro, cargar


def _registro(checks: list[bool], *, declared: int, raise_after: Exception | None = None) -> Registro:
    registro = Registro("99")

    @registro.prueba("x", titulo="x", comprobaciones=declared, puntos=2.0)
    def _(ns: dict[str, Any], c: Any) -> None:
        for index, ok in enumerate(checks):
            c.verificar(ok, f"comprobación {index}")
        if raise_after:
            raise raise_after

    return registro


@pytest.mark.parametrize(("checks", "declared", "error", "status", "score"), [
    ([True, True], 2, None, "passed", 2.0),
    ([True, False], 2, None, "partial", 1.0),
    ([False, False], 2, None, "failed", 0.0),
    ([True], 4, ValueError("roto"), "error", 0.5),            # partial credit for what passed before the error
    ([], 3, NotImplementedError("PENDIENTE: hazlo"), "not_attempted", 0.0),
    ([True, True, True], 2, None, "passed", 2.0),             # more checks than declared: the count wins
])
def test_partial_credit(checks: list[bool], declared: int, error: Exception | None, status: str, score: float) -> None:
    result = _registro(checks, declared=declared, raise_after=error).evaluar("x", {})
    assert (result.status, result.score) == (status, score), f"{checks} of {declared} checks, error {error!r}"


def test_a_missing_name_means_not_attempted() -> None:
    registro = Registro("99")

    @registro.prueba("x", titulo="x", comprobaciones=1)
    def _(ns: dict[str, Any], c: Any) -> None:
        c.obtener("no_existe")

    result = registro.evaluar("x", {})
    assert result.status == "not_attempted" and "no_existe" in result.message


@pytest.mark.parametrize("lab_id", ["00", "01"])
def test_declared_exercises_match_the_loaded_tests(lab_id: str) -> None:
    path = REPO_ROOT / "labs" / "hidden" / f"lab{lab_id}.py"
    registro = cargar(path.read_text(), lab=lab_id, origen=str(path))
    declared = declared_exercises(path.read_text())
    assert [d.id for d in declared] == list(registro.pruebas), "ast reading and loading must agree"
    assert [(d.points, d.checks) for d in declared] == [(p.puntos, p.comprobaciones) for p in registro.pruebas.values()]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labs")
    versions.generate(out=out)
    return out


def _local(notebook: Path, lab_id: str, tmp_path: Path, **limits: Any) -> Any:
    lab = catalog.find_lab(lab_id)
    job = GradingJob(lab=lab, notebook=notebook, name=notebook.stem, parameters=dict(lab.ci_parameters),
              save_executed=tmp_path / "executed.ipynb")
    return LocalExecutor(limits=Limits(**limits)).run(job)


def test_local_runner_solutions_score_full_marks(generated: Path, tmp_path: Path) -> None:
    result = _local(generated / "instructor" / "00-introduccion.ipynb", "00", tmp_path)
    failing = [(e["id"], e["status"], e["message"]) for e in result.exercises if e["status"] != "passed"]
    assert result.passed and not failing, f"the solutions must pass every exercise: {failing} {result.message}"
    assert result.score == result.max_score == 13
    expected_error = [e for e in result.cell_errors if e["expected"]]
    assert len(expected_error) == 1 and expected_error[0]["ename"] == "RuntimeError", (
        "the shape-mismatch cell (tagged raises-exception) raises, as the lab explains")
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert "SqrtBackward0" in nbformat.writes(executed), "the lab prints today's grad_fn name"


def test_local_runner_student_version_fails_with_placeholders(generated: Path, tmp_path: Path) -> None:
    result = _local(generated / "student" / "00-introduccion.ipynb", "00", tmp_path)
    for exercise in result.exercises:
        assert exercise["status"] == "not_attempted" and exercise["score"] == 0, f"{exercise}"
        assert exercise["message"] == tags.PLACEHOLDER.format(id=exercise["id"]), (
            f"«{exercise['id']}» should report its placeholder message, got {exercise['message']!r}")


def test_report_follows_its_schema_and_junit_maps_statuses(generated: Path, tmp_path: Path) -> None:
    notebook = tmp_path / "parcial.ipynb"
    source = nbformat.read(generated / "instructor" / "00-introduccion.ipynb", as_version=4)
    for cell in source.cells:
        if tags.exercise_of(cell) == "primera_columna":
            cell.source = "def primera_columna(m):\n    return m[:, -1]"
    nbformat.write(source, notebook)
    result = _local(notebook, "00", tmp_path)
    report = report_dict([result], kind="grade", variant="local", image=None)
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    row = next(e for e in result.exercises if e["id"] == "primera_columna")
    assert row["status"] == "partial" and 0 < row["score"] < row["max_score"], f"m[:, -1] passes one shape of three: {row}"
    cases = {case.name: case.outcome for case in junit_cases([result], kind="grade")}
    assert cases["primera_columna"] == "failed" and cases["pinv"] == "passed", cases


def test_an_unreadable_notebook_is_graded_as_error(tmp_path: Path) -> None:
    notebook = tmp_path / "roto.ipynb"
    notebook.write_text('{"cells": "no"}')
    result = _local(notebook, "00", tmp_path)
    assert all(e["status"] == "error" and "no es válido" in e["message"] for e in result.exercises), result.exercises[0]


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["grade", "{tmp}/falta.ipynb", "--lab", "00"], "no such file"),
    (["grade", "{tmp}/texto.txt", "--lab", "00"], "not a notebook"),
    (["grade", "{tmp}/malo.ipynb", "--lab", "00"], "not a valid notebook"),
    (["grade", "{tmp}/malo.ipynb", "--lab", "42"], "unknown lab '42'"),
    (["run", "42", "--variant", "local"], "unknown lab '42'"),
    (["run", "00", "--variant", "local", "--jobs", "0"], "--jobs must be at least 1"),
    (["run", "00", "--variant", "local", "--cell-timeout", "0"], "--cell-timeout must be positive"),
    (["run", "00", "--variant", "local", "--image", "dl-lab:cpu-2025.11"], "--image needs a container"),
])
def test_bad_input_gets_one_clear_line(args: list[str], message: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _write(tmp_path / "texto.txt", "hola")
    _write(tmp_path / "malo.ipynb", "{ esto no es JSON")
    code = main([a.replace("{tmp}", str(tmp_path)) for a in args] + ["--reports", str(tmp_path / "reports")])
    err = capsys.readouterr().err.strip()
    assert code == 2, f"bad input must exit 2, got {code}: {err}"
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err, f"expected one line with {message!r}: {err}"


def test_run_local_writes_reports_and_exits_zero(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert main(["run", "00", "--variant", "local", "--reports", str(reports)]) == 0
    report = json.loads((reports / "run-local.json").read_text())
    jsonschema.validate(report, json.loads(SCHEMA_FILE.read_text()))
    assert report["summary"]["score"] == report["summary"]["max_score"] == 13
    assert report["submissions"][0]["torch_version"].startswith("2."), "the report names the torch version"
    assert "<testsuite" in (reports / "run-local.junit.xml").read_text()
