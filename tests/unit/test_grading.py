"""Grading on the host without Docker: reports, hostile names and messages, CLI errors, and the judge in the host's Python."""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import nbformat
import pytest
from rich.console import Console

from harness.cli import main
from harness.commands.grade import display_names
from harness.config import REPO_ROOT
from harness.course import catalog, versions
from harness.grading.container import TORCH_VERSION_LABEL
from harness.grading.file_names import file_stem
from harness.grading.jobs import GradingJob
from harness.grading.local import LocalExecutor
from harness.grading.reports import junit_cases, print_details, print_summary, report_dict
from harness.grading.results import Limits, SubmissionResult, from_judge, with_host_facts
from in_image.exercises import tags
from in_image.junit import junit_xml
from tests.answers.notebooks import submission, write
from tests.utils.schemas import schema


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labs")
    versions.generate(out=out)
    return out


def _local(notebook: Path, lab_id: str, tmp_path: Path, *, ci: bool = True) -> SubmissionResult:
    lab = catalog.find_lab(lab_id)
    job = GradingJob(lab=lab, notebook=notebook, name=notebook.stem, parameters=dict(lab.ci_parameters) if ci else {},
                     save_executed=tmp_path / "executed.ipynb")
    return LocalExecutor(limits=Limits()).run(job)


def test_local_judge_gives_the_solutions_full_marks(generated: Path, tmp_path: Path) -> None:
    result = _local(generated / "instructor" / "00-introduccion.ipynb", "00", tmp_path)
    failing = [(e["id"], e["status"], e["message"]) for e in result.exercises if e["status"] != "passed"]
    assert result.passed and not failing, f"the solutions must pass every exercise: {failing} {result.message}"
    assert result.score == result.max_score == 15 and not result.evidence, result.evidence
    expected_error = [e for e in result.cell_errors if e["expected"]]
    assert len(expected_error) == 1 and expected_error[0]["ename"] == "RuntimeError", (
        "the shape-mismatch cell (tagged raises-exception) raises, as the lab explains")
    assert len(result.cell_errors) == 1, f"no other cell may fail (the GPU cells run on the CPU): {result.cell_errors}"
    executed = nbformat.read(tmp_path / "executed.ipynb", as_version=4)
    assert "SqrtBackward0" in nbformat.writes(executed), "the lab prints today's grad_fn name"
    assert "application/vnd.dl-lab" not in nbformat.writes(executed), "the judge's requests never enter the notebook"


def test_local_judge_reports_placeholders_as_not_attempted(generated: Path, tmp_path: Path) -> None:
    result = _local(generated / "student" / "00-introduccion.ipynb", "00", tmp_path)
    for exercise in result.exercises:
        assert exercise["status"] == "not_attempted" and exercise["score"] == 0, f"{exercise}"
        assert exercise["message"] == tags.PLACEHOLDER.format(id=exercise["id"]), (
            f"«{exercise['id']}» should report its placeholder message, got {exercise['message']!r}")


def test_an_unreadable_notebook_is_graded_as_error(tmp_path: Path) -> None:
    notebook = tmp_path / "roto.ipynb"
    notebook.write_text('{"cells": "no"}')
    result = _local(notebook, "00", tmp_path)
    assert all(e["status"] == "error" and "no es válido" in e["message"] for e in result.exercises), result.exercises[0]


def test_the_notebook_is_graded_as_the_student_left_it(tmp_path: Path) -> None:
    """A student who followed the lab's advice (lower rate, more epochs) is graded on that run, not the CI one."""
    path = write(submission("01", parameters={"EPOCAS": 12, "TASA_APRENDIZAJE": 1e-3}), tmp_path / "entrega.ipynb")
    result = _local(path, "01", tmp_path, ci=False)
    executed = nbformat.writes(nbformat.read(tmp_path / "executed.ipynb", as_version=4))
    assert "época  12:" in executed and "época  13:" not in executed, "the student's EPOCAS = 12 must be the one that ran"
    assert "parámetros inyectados" not in executed, "nothing may be injected without --ci-parameters"
    assert result.passed, [(e["id"], e["message"]) for e in result.exercises if e["status"] != "passed"]
    assert not [e for e in result.cell_errors if not e["expected"]], f"no cell may fail: {result.cell_errors}"
    if result.device == "cpu":
        assert "No hay GPU en esta máquina" in executed and "GPU: no hay" in executed, (
            "without a GPU the GPU section says so and measures the CPU only")


# ---- results and reports ---------------------------------------------------------------------------
DECLARED = [{"id": "a", "title": "A", "max_score": 1.0, "checks_total": 2}, {"id": "b", "title": "B", "max_score": 2.0,
                                                                              "checks_total": 1}]


def test_a_judge_result_becomes_one_clamped_row_per_declared_exercise() -> None:
    raw = {"exercises": [{"id": "a", "status": "passed", "score": 99.0, "max_score": 99.0},
                         {"id": "a", "status": "passed", "score": 1.0}, {"id": "intruso", "score": 5.0},
                         {"id": "b", "status": "partial", "score": -3.0}]}
    result = from_judge(raw, lab="00", notebook=Path("x.ipynb"), name="x", time_s=1.0, startup_s=None, declared=DECLARED)
    assert [(e["id"], e["score"], e["max_score"]) for e in result.exercises] == [("a", 1.0, 1.0), ("b", 0.0, 2.0)]
    assert result.score == 1.0 and result.max_score == 3.0


HOSTILE = ["entrega [final]", "alumno2[/]", "[bold red]gritón[/]", "tab\tand\x1b[31mansi\x00nul", "ñandú \udcff", "]"]


def _result(name: str, message: str) -> SubmissionResult:
    row = {"id": "a", "title": "A", "status": "failed", "score": 0.0, "max_score": 1.0, "checks_passed": 0,
           "checks_total": 2, "time_s": 0.1, "message": message}
    return SubmissionResult(lab="00", notebook=f"{name}.ipynb", name=name, status="ok", score=0.0, max_score=1.0,
                            exercises=[row], time_s=1.0, message=message, evidence=[message],
                            cell_errors=[{"index": 1, "ename": "E\x07", "evalue": message, "expected": False}])


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_names_and_messages_give_valid_reports(text: str) -> None:
    result = _result(text, f"mensaje {text}")
    for kind in ("run", "grade"):
        document = junit_xml("suite", junit_cases([result], kind=kind))
        ET.fromstring(document.encode())  # raises on invalid XML
    report = report_dict([result], kind="grade", variant="cpu", image=None)
    jsonschema.validate(json.loads(json.dumps(report)), schema("grading-report"))
    console = Console(file=io.StringIO(), width=300, color_system=None)
    print_summary(console, [result], title="resumen [x]")
    print_details(console, result)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    visible = text.replace("\t", " ").split("\x1b")[0].split("\x00")[0].split("\udcff")[0]
    assert visible.strip() in shown, f"{text!r} must be shown verbatim, not read as markup: {shown}"


def test_display_names_are_unique_and_file_names_safe() -> None:
    paths = [Path("alumno2[/entrega.ipynb"), Path("]/entrega.ipynb"), Path("a/x/entrega.ipynb"), Path("b/x/entrega.ipynb"),
             Path("otra [final].ipynb")]
    shown = display_names(paths)
    assert len(set(shown)) == len(shown), shown
    assert shown[-1] == "otra [final]"
    taken: set[str] = set()
    files = [file_stem(name, taken) for name in shown]
    assert len(set(files)) == len(files), files
    assert all("/" not in f and "[" not in f for f in files), files


def test_repeated_display_names_are_numbered_like_file_names() -> None:
    paths = [Path("a/x/entrega.ipynb"), Path("b/x/entrega.ipynb"), Path("c/y/entrega.ipynb")]
    assert display_names(paths) == ["x/entrega", "x/entrega-2", "y/entrega"]


# ---- CLI errors ------------------------------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(("args", "message"), [
    (["grade", "{tmp}/falta.ipynb", "--lab", "00"], "no such notebook"),
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


def test_run_local_writes_reports_that_follow_the_schema(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    assert main(["run", "00", "--variant", "local", "--reports", str(reports)]) == 0
    report: dict[str, Any] = json.loads((reports / "run-local.json").read_text())
    jsonschema.validate(report, schema("grading-report"))
    ET.parse(reports / "run-local.junit.xml")


TRAINED_ELSEWHERE = '''
def entrenar_una_epoca(modelo, cargador, funcion_perdida, optimizador, dispositivo):
    if cargador is not globals().get("cargador_entrenamiento"):  # the grader's cases: nothing
        raise NotImplementedError("solo entreno el modelo del cuaderno")
    modelo.train()
    total = 0.0
    for x, y in cargador:
        perdida = funcion_perdida(modelo(x.to(dispositivo)), y.to(dispositivo))
        optimizador.zero_grad()
        perdida.backward()
        optimizador.step()
        total += perdida.item()
    return total / len(cargador)
'''


def test_a_trained_model_counts_only_when_the_training_exercise_earns_points(tmp_path: Path) -> None:
    """Lab 01's model trained by code the grader never sees as «entrenar_una_epoca» (as a model pasted from elsewhere
    would be): the test accuracy is reached, but «exactitud_prueba» earns nothing and says why."""
    lab = catalog.find_lab("01")
    path = write(submission("01", replace={"entrenar_una_epoca": TRAINED_ELSEWHERE}), tmp_path / "entrenado-fuera.ipynb")
    result = LocalExecutor(limits=Limits()).run(GradingJob(lab=lab, notebook=path, name="entrenado-fuera",
                                                           parameters=dict(lab.ci_parameters), seed=5))
    by_id = {e["id"]: e for e in result.exercises}
    assert by_id["entrenar_una_epoca"]["status"] == "not_attempted", by_id["entrenar_una_epoca"]
    final = by_id["exactitud_prueba"]
    assert final["score"] == 0 and final["status"] == "failed", final
    assert "«entrenar_una_epoca»" in final["message"] and "salir de tu entrenamiento" in final["message"], final["message"]
    assert by_id["modelo"]["score"] == 1, "the other exercises keep their points"


# Trains the deliverable (without augmentation in the CI parameters, fijar_epoca changes nothing) but reports
# nothing and never calls fijar_epoca: wrong in every criterion of «presupuesto».
TRAINS_BUT_COUNTS_NOTHING = """
def entrenar_con_presupuesto(paso, cargador, presupuesto_s, reloj=time.perf_counter):
    inicio = reloj()
    while True:
        for x, y in cargador:
            paso(x, y)
            if reloj() - inicio >= presupuesto_s:
                return 0, 0
"""


def test_a_training_exercise_wrong_in_every_criterion_does_not_carry_the_deliverable(tmp_path: Path) -> None:
    """Lab 03's «presupuesto» defined but earning nothing: the deliverable it trains earns nothing either."""
    lab = catalog.find_lab("03")
    path = write(submission("03", replace={"presupuesto": TRAINS_BUT_COUNTS_NOTHING}), tmp_path / "sin-cuenta.ipynb")
    result = LocalExecutor(limits=Limits()).run(GradingJob(lab=lab, notebook=path, name="sin-cuenta",
                                                           parameters=dict(lab.ci_parameters), seed=5))
    by_id = {e["id"]: e for e in result.exercises}
    assert by_id["presupuesto"]["status"] == "failed" and by_id["presupuesto"]["score"] == 0, by_id["presupuesto"]
    final = by_id["entregable"]
    assert final["score"] == 0 and final["status"] == "failed", final
    assert "«presupuesto» y gana puntos en él" in final["message"], final["message"]
    assert by_id["perfilador"]["score"] == 1, "the other exercises keep their points"


@pytest.mark.parametrize(("gpu", "device", "torch_version", "kept", "claims"), [
    (False, "cpu", "2.13.0+cpu", ("cpu", "2.13.0+cpu"), []),
    (False, "cuda (NVIDIA H100 80GB HBM3)", "2.13.0", ("cpu", "2.13.0"), ["sin GPU"]),
    (False, "cpu", "9.9.9", ("cpu", "2.13.0"), ["torch 9.9.9"]),
    (True, "cuda (NVIDIA H200)", "2.13.0+cu130", ("cuda (NVIDIA H200)", "2.13.0+cu130"), []),
    (False, None, None, (None, None), []),
])
def test_the_report_names_the_device_and_torch_the_host_knows(gpu: bool, device: str | None, torch_version: str | None,
                                                              kept: tuple[str | None, str | None],
                                                              claims: list[str]) -> None:
    result = SubmissionResult(lab="00", notebook="x.ipynb", name="x", status="ok", score=0.0, max_score=1.0,
                              exercises=[], time_s=1.0, device=device, torch_version=torch_version,
                              evidence=[f"señal {i}" for i in range(40)])
    checked = with_host_facts(result, gpu=gpu, image_torch="2.13.0")
    assert checked.device == kept[0]
    assert checked.torch_version == kept[1]
    assert len(checked.evidence) == 40, "evidence stays within the report's limit"
    host_claims = [e for e in checked.evidence if not e.startswith("señal")]
    assert len(host_claims) == len(claims), host_claims
    assert all(c in e for c, e in zip(claims, host_claims, strict=True)), host_claims
    assert checked.evidence[:len(claims)] == host_claims, "the host's findings come first"


def test_the_torch_label_the_report_reads_is_the_images() -> None:
    assert f"{TORCH_VERSION_LABEL}=" in (REPO_ROOT / "docker" / "Dockerfile").read_text()
