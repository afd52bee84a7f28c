"""Lab 02's expected outputs: output sizes, convolutions, pooling, LeNet-5's forward pass done right and with
the known mistakes, SGD epochs, batched evaluation, and the deliverable's test accuracy on the lab's data.

Judge side only (see answer_key): practica.lab02_checks compares the student's answers with these.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from answer_key.lab01 import training_runs
from answer_key.reference import accuracy, bilinear_matrix, conv2d, lenet_forward, mlp_forward, pool2d, softmax
from in_image.exercises.framework import Case
from in_image.exercises.layers import Array, layers_from
from practica.lab02_checks import (
    CANVAS,
    DIGIT_SIZE,
    PLACEMENT_SEED,
    SPLIT_SEED,
    TEST_SHARE,
    VALIDATION_SHARE,
    full_call,
    lenet_layers,
)


# ---- the data ------------------------------------------------------------------------------------
def shifted_digits() -> tuple[Array, Array]:
    """(images (1797, 1, 32, 32) in [0, 1], labels): the lab's data, as its first cells build it."""
    from sklearn.datasets import load_digits  # noqa: PLC0415 (only the deliverable needs scikit-learn)

    digits = load_digits()
    matrix = bilinear_matrix(8, DIGIT_SIZE)
    resized = np.einsum("ij,njk,lk->nil", matrix, digits.images / 16.0, matrix)
    places = np.random.default_rng(PLACEMENT_SEED).integers(0, CANVAS - DIGIT_SIZE + 1, size=(len(resized), 2))
    images = np.zeros((len(resized), 1, CANVAS, CANVAS))
    for index, (row, column) in enumerate(places):
        images[index, 0, row:row + DIGIT_SIZE, column:column + DIGIT_SIZE] = resized[index]
    return images, digits.target


def split_indices(labels: Array) -> dict[str, Array]:
    """The indices of the training, validation and test images (the lab's fixed split)."""
    from sklearn.model_selection import train_test_split  # noqa: PLC0415

    rest, test = train_test_split(np.arange(len(labels)), test_size=TEST_SHARE, random_state=SPLIT_SEED, stratify=labels)
    train, validation = train_test_split(rest, test_size=VALIDATION_SHARE, random_state=SPLIT_SEED, stratify=labels[rest])
    return {"entrenamiento": train, "validacion": validation, "prueba": test}


@functools.lru_cache(maxsize=1)
def test_set() -> tuple[Array, Array]:
    images, labels = shifted_digits()
    test = split_indices(labels)["prueba"]
    return images[test], labels[test]


# ---- expectations --------------------------------------------------------------------------------
def output_size(n: int, k: int, p: int = 0, s: int = 1) -> int:
    return (n + 2 * p - k) // s + 1


def _sizes(call: Sequence[int]) -> dict[str, Any]:
    """The right output size of a call and what the known mistakes give."""
    n, k, p, s = full_call(call)
    return {"correcto": output_size(*call), "relleno_simple": (n + p - k) // s + 1 if p else None,
            "division_real": (n + 2 * p - k) / s + 1, "techo": -(-(n + 2 * p - k) // s) + 1,
            "sin_mas_uno": (n + 2 * p - k) // s}


def _convolution(case: Case, answer: Any) -> dict[str, Any]:
    inputs = case.inputs
    k = inputs["canales"][2]
    pad = k // 2
    # every padding mode of nn.Conv2d keeps H×W: zeros, reflect, replicate, circular
    padded = [np.pad(np.asarray(inputs["x"], dtype=np.float64), ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode=mode)
              for mode in ("constant", "reflect", "edge", "wrap")]
    return {"salidas": [conv2d(x, inputs["peso"], inputs["sesgo"]) for x in padded],
            "salidas_sin_sesgo": [conv2d(x, inputs["peso"], None) for x in padded]}


def _lenet(case: Case, answer: Any) -> dict[str, Any]:
    layers = lenet_layers(case.inputs)
    if layers is None:
        return {}
    x = case.inputs["x"]
    outputs = {f"{activation}-{pool}": lenet_forward(x, *layers, activation=activation, pool=pool)
               for activation, pool in (("relu", "max"), ("relu", "avg"), ("tanh", "max"), ("none", "max"))}
    return {"salidas": outputs, "softmax": softmax(outputs["relu-max"])}


def _evaluation(case: Case, answer: Any) -> dict[str, Any]:
    inputs = case.inputs
    x = np.asarray(inputs["x"], dtype=np.float64).reshape(len(inputs["x"]), -1)
    labels = np.asarray(inputs["y"])
    logits = mlp_forward(x, layers_from(inputs["capas"]) or [], relu=(True,))
    return {"perdidas": -np.log(softmax(logits)[np.arange(len(labels)), labels]), "aciertos": logits.argmax(1) == labels}


def deliverable(case: Case, answer: Any) -> dict[str, Any]:
    """The accuracy of the student's LeNet on the test set, which the judge rebuilds (labs 02 and 03)."""
    layers = lenet_layers(answer) if isinstance(answer, Mapping) else None
    if layers is None:
        return {}
    images, labels = test_set()
    return {"conjunto": "prueba", "exactitud": accuracy(lenet_forward(images, *layers), labels)}


def _epoch(case: Case, answer: Any) -> dict[str, Any]:
    x = np.asarray(case.inputs["x"], dtype=np.float64).reshape(len(case.inputs["x"]), -1)
    return training_runs(x, case.inputs, ("ninguno", "sin_zero_grad", "sin_step", "softmax"))


EXPECTATIONS: dict[str, Callable[[Case, Any], dict[str, Any]]] = {
    "tamano_salida": lambda case, answer: {"llamadas": [_sizes(call) for call in case.inputs["llamadas"]]},
    "convolucion": _convolution,
    "agrupar": lambda case, answer: {"maximo": pool2d(case.inputs["x"], int(case.inputs["tamano"])),
                                     "media": pool2d(case.inputs["x"], int(case.inputs["tamano"]), kind="avg")},
    "lenet": _lenet, "entrenar_una_epoca": _epoch, "evaluar": _evaluation, "entregable": deliverable,
}


def expect(exercise: str, case: Case, answer: Any) -> dict[str, Any]:
    """The expected outputs of one case; answer None: those that need no answer (the kernel's data)."""
    found = EXPECTATIONS.get(exercise)
    return found(case, answer) if found else {}
