"""Layers as data, shared by the kernel's criteria and the judge: read, compare and draw [weight, bias] pairs.

Comparisons and case inputs only: nothing here computes an exercise's answer (that is answer_key's,
on the judge side).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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


def same_layers(a: Layers | None, b: Layers) -> bool:
    """a has b's layers, shapes and values (within the tolerance of a float32 training); False when a is None."""
    return a is not None and len(a) == len(b) and all(
        wa.shape == wb.shape and np.allclose(wa, wb, rtol=1e-3, atol=1e-5) and np.allclose(ba, bb, rtol=1e-3, atol=1e-5)
        for (wa, ba), (wb, bb) in zip(a, b, strict=True))


def random_layers(rng: np.random.Generator, sizes: Sequence[int]) -> list[list[Array]]:
    """[[weight, bias], ...] in float32 for Linear layers sizes[0] → sizes[1] → ..., drawn as nn.Linear initialises
    them (uniform in ±1/√fan_in), weight then bias, layer by layer."""
    layers = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1 / np.sqrt(fan_in)
        layers.append([rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                       rng.uniform(-bound, bound, fan_out).astype(np.float32)])
    return layers


@dataclass(frozen=True)
class ExpectedRun:
    """A training run as the judge's expectations give it: losses per epoch and the layers after them."""

    layers: Layers
    mean_losses: list[float]
    last_losses: list[float]
    sum_losses: list[float]


def expected_runs(expected: Mapping[str, Any]) -> dict[str, ExpectedRun]:
    """{"ninguno": ..., "sin_zero_grad": ..., ...} from an expectation's "entrenamientos" data."""
    return {kind: ExpectedRun(layers_from(run["capas"]) or [], [float(v) for v in run["media"]],
                              [float(v) for v in run["ultima"]], [float(v) for v in run["suma"]])
            for kind, run in expected["entrenamientos"].items()}
