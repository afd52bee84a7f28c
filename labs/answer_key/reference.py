"""Reference computations in numpy (float64) that criteria compare the students' answers with.

A multilayer perceptron's forward pass from its weights (nn.Linear's convention: y = x Wᵀ + b), its
accuracy, and SGD epochs with a cross-entropy loss: done right, and done with the mistakes students
make (gradients that accumulate without zero_grad, no optimizer step), so that a criterion can say
which mistake it sees; convolutions, pooling and LeNet-5's forward pass (lab 02). No torch: the judge
runs these in its own process. Judge side only: this package is never on the student kernel's path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from in_image.exercises.layers import Array, Layers


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


def _loss_and_gradients(x: Array, y: Array, layers: Layers, *, softmax_first: bool = False) -> tuple[float, Layers]:
    """Mean cross-entropy of a batch and its gradients, for Linear-ReLU-...-Linear (softmax_first: the
    cross-entropy of softmax(logits), the mistake of a softmax before nn.CrossEntropyLoss)."""
    activations, pre = [x], []
    h = x
    for index, (weight, bias) in enumerate(layers):
        z = h @ weight.T + bias
        pre.append(z)
        h = np.maximum(z, 0.0) if index < len(layers) - 1 else z
        activations.append(h)
    first = softmax(h) if softmax_first else h
    probabilities = softmax(first)
    rows = np.arange(len(y))
    loss = float(-np.mean(np.log(probabilities[rows, y])))
    delta = probabilities
    delta[rows, y] -= 1.0
    delta /= len(y)
    if softmax_first:  # back through the first softmax: its Jacobian is diag(p) - p pᵀ
        delta = first * (delta - np.sum(first * delta, axis=1, keepdims=True))
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
    """Plain SGD over batches in order; mistake: "ninguno", "sin_zero_grad" (gradients accumulate), "sin_step",
    "softmax" (a softmax before the cross-entropy)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.int64)
    current = [(w.copy(), b.copy()) for w, b in layers]
    accumulated = [(np.zeros_like(w), np.zeros_like(b)) for w, b in current]
    run = TrainingRun(current)
    for _ in range(epochs):
        losses = []
        for start in range(0, len(x), batch):
            loss, gradients = _loss_and_gradients(x[start:start + batch], y[start:start + batch], current,
                                                  softmax_first=mistake == "softmax")
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


# ---- convolutional networks (lab 02) ---------------------------------------------------------------
def conv2d(x: Array, weight: Array, bias: Array | None = None, *, stride: int = 1, padding: int = 0) -> Array:
    """nn.Conv2d's forward (a cross-correlation, as PyTorch computes it): x (N, C, H, W), weight (O, C, kh, kw)."""
    x = np.asarray(x, dtype=np.float64)
    weight = np.asarray(weight, dtype=np.float64)
    if padding:
        x = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, weight.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    out = np.tensordot(windows, weight, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    return out if bias is None else out + np.asarray(bias, dtype=np.float64)[None, :, None, None]


def pool2d(x: Array, size: int, *, stride: int | None = None, kind: str = "max") -> Array:
    """nn.MaxPool2d / nn.AvgPool2d (no padding, floor): windows of size x size every `stride` (default: size)."""
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=np.float64), (size, size), axis=(2, 3))
    windows = windows[:, :, ::stride or size, ::stride or size]
    pooled: Array = windows.max(axis=(-2, -1)) if kind == "max" else windows.mean(axis=(-2, -1))
    return pooled


def lenet_forward(x: Array, convs: Layers, linears: Layers, *, activation: str = "relu", pool: str = "max") -> Array:
    """LeNet-5's logits: (conv, activation, 2x2 pooling) per conv layer, flatten, linear layers with the activation
    between them. activation "relu", "tanh" or "none"; pool "max" or "avg"."""
    def act(h: Array) -> Array:
        return np.maximum(h, 0.0) if activation == "relu" else np.tanh(h) if activation == "tanh" else h

    h = np.asarray(x, dtype=np.float64)
    for weight, bias in convs:
        h = pool2d(act(conv2d(h, weight, bias)), 2, kind=pool)
    h = h.reshape(len(h), -1)
    for index, (weight, bias) in enumerate(linears):
        h = h @ weight.T + bias
        if index < len(linears) - 1:
            h = act(h)
    return h


def bilinear_matrix(size_in: int, size_out: int) -> Array:
    """The (size_out, size_in) matrix of 1-D bilinear resizing as F.interpolate(mode="bilinear",
    align_corners=False) computes it: an image resizes as M @ image @ M.T."""
    matrix = np.zeros((size_out, size_in))
    for row in range(size_out):
        source = max((row + 0.5) * size_in / size_out - 0.5, 0.0)
        low = int(np.floor(source))
        high = min(low + 1, size_in - 1)
        matrix[row, low] += 1.0 - (source - low)
        matrix[row, high] += source - low
    return matrix
