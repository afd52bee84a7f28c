"""Reference computations in numpy (float64) that criteria compare the students' answers with.

A multilayer perceptron's forward pass from its weights (nn.Linear's convention: y = x Wᵀ + b), its
accuracy, and SGD epochs with a cross-entropy loss: done right, and done with the mistakes students
make (gradients that accumulate without zero_grad, no optimizer step), so that a criterion can say
which mistake it sees. No torch: the judge runs these in its own process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from in_image.exercises.wire import ArrayData

Array = np.ndarray[Any, Any]
Layers = list[tuple[Array, Array]]


def layers_from(value: Any) -> Layers | None:
    """[(W, b), ...] in float64 from a list of [weight, bias] pairs (arrays or ArrayData); None if it is not one."""
    if not isinstance(value, list | tuple) or not value:
        return None
    layers: Layers = []
    for pair in value:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            return None
        weight, bias = (p.values if isinstance(p, ArrayData) else np.asarray(p) for p in pair)
        if weight.ndim != 2 or bias.shape != (weight.shape[0],) or weight.dtype.kind not in "fiu":
            return None
        layers.append((weight.astype(np.float64), bias.astype(np.float64)))
    return layers


def mlp_forward(x: Array, layers: Layers, *, relu: Sequence[bool]) -> Array:
    """Linear layers with a ReLU after hidden layer i where relu[i]; the last layer's output (logits)."""
    h = np.asarray(x, dtype=np.float64)
    for index, (weight, bias) in enumerate(layers):
        h = h @ weight.T + bias
        if index < len(layers) - 1 and relu[index]:
            h = np.maximum(h, 0.0)
    return h


def softmax(logits: Array) -> Array:
    shifted: Array = np.exp(logits - logits.max(axis=1, keepdims=True))
    result: Array = shifted / shifted.sum(axis=1, keepdims=True)
    return result


def accuracy(logits: Array, labels: Array) -> float:
    return float(np.mean(np.asarray(logits).argmax(axis=1) == np.asarray(labels)))


def cross_entropy(logits: Array, labels: Array) -> float:
    """Mean cross-entropy of logits against integer labels (nn.CrossEntropyLoss's default)."""
    logits = np.asarray(logits, dtype=np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probabilities = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-np.mean(log_probabilities[np.arange(len(logits)), np.asarray(labels)]))


def _loss_and_gradients(x: Array, y: Array, layers: Layers) -> tuple[float, Layers]:
    """Mean cross-entropy of a batch and its gradients, for Linear-ReLU-...-Linear."""
    activations, pre = [x], []
    h = x
    for index, (weight, bias) in enumerate(layers):
        z = h @ weight.T + bias
        pre.append(z)
        h = np.maximum(z, 0.0) if index < len(layers) - 1 else z
        activations.append(h)
    probabilities = softmax(h)
    rows = np.arange(len(y))
    loss = float(-np.mean(np.log(probabilities[rows, y])))
    delta = probabilities
    delta[rows, y] -= 1.0
    delta /= len(y)
    gradients: Layers = []
    for index in range(len(layers) - 1, -1, -1):
        gradients.append((delta.T @ activations[index], delta.sum(axis=0)))
        if index:
            delta = (delta @ layers[index][0]) * (pre[index - 1] > 0)
    return loss, gradients[::-1]


@dataclass
class TrainingRun:
    layers: Layers
    mean_losses: list[float] = field(default_factory=list)
    last_losses: list[float] = field(default_factory=list)
    sum_losses: list[float] = field(default_factory=list)


def train_epochs(x: Any, y: Any, layers: Layers, *, lr: float, batch: int, epochs: int, mistake: str = "ninguno") -> TrainingRun:
    """Plain SGD over batches in order; mistake: "ninguno", "sin_zero_grad" (gradients accumulate), "sin_step"."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)
    current = [(w.copy(), b.copy()) for w, b in layers]
    accumulated = [(np.zeros_like(w), np.zeros_like(b)) for w, b in current]
    run = TrainingRun(current)
    for _ in range(epochs):
        losses = []
        for start in range(0, len(x), batch):
            loss, gradients = _loss_and_gradients(x[start:start + batch], y[start:start + batch], current)
            losses.append(loss)
            if mistake == "sin_zero_grad":
                accumulated = [(aw + gw, ab + gb) for (aw, ab), (gw, gb) in zip(accumulated, gradients, strict=True)]
                gradients = accumulated
            if mistake != "sin_step":
                current = [(w - lr * gw, b - lr * gb) for (w, b), (gw, gb) in zip(current, gradients, strict=True)]
        run.mean_losses.append(float(np.mean(losses)))
        run.last_losses.append(losses[-1])
        run.sum_losses.append(float(np.sum(losses)))
    run.layers = current
    return run
