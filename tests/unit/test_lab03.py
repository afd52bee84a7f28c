"""Lab 03 (rendimiento en GPU) without Docker: the answer key's references agree with torch, the solutions pass the
public and hidden cases for the judge (expectations from answer_key.lab03) and for comprobar (expectations from the
kernel's data, practica/data/lab03.json), every wrong answer of tests/answers/wrong_answers_lab03.py gets its verdict
and message in-process and comprobar agrees, the kernel-side modules compute no answer, and the student version is
pending everywhere."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile
from torch.utils.flop_counter import FlopCounterMode

from answer_key import lab03 as answer_key_lab03
from answer_key.reference import lenet_forward
from harness.course import catalog, versions
from harness.grading.jobs import GradingJob
from harness.grading.local import LocalExecutor
from harness.grading.results import Limits
from in_image.exercises import tags, wire
from in_image.exercises.framework import NOT_ATTEMPTED, PASSED, Verdict, find, outcome_from, verdict
from practica import lab03_checks
from practica.comprobacion import public_cases
from tests.answers.in_process import comprobar, judge, notebook_namespace
from tests.answers.notebooks import submission, write
from tests.answers.wrong_answers import verdict_of
from tests.answers.wrong_answers_lab03 import FINAL, LAB03, Answer

matplotlib.use("Agg")
LAB = catalog.find_lab("03")
SOURCE = catalog.read_notebook(LAB.source)
SOLUTIONS = ("class LeNet(nn.Module)", "def flops_lenet", "def mfu", "def intensidad_suma", "def techo", "def paso_bf16",
             "def ida_y_vuelta_fp16", "def memoria_entrenamiento", "class DigitosDesplazados", "def perdida_y_exactitud",
             "def operador_principal", "def entrenar_con_presupuesto")


def _notebook_namespace(monkeypatch: pytest.MonkeyPatch, *markers: str) -> dict[str, Any]:
    """The namespace after the imports, the parameters and the code cells that contain each marker (solutions kept)."""
    return notebook_namespace("03", monkeypatch, "from practica.lab03 import comprobar", "SEMILLA = 0", *markers)


def _comprobar(exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    return comprobar("03", exercise_id, namespace)


def _judge(exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    return judge("03", exercise_id, namespace)


@pytest.fixture(scope="module")
def solved() -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        return _notebook_namespace(monkeypatch, *SOLUTIONS)


# ---- the references agree with torch -------------------------------------------------------------
def test_flops_reference_agrees_with_torchs_flop_counter() -> None:
    for width in (1, 3):
        model = nn.Sequential(nn.Conv2d(1, 6 * width, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6 * width, 16 * width, 5),
                              nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400 * width, 120 * width), nn.ReLU(),
                              nn.Linear(120 * width, 84 * width), nn.ReLU(), nn.Linear(84 * width, 10))
        with FlopCounterMode(display=False) as counter:
            model(torch.zeros(5, 1, 32, 32))
        assert counter.get_total_flops() == answer_key_lab03.lenet_flops(5, width)[0]


def test_fp16_reference_agrees_with_torch() -> None:
    gradients = np.array([1e-9, -3e-7, 2e-5, 0.5, 40.0, -1e-3], dtype=np.float32)
    for scale in (1.0, 1024.0, 65536.0):
        wanted, overflow = answer_key_lab03.fp16_round_trip(gradients, scale)
        half = (torch.tensor(gradients) * scale).half()
        assert np.array_equal(wanted, (half.float() / scale).numpy()), scale
        assert overflow == (not bool(torch.isfinite(half).all()))


def test_shift_reference_fills_with_zeros_and_moves_the_right_way() -> None:
    image = np.arange(16, dtype=np.float64).reshape(1, 4, 4)
    moved = answer_key_lab03.shifted_image(image, 1, -2)
    assert np.array_equal(moved[0, 1:, :2], image[0, :3, 2:]) and moved[0, 0].sum() == 0 and moved[0, :, 2:].sum() == 0


def test_self_time_of_a_trace_is_what_the_profiler_reports(tmp_path: Path) -> None:
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        for _ in range(3):
            torch.matmul(a, b).relu_().sum()
    path = tmp_path / "trace.json"
    profiled.export_chrome_trace(str(path))
    events = [e for e in json.loads(path.read_text())["traceEvents"] if e.get("ph") == "X" and e.get("cat") == "cpu_op"]
    own = answer_key_lab03.self_times(events)
    assert max(own, key=own.__getitem__) == max(profiled.key_averages(), key=lambda e: e.self_cpu_time_total).key


def test_budget_steps_and_batches() -> None:
    assert answer_key_lab03.budget_steps(1.0, 0.15) == 7 and answer_key_lab03.budget_steps(1.0, 0.25) == 4
    assert answer_key_lab03.budget_steps(2.0, 0.35) == 6


def test_the_kernels_profiling_expectation_is_the_profilers() -> None:
    """The public case's operator (the kernel's data) comes from a trace of the probe's own workload."""
    exercise = find(lab03_checks.EXERCISES, "perfilador")
    (case,) = public_cases("03", exercise)
    assert case.expected == {"operador": "aten::mm", "mayor_total": "aten::matmul",
                             "aceptables": ["aten::mm", "aten::addmm", "aten::matmul", "aten::bmm"],
                             "requeridos": ["aten::matmul", "aten::mm", "aten::relu_", "aten::sum"],
                             "ajenos": ["aten::conv2d", "aten::convolution", "aten::mean", "aten::relu"]}, case.expected


# ---- the grading rule: the kernel-side modules hold probes, comparisons and data, no reference code -------------
def test_the_kernel_side_modules_import_no_reference_code() -> None:
    for name in ("lab03.py", "lab03_checks.py"):
        tree = ast.parse((LAB.checks.parent / name).read_text())
        imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not any(m.startswith(("answer_key", "in_image.exercises.reference")) for m in imported), (name, imported)
    tree = ast.parse((LAB.checks.parent / "lab03.py").read_text())
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
             and node.module == "practica.lab03_checks" for alias in node.names}
    assert names == {"EXERCISES", "LAB"}, f"practica.lab03 takes only the declarations from its criteria module: {names}"


# ---- the exercises -------------------------------------------------------------------------------
@pytest.mark.parametrize("exercise", [e for e in versions.exercise_ids(SOURCE) if e != FINAL])
def test_the_solutions_pass_the_public_and_hidden_cases(solved: dict[str, Any], exercise: str) -> None:
    result = _judge(exercise, dict(solved))
    assert result.status == PASSED, f"«{exercise}», the judge: {result.message}"
    checked = _comprobar(exercise, dict(solved))
    assert checked.status == PASSED, f"«{exercise}», comprobar: {checked.message}"


def test_graph_breaks_hidden_by_replacing_explain_are_not_counted(solved: dict[str, Any],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook that puts its own torch._dynamo.explain in torch (no graph break ever) loses «sin_cortes»."""
    namespace = dict(solved)
    exec(compile("def perdida_y_exactitud(modelo, x, y):\n    logits = modelo(x)\n"
                 "    return F.cross_entropy(logits, y), torch.tensor((logits.argmax(1) == y).sum().item() / len(y))\n",
                 "<cuaderno>", "exec"), namespace)
    fake = eval(compile("lambda funcion: lambda *argumentos: type('E', (), {'graph_break_count': 0, "
                        "'break_reasons': []})()", "<cuaderno>", "eval"))
    monkeypatch.setattr(torch._dynamo, "explain", fake)
    result = _judge("sin_cortes", namespace)
    assert result.score < result.max_score, result.message
    assert "sustituyó torch._dynamo.explain" in result.message, result.message


BREAKS_ON_ITEM = ("def perdida_y_exactitud(modelo, x, y):\n    logits = modelo(x)\n    print('lote', len(y))\n"
                  "    return F.cross_entropy(logits, y), torch.tensor((logits.argmax(1) == y).sum().item() / len(y))\n")


def test_graph_breaks_hidden_by_dynamo_settings_are_counted(solved: dict[str, Any]) -> None:
    """Settings that capture .item() and print (the notebook set them) do not hide the breaks: they are counted with
    dynamo's defaults."""
    namespace = dict(solved)
    exec(compile(BREAKS_ON_ITEM, "<cuaderno>", "exec"), namespace)
    with torch._dynamo.config.patch(capture_scalar_outputs=True, reorderable_logging_functions={print}):
        result = _judge("sin_cortes", namespace)
    assert result.score < result.max_score, result.message
    assert "cortes de grafo" in result.message, result.message


def test_graph_breaks_hidden_by_replacing_explains_output_are_not_counted(solved: dict[str, Any],
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook that puts its own ExplainOutput in torch (no graph break ever) loses «sin_cortes»."""
    from torch._dynamo.backends import debugging  # noqa: PLC0415

    namespace = dict(solved)
    exec(compile(BREAKS_ON_ITEM, "<cuaderno>", "exec"), namespace)
    forged = eval(compile("type('ExplainOutput', (debugging.ExplainOutput,), {'graph_break_count': property("
                          "lambda self: 0)})", "<cuaderno>", "eval"), {"debugging": debugging})
    monkeypatch.setattr(debugging, "ExplainOutput", forged)
    result = _judge("sin_cortes", namespace)
    assert result.score < result.max_score, result.message
    assert "sustituyó torch._dynamo.explain" in result.message, result.message


@pytest.mark.parametrize("answer", [a for a in LAB03 if a.exercise != FINAL], ids=lambda a: a.name)
def test_each_answer_gets_its_verdict_and_message_and_comprobar_agrees(solved: dict[str, Any], answer: Answer) -> None:
    namespace = dict(solved)
    exec(compile(answer.code, f"<{answer.name}>", "exec"), namespace)
    result = _judge(answer.exercise, namespace)
    assert verdict_of(result.score, result.max_score) == answer.verdict, (
        f"{answer.name}: {result.score}/{result.max_score} ({result.message})")
    assert answer.message in result.message, f"{answer.name}: the message should say {answer.message!r}: {result.message}"
    public = _comprobar(answer.exercise, namespace)
    assert (public.status == PASSED) == (answer.verdict == "full" or answer.hidden_only), (
        f"{answer.name}: comprobar says {public.status} ({public.message}), the grade is {answer.verdict}")
    if answer.verdict != "full" and not answer.hidden_only:
        assert answer.message in public.message, f"{answer.name}: comprobar must say {answer.message!r}: {public.message}"


def test_at_least_twenty_wrong_answers_and_some_correct_alternatives() -> None:
    wrong = [a for a in LAB03 if a.verdict != "full"]
    right = [a for a in LAB03 if a.verdict == "full"]
    assert len(wrong) >= 20 and len(right) >= 5, (len(wrong), len(right))
    assert len({a.name for a in LAB03}) == len(LAB03)


def test_the_deliverable_bar_is_checked_on_lab_02s_test_set() -> None:
    exercise = find(lab03_checks.EXERCISES, FINAL)
    outcome = outcome_from({"kind": "answer", "value": wire.encode({"convoluciones": [], "lineales": []})})
    result = verdict(exercise, exercise.cases, [outcome])
    assert result.status != PASSED and "no es la LeNet" in result.message, result.message


def test_the_student_version_is_pending_everywhere(tmp_path: Path) -> None:
    path = write(submission("03", solved=False), tmp_path / "alumno.ipynb")
    job = GradingJob(lab=LAB, notebook=path, name="alumno", parameters=dict(LAB.ci_parameters))
    result = LocalExecutor(limits=Limits()).run(job)
    assert [e["id"] for e in result.exercises] == versions.exercise_ids(SOURCE)
    for exercise in result.exercises:
        assert exercise["status"] == NOT_ATTEMPTED and exercise["score"] == 0, exercise
        assert exercise["message"].startswith(tags.PLACEHOLDER.split("«")[0]) or "no encuentro" in exercise["message"], exercise


def test_the_ci_parameters_are_shorter() -> None:
    tagged = [c for c in SOURCE.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "PRESUPUESTO_S = 30.0" in tagged[0].source
    assert LAB.ci_parameters["PRESUPUESTO_S"] < 30 and LAB.ci_parameters["COMPILAR"] is False


def test_gpu_sections_say_plainly_when_there_is_no_gpu() -> None:
    gpu_cells = [c.source for c in SOURCE.cells if c.cell_type == "code" and "gpu.hay_gpu()" in c.source]
    assert len(gpu_cells) >= 3
    for source in gpu_cells:
        if "if gpu.hay_gpu():" in source:
            assert "else:" in source and ("No hay GPU" in source or "gpu.SIN_GPU" in source), source[:200]


def test_lenet_reference_is_the_notebooks_lenet(solved: dict[str, Any]) -> None:
    torch.manual_seed(0)
    model = solved["LeNet"]()
    x = torch.rand(3, 1, 32, 32)
    convs = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy()) for m in (model.conv1, model.conv2)]
    linears = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy()) for m in (model.fc1, model.fc2, model.fc3)]
    with torch.no_grad():
        assert np.allclose(lenet_forward(x.double().numpy(), convs, linears), model(x).numpy(), atol=1e-5)
