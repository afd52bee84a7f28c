"""Comprobaciones del laboratorio 01 (perceptrón multicapa): `comprobar("ejercicio")`.

Las sondas llaman a tus funciones con las entradas de cada caso y devuelven lo que obtienen (tensores,
pesos, números); los criterios que lo juzgan están en `practica.lab01_checks`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from in_image.exercises.answering import Notebook, Probe, attempt
from in_image.exercises.tensors import tensor
from practica import crear_comprobar
from practica.lab01_checks import EXERCISES, LAB


def linear_layers(model: Any) -> list[list[torch.Tensor]]:
    """[[weight, bias], ...] of a model's nn.Linear layers, in order, on the CPU."""
    if not isinstance(model, nn.Module):
        return []
    return [[m.weight.detach().cpu(), (m.bias if m.bias is not None else torch.zeros(m.out_features)).detach().cpu()]
            for m in model.modules() if isinstance(m, nn.Linear)]


def _datos(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    names = ("X_entrenamiento", "y_entrenamiento", "X_prueba", "y_prueba")
    return {**{name: ns.value(name) for name in names}, "SEMILLA": ns.get("SEMILLA", 0)}


def _cargador(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    loader = ns.value("cargador_entrenamiento")
    facts: dict[str, Any] = {"es_dataloader": isinstance(loader, torch.utils.data.DataLoader), "tipo": type(loader).__name__,
                             "TAM_LOTE": ns.get("TAM_LOTE", 64)}
    if facts["es_dataloader"]:
        x, _ = next(iter(loader))
        facts |= {"batch_size": loader.batch_size, "muestreador": type(loader.sampler).__name__,
                  "ejemplos": len(loader.dataset), "columnas": int(x.shape[1]) if x.ndim == 2 else None,  # type: ignore[arg-type]
                  "filas_entrenamiento": len(ns.value("X_entrenamiento"))}
    return facts


def _modelo(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    entradas, ocultas, clases = inputs["tamanos"]
    model = ns.function("crear_modelo")(entradas, ocultas, clases)
    output = attempt(model, tensor(inputs["x"])) if callable(model) else None
    softmax = any(isinstance(m, nn.Softmax | nn.LogSoftmax) for m in model.modules()) if isinstance(model, nn.Module) else False
    return {"salida": output, "capas": linear_layers(model), "softmax": softmax}


def _exactitud(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return ns.function("exactitud")(tensor(inputs["logits"]), tensor(inputs["etiquetas"]))


def _epoca(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    train = ns.function("entrenar_una_epoca")
    (w1, _), (w2, _) = inputs["capas"]
    model = nn.Sequential(nn.Linear(w1.shape[1], w1.shape[0]), nn.ReLU(), nn.Linear(w2.shape[1], w2.shape[0]))
    with torch.no_grad():
        for layer, (weight, bias) in zip((model[0], model[2]), inputs["capas"], strict=True):
            layer.weight.copy_(tensor(weight))
            layer.bias.copy_(tensor(bias))
    dataset = torch.utils.data.TensorDataset(tensor(inputs["x"]), tensor(inputs["y"]))
    loader = torch.utils.data.DataLoader(dataset, batch_size=inputs["lote"], shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=inputs["lr"])
    model.eval()  # the student's function must switch it to training
    losses = [train(model, loader, nn.CrossEntropyLoss(), optimizer, torch.device("cpu")) for _ in range(inputs["epocas"])]
    return {"perdidas": losses, "capas": linear_layers(model), "entrenando": model.training}


def _final(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return {"capas": linear_layers(ns.value("modelo")), "SEMILLA": ns.get("SEMILLA", 0)}


PROBES: dict[str, Probe] = {
    "datos": _datos, "cargador": _cargador, "modelo": _modelo, "exactitud": _exactitud,
    "entrenar_una_epoca": _epoca, "exactitud_prueba": _final,
}

comprobar = crear_comprobar(LAB, EXERCISES, PROBES)
