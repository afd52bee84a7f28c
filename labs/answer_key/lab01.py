"""Lab 01's expected outputs: the digits' split, the MLP's forward passes, SGD epochs done right and with
the known mistakes, losses, accuracies, confusion matrices, and the trained model's test accuracy.

Judge side only (see answer_key): practica.lab01_checks compares the student's answers with these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from answer_key.reference import TrainingRun, accuracy, cross_entropy, mlp_forward, softmax, train_epochs
from in_image.exercises.framework import Case
from in_image.exercises.layers import Array, layers_from
from practica.lab01_checks import TEST_SHARE, VALIDATION_SHARE, seed_of, valid_mlp

# The statement's SEMILLA: the kernel's data holds the split for it (the judge makes the student's own).
STATEMENT_SEEDS = (0,)


def digit_split(seed: int) -> dict[str, Array]:
    """The lab's split and standardisation of scikit-learn's digits, as the statement asks for."""
    from sklearn.datasets import load_digits  # noqa: PLC0415 (only two exercises need scikit-learn)
    from sklearn.model_selection import train_test_split  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    digits = load_digits()
    x_rest, x_test, y_rest, y_test = train_test_split(digits.data, digits.target, test_size=TEST_SHARE,
                                                      random_state=seed, stratify=digits.target)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=VALIDATION_SHARE, random_state=seed,
                                                      stratify=y_rest)
    scaler = StandardScaler().fit(x_train)
    return {"x_train": scaler.transform(x_train), "x_val": scaler.transform(x_val), "x_test": scaler.transform(x_test),
            "y_train": y_train, "y_val": y_val, "y_test": y_test, "x_val_own": StandardScaler().fit_transform(x_val),
            "x_test_own": StandardScaler().fit_transform(x_test)}


def _compact(split: dict[str, Array]) -> dict[str, Array]:
    """float32 values (the criteria's tolerance is 1e-4): the kernel's data stays small."""
    return {name: values.astype(np.float32) if values.dtype.kind == "f" else values for name, values in split.items()}


def _splits(case: Case, answer: Any) -> dict[str, Any]:
    seeds = (seed_of(answer),) if isinstance(answer, Mapping) else STATEMENT_SEEDS
    return {"divisiones": {str(seed): _compact(digit_split(seed)) for seed in seeds}}


def _model(case: Case, answer: Any) -> dict[str, Any]:
    x, layers = case.inputs["x"], layers_from(case.inputs["capas"]) or []
    forwards = {f"{int(first)}{int(second)}": mlp_forward(x, layers, relu=(first, second))
                for first in (True, False) for second in (True, False)}
    return {"salidas": forwards, "softmax": softmax(forwards["11"])}


def _accuracy(case: Case, answer: Any) -> dict[str, Any]:
    logits, labels = np.asarray(case.inputs["logits"]), np.asarray(case.inputs["etiquetas"])
    square = logits.shape[0] == logits.shape[1]
    return {"exactitud": accuracy(logits, labels), "argmax_0": float(np.mean(logits.argmax(0) == labels)) if square else None}


def run_data(run: TrainingRun) -> dict[str, Any]:
    return {"media": run.mean_losses, "ultima": run.last_losses, "suma": run.sum_losses,
            "capas": [[w, b] for w, b in run.layers]}


def training_runs(x: Any, inputs: Mapping[str, Any], mistakes: tuple[str, ...]) -> dict[str, Any]:
    """The epochs of a case done right ("ninguno") and with each mistake, as data."""
    layers = layers_from(inputs["capas"]) or []
    return {"entrenamientos": {kind: run_data(train_epochs(x, inputs["y"], layers, lr=inputs["lr"], batch=inputs["lote"],
                                                             epochs=inputs["epocas"], mistake=kind))
                                for kind in mistakes}}


def _evaluation(case: Case, answer: Any) -> dict[str, Any]:
    inputs = case.inputs
    logits = mlp_forward(inputs["x"], layers_from(inputs["capas"]) or [], relu=(True,))
    # evaluar gets a stand-in exactitud that answers the case's given value (its own exercise grades the student's)
    return {"perdida": cross_entropy(logits, inputs["y"]), "exactitud": float(inputs["exactitud_dada"])}


def _final(case: Case, answer: Any) -> dict[str, Any]:
    """The test set's accuracy of the student's weights: the judge's alone (the kernel measures validation)."""
    layers = layers_from(answer.get("capas")) if isinstance(answer, Mapping) else None
    if layers is None or not valid_mlp(layers):
        return {}
    split = digit_split(seed_of(answer))
    return {"conjunto": "prueba", "exactitud": accuracy(mlp_forward(split["x_test"], layers, relu=(True, True)),
                                                         split["y_test"])}


def _confusion(case: Case, answer: Any) -> dict[str, Any]:
    predicted, labels = np.asarray(case.inputs["predicciones"]), np.asarray(case.inputs["etiquetas"])
    classes = int(case.inputs["clases"])
    wanted = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(wanted, (labels, predicted), 1)
    return {"matriz": wanted}


EXPECTATIONS: dict[str, Callable[[Case, Any], dict[str, Any]]] = {
    "datos": _splits, "modelo": _model, "exactitud": _accuracy,
    "entrenar_una_epoca": lambda case, answer: training_runs(case.inputs["x"], case.inputs,
                                                              ("ninguno", "sin_zero_grad", "sin_step")),
    "evaluar": _evaluation, "exactitud_prueba": _final, "matriz_confusion": _confusion,
}


def expect(exercise: str, case: Case, answer: Any) -> dict[str, Any]:
    """The expected outputs of one case; answer None: those that need no answer (the kernel's data)."""
    found = EXPECTATIONS.get(exercise)
    return found(case, answer) if found else {}
