"""Criteria shared by the labs whose answer is a trained model or a network's output on given weights.

Shared by the judge and `comprobar`: the judge measures the test set with its own references (the expected value
says `conjunto: prueba`); `comprobar` takes the validation accuracy the notebook measured (the test set stays
closed to the student).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from in_image.exercises.framework import CaseChecks, close, describe, spanish_number
from in_image.exercises.layers import ExpectedRun, Layers, same_layers
from in_image.exercises.wire import ArrayData

OUTPUT_RTOL, OUTPUT_ATOL = 1e-3, 1e-4


def check_accuracy(c: CaseChecks, answer: Mapping[str, Any], *, bar: float, hint: str) -> None:
    """The "exactitud" criterion: the model's accuracy (test set for the judge, validation for comprobar) reaches bar."""
    on_test = c.expected.get("conjunto") == "prueba"
    hits = c.expected.get("exactitud") if on_test else answer.get("validacion")
    if not isinstance(hits, float):
        c.check("exactitud", False, f"no se pudo medir la exactitud de «modelo» en validación: {describe(hits)}")
        return
    where = "prueba" if on_test else "validación"
    percent = spanish_number(100 * hits, ".1f")
    c.check("exactitud", hits >= bar, f"la exactitud en {where} es {percent} % y debe llegar al {100 * bar:.0f} % ({hint})")


def output_matches(out: ArrayData, expected: Mapping[str, Any], *, variant: str) -> bool:
    """The network's output is the expected variant's, or its softmax (a softmax at the end is its own criterion)."""
    return any(close(out, wanted, rtol=OUTPUT_RTOL, atol=OUTPUT_ATOL)
               for wanted in (expected["salidas"][variant], expected["softmax"]))


def known_mistake(out: ArrayData, expected: Mapping[str, Any], *, mistakes: Sequence[tuple[str, str]],
                  otherwise: str) -> str:
    """The message of the first known mistake (variant, text) whose expected output the network gives."""
    for variant, text in mistakes:
        if close(out, expected["salidas"][variant], rtol=OUTPUT_RTOL, atol=OUTPUT_ATOL):
            return text
    return otherwise


def optimizer_mistake(trained: Layers | None, runs: Mapping[str, ExpectedRun]) -> str | None:
    """The message of an epoch loop that forgets zero_grad or step, when the trained weights are that loop's."""
    if same_layers(trained, runs["sin_zero_grad"].layers):
        return "los gradientes se acumulan entre lotes: llama a optimizador.zero_grad() en cada lote"
    if same_layers(trained, runs["sin_step"].layers):
        return "los pesos no cambian: llama a perdida.backward() y después a optimizador.step() en cada lote"
    return None
