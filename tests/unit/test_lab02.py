"""Lab 02 (redes convolucionales) without Docker: the judge's references agree with torch, the judge rebuilds the
notebook's own test set, the solutions pass the public and hidden cases, every wrong answer of
tests/answers/wrong_answers_lab02.py gets its verdict and message in-process, and the student version is pending."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from answer_key import lab02 as answer_key_lab02
from answer_key import reference
from harness.course import catalog, versions
from harness.grading.jobs import GradingJob
from harness.grading.local import LocalExecutor
from harness.grading.results import Limits
from in_image.exercises import tags
from in_image.exercises.framework import NOT_ATTEMPTED, Verdict
from practica import lab02_checks
from practica.comprobacion import evaluar, public_cases
from practica.lab02 import PROBES
from tests.answers.in_process import comprobar, judge, notebook_namespace
from tests.answers.notebooks import submission, write
from tests.answers.wrong_answers import verdict_of
from tests.answers.wrong_answers_lab02 import FINAL, LAB02, Answer

matplotlib.use("Agg")
LAB = catalog.find_lab("02")
SOURCE = catalog.read_notebook(LAB.source)


def _notebook_namespace(monkeypatch: pytest.MonkeyPatch, *markers: str) -> dict[str, Any]:
    """The namespace after the imports and the code cells that contain each marker (solutions kept)."""
    return notebook_namespace("02", monkeypatch, "from practica.lab02 import comprobar", "EPOCAS = ", *markers)


SOLUTIONS = ("def tamano_salida", "def crear_convolucion", "def agrupar", "class LeNet(nn.Module)", "def entrenar_una_epoca",
             "def evaluar", "def guardar_punto_control")


def _judge(exercise_id: str, namespace: dict[str, Any]) -> Verdict:
    return judge("02", exercise_id, namespace)


# ---- the references ------------------------------------------------------------------------------
def test_reference_convolution_pooling_and_resizing_agree_with_torch() -> None:
    rng = np.random.default_rng(0)
    x, weight, bias = rng.standard_normal((2, 3, 11, 9)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    for stride, padding in ((1, 0), (1, 1), (2, 0), (3, 2)):
        wanted = F.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias), stride=stride, padding=padding)
        assert np.allclose(reference.conv2d(x, weight, bias, stride=stride, padding=padding), wanted.numpy())
    for size, stride in ((2, None), (3, None), (2, 1)):
        assert np.allclose(reference.pool2d(x, size, stride=stride), F.max_pool2d(torch.tensor(x), size, stride).numpy())
        assert np.allclose(reference.pool2d(x, size, stride=stride, kind="avg"),
                           F.avg_pool2d(torch.tensor(x), size, stride).numpy())
    images = rng.random((3, 8, 8))
    matrix = reference.bilinear_matrix(8, 26)
    wanted = F.interpolate(torch.tensor(images)[:, None], size=(26, 26), mode="bilinear", align_corners=False)[:, 0]
    assert np.allclose(np.einsum("ij,njk,lk->nil", matrix, images, matrix), wanted.numpy())


def test_reference_lenet_is_the_statements_lenet(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = _notebook_namespace(monkeypatch, "class LeNet(nn.Module)")
    torch.manual_seed(0)
    model = namespace["LeNet"]()
    x = torch.rand(4, 1, 32, 32)
    convs = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy()) for m in (model.conv1, model.conv2)]
    linears = [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy()) for m in (model.fc1, model.fc2, model.fc3)]
    with torch.no_grad():
        assert np.allclose(reference.lenet_forward(x.double().numpy(), convs, linears), model(x).numpy(), atol=1e-5)


def test_reference_training_with_a_softmax_before_the_loss_agrees_with_torch() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 5)), rng.integers(0, 3, 30)
    layers = [(rng.standard_normal((4, 5)) * 0.5, rng.standard_normal(4) * 0.1),
              (rng.standard_normal((3, 4)) * 0.5, rng.standard_normal(3) * 0.1)]
    run = reference.train_epochs(x, y, layers, lr=0.5, batch=8, epochs=2, mistake="softmax")
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3)).double()
    with torch.no_grad():
        for layer, (weight, bias) in zip((model[0], model[2]), layers, strict=True):
            layer.weight.copy_(torch.tensor(weight))
            layer.bias.copy_(torch.tensor(bias))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(2):
        for start in range(0, 30, 8):
            loss = F.cross_entropy(torch.softmax(model(torch.tensor(x[start:start + 8])), 1), torch.tensor(y[start:start + 8]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    assert np.allclose(model[0].weight.detach().numpy(), run.layers[0][0]) and np.allclose(model[2].bias.detach().numpy(),
                                                                                           run.layers[1][1])


# ---- the data ------------------------------------------------------------------------------------
def test_the_judge_rebuilds_the_notebooks_test_set(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = _notebook_namespace(monkeypatch, "TAMANO_DIGITO = 26", "indices_resto, indices_prueba")
    images, labels = answer_key_lab02.test_set()  # not imported by name: pytest would collect it as a test
    assert namespace["X_prueba"].shape == (360, 1, 32, 32) and len(namespace["X_entrenamiento"]) == 1077
    assert np.array_equal(namespace["y_prueba"].numpy(), labels), "the judge's test labels are the notebook's"
    assert np.allclose(namespace["X_prueba"].numpy(), images, atol=1e-6), "the judge's test images are the notebook's"


def test_lab_02_has_a_parameters_cell_and_shorter_ci_parameters() -> None:
    tagged = [c for c in SOURCE.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "EPOCAS = 30" in tagged[0].source, "one cell tagged `parameters` with EPOCAS"
    assert LAB.ci_parameters["EPOCAS"] < 30 and LAB.ci_parameters["REPETICIONES_GPU"] < 10, LAB.ci_parameters


# ---- the exercises -------------------------------------------------------------------------------
@pytest.mark.parametrize("exercise", [e for e in versions.exercise_ids(SOURCE) if e != FINAL])
def test_the_solutions_pass_the_public_and_hidden_cases(monkeypatch: pytest.MonkeyPatch, exercise: str) -> None:
    result = _judge(exercise, _notebook_namespace(monkeypatch, *SOLUTIONS))
    assert result.status == "passed", f"«{exercise}»: {result.message}"


@pytest.mark.parametrize("answer", [a for a in LAB02 if a.exercise != FINAL], ids=lambda a: a.name)
def test_each_answer_gets_its_verdict_and_message(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> None:
    namespace = _notebook_namespace(monkeypatch, *SOLUTIONS)
    exec(compile(answer.code, f"<{answer.name}>", "exec"), namespace)
    result = _judge(answer.exercise, namespace)
    assert verdict_of(result.score, result.max_score) == answer.verdict, (
        f"{answer.name}: {result.score}/{result.max_score} ({result.message})")
    assert answer.message in result.message, f"{answer.name}: the message should say {answer.message!r}: {result.message}"


@pytest.mark.parametrize("answer", [a for a in LAB02 if a.exercise != FINAL], ids=lambda a: a.name)
def test_comprobar_agrees_with_the_judge_from_the_kernels_data(monkeypatch: pytest.MonkeyPatch, answer: Answer) -> None:
    """comprobar compares with the precomputed expected outputs (practica/data), never with the answer key."""
    namespace = _notebook_namespace(monkeypatch, *SOLUTIONS)
    exec(compile(answer.code, f"<{answer.name}>", "exec"), namespace)
    result = comprobar("02", answer.exercise, namespace)
    judged = _judge(answer.exercise, namespace)
    assert result.status == judged.status or (judged.status in ("partial", "failed") and result.status == "passed"), (
        f"{answer.name}: comprobar says {result.status} ({result.message}), the judge {judged.status}")


def _exercises() -> tuple[Any, ...]:
    from practica.lab02_checks import EXERCISES  # noqa: PLC0415

    return tuple(EXERCISES)


def test_the_student_version_is_pending_everywhere(tmp_path: Path) -> None:
    path = write(submission("02", solved=False), tmp_path / "alumno.ipynb")
    job = GradingJob(lab=LAB, notebook=path, name="alumno", parameters=dict(LAB.ci_parameters))
    result = LocalExecutor(limits=Limits()).run(job)
    assert [e["id"] for e in result.exercises] == versions.exercise_ids(SOURCE)
    for exercise in result.exercises:
        assert exercise["status"] == NOT_ATTEMPTED and exercise["score"] == 0, exercise
        assert exercise["message"].startswith(tags.PLACEHOLDER.split("«")[0]), exercise


@pytest.mark.parametrize("trained_after_saving", [False, True])
def test_the_deliverable_must_be_the_best_checkpoint_saved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                           trained_after_saving: bool) -> None:
    """The graded weights are compared with the checkpoint file at ruta_mejor: weights changed after saving it fail.
    (Accuracy taken as reached: the checkpoint counts only for a model that reaches the bar, and this one is untrained.)"""
    namespace = _notebook_namespace(monkeypatch, *SOLUTIONS)
    monkeypatch.setattr(lab02_checks, "check_accuracy", lambda c, answer, **options: c.check("exactitud", True, ""))
    exec(compile("modelo = LeNet()\noptimizador = torch.optim.Adam(modelo.parameters())\n"
                 f"ruta_mejor = {str(tmp_path / 'lenet_mejor.pt')!r}\n"
                 "guardar_punto_control(modelo, optimizador, 3, ruta_mejor)\n", "<entrenamiento>", "exec"), namespace)
    if trained_after_saving:
        exec(compile("with torch.no_grad():\n    next(modelo.parameters()).add_(0.5)\n", "<otra época>", "exec"), namespace)
    exercise = next(e for e in _exercises() if e.id == FINAL)
    result = evaluar(exercise, PROBES[FINAL], namespace, cases=public_cases("02", exercise))
    best = next(c for c in result.criteria if c.name == "mejor_epoca")
    assert best.passed is not trained_after_saving, best.message
    if trained_after_saving:
        assert "punto de control de la mejor época (ruta_mejor)" in best.message, best.message


def test_a_trivial_notebook_scores_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every function of the notebook an echo of its first argument, LeNet and the trained model None: 0 points."""
    namespace = _notebook_namespace(monkeypatch, *SOLUTIONS)

    def echo(*args: Any, **kwargs: Any) -> Any:
        return args[0] if args else None

    echoed = [name for name, value in namespace.items()
              if getattr(getattr(value, "__code__", None), "co_filename", "").startswith("<def ")]
    assert len(echoed) >= len(SOLUTIONS), echoed
    namespace |= dict.fromkeys(echoed, echo) | {"LeNet": None, "modelo": None}
    earned = {}
    for exercise in [e for e in versions.exercise_ids(SOURCE) if e != FINAL]:
        result = _judge(exercise, dict(namespace))
        if result.score:
            earned[exercise] = [c.name for c in result.criteria if c.passed]
    assert not earned, earned


def test_the_checkpoint_of_an_untrained_model_earns_nothing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An untrained LeNet saved as its own best checkpoint: the weights match the file, but neither criterion passes."""
    namespace = _notebook_namespace(monkeypatch, *SOLUTIONS)
    exec(compile("modelo = LeNet()\noptimizador = torch.optim.Adam(modelo.parameters())\n"
                 f"ruta_mejor = {str(tmp_path / 'lenet_mejor.pt')!r}\n"
                 "guardar_punto_control(modelo, optimizador, 1, ruta_mejor)\n", "<sin entrenar>", "exec"), namespace)
    result = comprobar("02", FINAL, namespace)
    assert result.score == 0, result.message
    best = next(c for c in result.criteria if c.name == "mejor_epoca")
    assert not best.passed and "llega a la exactitud pedida" in best.message, best.message
