"""Lab 00's expected outputs: what each case's correct answer is, and what the known mistakes give.

Judge side only (see answer_key): practica.lab00_checks compares the student's answers with these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from in_image.exercises.framework import Case

Array = np.ndarray[Any, Any]
# The operations of «grad_fn» (practica.lab00's probe builds them) and the class of their grad_fn.
GRAD_FN_NAMES = {"suma": "AddBackward0", "producto": "MulBackward0", "raiz": "SqrtBackward0", "media": "MeanBackward0",
                 "potencia": "PowBackward0"}


def _f64(value: Any) -> Array:
    return np.asarray(value, dtype=np.float64)


def _sums(inputs: Mapping[str, Any]) -> dict[str, Any]:
    sums: list[Array | None] = []
    for a, b in inputs["pares"]:
        try:
            np.broadcast_shapes(np.shape(a), np.shape(b))
        except ValueError:
            sums.append(None)
            continue
        sums.append(_f64(a) + _f64(b))
    return {"sumas": sums}


def _centre(m: Array) -> dict[str, Any]:
    square = m.shape[0] == m.shape[1]
    return {"columnas": m - m.mean(axis=0), "media_total": m - m.mean(), "media_filas": m - m.mean(axis=1, keepdims=True),
            "media_filas_sin_keepdim": m - m.mean(axis=1) if square else None}


def _rows(m: Array) -> dict[str, Any]:
    square = m.shape[0] == m.shape[1]
    return {"filas": m / m.sum(axis=1, keepdims=True), "sin_keepdim": m / m.sum(axis=1) if square else None,
            "por_columnas": m / m.sum(axis=0, keepdims=True), "total": m / m.sum()}


def _broadcasting(inputs: Mapping[str, Any]) -> dict[str, Any]:
    function = inputs["funcion"]
    if function == "tabla_de_sumas":
        a, b = _f64(inputs["a"]), _f64(inputs["b"])
        return {"tabla": a[:, None] + b[None, :], "elemento_a_elemento": a + b if a.shape == b.shape else None}
    m = _f64(inputs["m"])
    return _centre(m) if function == "centrar_columnas" else _rows(m)


def _reshape(inputs: Mapping[str, Any]) -> dict[str, Any]:
    m = _f64(inputs["m"])
    if inputs["funcion"] == "aplanar_traspuesta":
        return {"aplanar": m.T.reshape(-1)}
    change = inputs["cambio"]
    changed = m.copy()
    changed[change["fila"], change["columna"]] = change["valor"]
    return {"filas": m.reshape(-1, 8), "tras_cambiar_m": changed.reshape(-1, 8)}


def _normalise(inputs: Mapping[str, Any]) -> dict[str, Any]:
    m = _f64(inputs["m"])
    centred = m - m.mean()
    return {"normalizadas": [centred / m.std(ddof=1), centred / m.std(ddof=0)]}


def _modulus(inputs: Mapping[str, Any]) -> dict[str, Any]:
    x, y = _f64(inputs["x"]), _f64(inputs["y"])
    modulus = np.sqrt(x**2 + y**2)
    return {"modulo": modulus, "gradiente_x": x / modulus}


def _backward(inputs: Mapping[str, Any]) -> dict[str, Any]:
    x = _f64(inputs["x"])
    return {"gradiente": 6 * (x + 2) / x.size, "sin_media": 6 * (x + 2)}


EXPECTATIONS: dict[str, Callable[[Mapping[str, Any]], dict[str, Any]]] = {
    "suma_segura": _sums,
    "difusion": _broadcasting,
    "primera_columna": lambda inputs: {"columna": _f64(inputs["m"])[:, 0]},
    "cambiar_forma": _reshape,
    "normalizar": _normalise,
    "modulo": _modulus,
    "grad_fn": lambda inputs: {"nombres": [GRAD_FN_NAMES.get(name) for name in inputs["operaciones"]]},
    "backward": _backward,
    "no_grad": lambda inputs: {"cuadrado": _f64(inputs["x"]) ** 2, "gradiente_despues": 2 * _f64(inputs["x"])},
}


def expect(exercise: str, case: Case, answer: Any) -> dict[str, Any]:
    """The expected outputs of one case (none of lab 00's depend on the answer)."""
    found = EXPECTATIONS.get(exercise)
    return found(case.inputs) if found else {}
