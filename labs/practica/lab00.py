"""Comprobaciones del laboratorio 00 (introducción a PyTorch): `comprobar("ejercicio")`.

Las sondas llaman a tus funciones (o leen tus variables) con las entradas de cada caso y devuelven
lo que obtienen; los criterios que lo juzgan están en `practica.lab00_checks`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import torch

from in_image.exercises.answering import Notebook, Probe, attempt
from in_image.exercises.tensors import array, tensor
from in_image.exercises.tracing import Traced, plain, replaced, traced
from practica.comprobacion import crear_comprobar
from practica.lab00_checks import EXERCISES, LAB


def _pinv(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return ns.function("pseudoinversa")(tensor(inputs["A"]))


def _variable(name: str) -> Probe:
    def probe(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
        return ns.value(name)

    return probe


def _datos(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return {"datos": ns.value("datos"), "forma_datos": ns.value("forma_datos")}


def _suma(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    function = ns.function("suma_segura")
    return [attempt(function, tensor(a), tensor(b)) for a, b in inputs["pares"]]


def _difusion(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    function = ns.function(inputs["funcion"])
    if inputs["funcion"] == "tabla_de_sumas":
        return attempt(function, tensor(inputs["a"]), tensor(inputs["b"]))
    return attempt(function, tensor(inputs["m"]))


def _columna(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return ns.function("primera_columna")(tensor(inputs["m"]))


def _forma(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    function = ns.function(inputs["funcion"])
    m = tensor(inputs["m"])
    result = function(m)
    if inputs["funcion"] == "aplanar_traspuesta":
        return result
    before = result.clone() if isinstance(result, torch.Tensor) else result
    change = inputs["cambio"]  # the judge chooses which element of m changes, and to what
    with torch.no_grad():
        m[change["fila"], change["columna"]] = change["valor"]  # a view of m sees this; a copy does not
    return {"resultado": before, "tras_cambiar_m": result}


def _normalizar(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return ns.function("normalizar")(tensor(inputs["m"]))


def _modulo(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    x = tensor(inputs["x"]).requires_grad_(True)
    y = tensor(inputs["y"]).requires_grad_(True)
    result = ns.function("modulo")(x, y)
    gradient = None
    if isinstance(result, torch.Tensor) and result.requires_grad:
        result.sum().backward()  # type: ignore[no-untyped-call]
        gradient = x.grad
    return {"resultado": result, "gradiente_x": gradient}


def _grad_fn(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    function = ns.function("nombre_operacion")
    x = torch.ones(2, 2, requires_grad=True)
    operations: dict[str, Callable[[], Any]] = {
        "suma": lambda: x + 2, "producto": lambda: (x + 2) * 3, "raiz": lambda: torch.sqrt(x), "media": x.mean,
        "potencia": lambda: x**2, "hoja": lambda: x, "sin_gradiente": lambda: torch.zeros(3),
    }
    return [attempt(function, operations[name]()) for name in inputs["operaciones"]]


def _backward(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    x = traced(tensor(inputs["x"]))
    gradient = ns.function("gradiente")(x)
    operations = [name for name, _, _ in Traced.operations]
    return {"gradiente": plain(gradient), "x_despues": plain(x), "x_grad": plain(x.grad), "operaciones": operations}


def _no_grad(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    x = traced(tensor(inputs["x"]).requires_grad_(True))
    result = plain(attempt(ns.function("cuadrado_sin_gradiente"), x))
    operations = [[name, enabled] for name, enabled, _ in Traced.operations]
    # grad mode seen through a gradient: after the call, w * w must still give dw = 2 w
    w = tensor(inputs["x"]).requires_grad_(True)
    square = (w * w).sum()
    if square.requires_grad:
        square.backward()  # type: ignore[no-untyped-call]
    return {"resultado": result, "operaciones": operations, "gradiente_despues": w.grad}


def _snapshot(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, torch.Tensor) else value


def _puente(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    a = array(inputs["a"])
    shared = attempt(ns.function("a_tensor_compartido"), a)
    copied = attempt(ns.function("a_tensor_copia"), a)
    before = {"compartido": _snapshot(shared), "copia": _snapshot(copied)}
    a += inputs["cambio"]  # the judge's change: a tensor that shares a's memory sees it; a copy does not
    t = tensor(inputs["t"])
    if inputs.get("gradiente"):
        t.requires_grad_(True)
    return {**before, "compartido_despues": shared, "copia_despues": copied,
            "a_numpy": attempt(ns.function("a_numpy"), t)}


@contextmanager
def _cuda_available(available: bool) -> Iterator[None]:
    """torch.cuda.is_available() answers `available` for a while: the judge chooses whether there is a GPU."""
    real = torch.cuda.is_available
    torch.cuda.is_available = lambda: available
    try:
        yield
    finally:
        torch.cuda.is_available = real


def _dispositivo(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    choose = ns.function("elegir_dispositivo")
    chosen = {}
    for available in (True, False):
        with _cuda_available(available):
            chosen["con_gpu" if available else "sin_gpu"] = attempt(choose)
    move = ns.function("mover")
    # mover must send t to the device elegir_dispositivo() gives: here "meta", which no tensor is on by chance
    with replaced(getattr(move, "__globals__", ns.namespace), "elegir_dispositivo", lambda: torch.device("meta")):
        moved = attempt(move, tensor(inputs["t"]))
    if isinstance(moved, torch.Tensor):
        moved = {"dispositivo": moved.device.type, "forma": list(moved.shape), "tipo": str(moved.dtype)}
    return {**chosen, "movido": moved}


PROBES: dict[str, Probe] = {
    "pinv": _pinv, "tensor_aleatorio": _variable("aleatorio"), "ceros_enteros": _variable("ceros"),
    "tensor_de_datos": _datos, "suma_segura": _suma, "difusion": _difusion, "primera_columna": _columna,
    "cambiar_forma": _forma, "normalizar": _normalizar, "modulo": _modulo, "grad_fn": _grad_fn, "backward": _backward,
    "no_grad": _no_grad, "puente_numpy": _puente, "dispositivo": _dispositivo,
}

comprobar = crear_comprobar(LAB, EXERCISES, PROBES)
