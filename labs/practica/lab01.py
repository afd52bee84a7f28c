"""Comprobaciones del laboratorio 01 (perceptrón multicapa): `comprobar("ejercicio")`.

Las sondas llaman a tus funciones con las entradas de cada caso y devuelven lo que obtienen (tensores,
pesos, números); los criterios que lo juzgan están en `practica.lab01_checks`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from in_image.exercises.answering import Notebook, Probe, attempt
from in_image.exercises.tensors import tensor
from in_image.exercises.tracing import Traced, loads_noted, plain, replaced, traced
from in_image.exercises.wire import Raised
from practica.comprobacion import crear_comprobar
from practica.lab01_checks import EXERCISES, LAB


def linear_layers(model: Any) -> list[list[torch.Tensor]]:
    """[[weight, bias], ...] of a model's nn.Linear layers, in order, on the CPU."""
    if not isinstance(model, nn.Module):
        return []
    return [[m.weight.detach().cpu(), (m.bias if m.bias is not None else torch.zeros(m.out_features)).detach().cpu()]
            for m in model.modules() if isinstance(m, nn.Linear)]


def _datos(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    names = ("X_entrenamiento", "y_entrenamiento", "X_validacion", "y_validacion", "X_prueba", "y_prueba")
    return {**{name: ns.value(name) for name in names}, "SEMILLA": ns.get("SEMILLA", 0)}


def _cargador(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    loader = ns.value("cargador_entrenamiento")
    facts: dict[str, Any] = {"es_dataloader": isinstance(loader, torch.utils.data.DataLoader), "tipo": type(loader).__name__,
                             "TAM_LOTE": ns.get("TAM_LOTE", 64)}
    if facts["es_dataloader"]:
        x, _ = next(iter(loader))
        # one epoch: how many times each label comes out of the student's loader, and how many y_entrenamiento holds
        facts["etiquetas"] = attempt(lambda: _label_counts([batch[1] for batch in loader]))
        facts["etiquetas_entrenamiento"] = attempt(lambda: _label_counts([ns.value("y_entrenamiento")]))
        facts |= {"batch_size": loader.batch_size, "muestreador": type(loader.sampler).__name__,
                  "ejemplos": len(loader.dataset), "columnas": int(x.shape[1]) if x.ndim == 2 else None,
                  "filas_entrenamiento": len(ns.value("X_entrenamiento"))}
    return facts


def _label_counts(labels: list[Any]) -> torch.Tensor:
    if not all(isinstance(t, torch.Tensor) for t in labels):
        raise TypeError("las etiquetas deben ser tensores")
    return torch.bincount(torch.cat([t.reshape(-1) for t in labels]).long().cpu(), minlength=10)


def _modelo(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    entradas, ocultas, clases = inputs["tamanos"]
    model = ns.function("crear_modelo")(entradas, ocultas, clases)
    fixed = False
    if isinstance(model, nn.Module):  # the case's weights: the expected outputs were computed with them
        try:
            _set_layers(model, inputs["capas"])
            fixed = True
        except ValueError:
            fixed = False
    output = attempt(model, tensor(inputs["x"])) if callable(model) else None
    softmax = any(isinstance(m, nn.Softmax | nn.LogSoftmax) for m in model.modules()) if isinstance(model, nn.Module) else False
    return {"salida": output, "capas": linear_layers(model), "softmax": softmax, "pesos_fijados": fixed}


def _exactitud(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return ns.function("exactitud")(tensor(inputs["logits"]), tensor(inputs["etiquetas"]))


def _two_layers(capas: Any) -> nn.Sequential:
    """Linear-ReLU-Linear with a case's weights."""
    (w1, _), (w2, _) = capas
    model = nn.Sequential(nn.Linear(w1.shape[1], w1.shape[0]), nn.ReLU(), nn.Linear(w2.shape[1], w2.shape[0]))
    _set_layers(model, capas)
    return model


def _set_layers(model: nn.Module, capas: Any) -> None:
    """Copy a case's [weight, bias] pairs into a model's nn.Linear layers, in order; ValueError if they do not fit."""
    layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
    shapes = [tuple(tensor(weight).shape) for weight, _ in capas]
    if [tuple(m.weight.shape) for m in layers] != shapes or any(m.bias is None for m in layers):
        raise ValueError("crear_modelo no da las capas del enunciado (tres nn.Linear con sesgo): corrige antes el "
                         "ejercicio «modelo»")
    with torch.no_grad():
        for layer, (weight, bias) in zip(layers, capas, strict=True):
            layer.weight.copy_(tensor(weight))
            layer.bias.copy_(tensor(bias))


def _epoca(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    train = ns.function("entrenar_una_epoca")
    model = _two_layers(inputs["capas"])
    # traced batches: each must reach the device the function is given (x.to(dispositivo), y.to(dispositivo))
    dataset = torch.utils.data.TensorDataset(traced(tensor(inputs["x"])), traced(tensor(inputs["y"]), reset=False))
    loader = torch.utils.data.DataLoader(dataset, batch_size=inputs["lote"], shuffle=False)
    optimizer = torch.optim.SGD(model.parameters(), lr=inputs["lr"])
    model.eval()  # the student's function must switch it to training
    losses = [train(model, loader, nn.CrossEntropyLoss(), optimizer, torch.device("cpu")) for _ in range(inputs["epocas"])]
    return {"perdidas": [plain(v) for v in losses], "capas": linear_layers(model), "entrenando": model.training,
            "movidos": _moves()}


def _moves() -> list[str]:
    """The devices the traced tensors were sent to with .to(...), in order."""
    return [device for name, _, device in Traced.operations if name == "to" and device is not None]


def _evaluar(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    evaluate = ns.function("evaluar")
    model = _two_layers(inputs["capas"])
    calls: list[list[bool]] = []
    model.register_forward_hook(lambda module, args, output: calls.append([torch.is_grad_enabled(), module.training]))
    model.train()  # the student's function must switch it to evaluation
    x, y = traced(tensor(inputs["x"])), traced(tensor(inputs["y"]), reset=False)
    # the student's exactitud is graded in its own exercise: here a stand-in answers the case's given value
    with replaced(getattr(evaluate, "__globals__", ns.namespace), "exactitud", lambda logits, etiquetas:
                   inputs["exactitud_dada"]):
        result = attempt(evaluate, model, x, y, nn.CrossEntropyLoss(), torch.device("cpu"))
    if isinstance(result, tuple | list):
        result = type(result)(plain(v) for v in result)
    return {"resultado": result, "llamadas": calls, "movidos": _moves()}


def _validation_accuracy(ns: Notebook, model: Any) -> Any:
    """The model's accuracy on the notebook's own validation set (what comprobar reports; the grade uses the test set)."""
    if not isinstance(model, nn.Module):
        return None

    def measure() -> float:
        x, y = ns.get("X_validacion"), ns.get("y_validacion")
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
            raise ValueError("X_validacion e y_validacion deben ser tensores")
        device = next(model.parameters()).device
        with torch.no_grad():
            return float((model(x.to(device)).argmax(1).cpu() == y.cpu()).float().mean())

    return attempt(measure)


def _final(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    model = ns.value("modelo")
    return {"capas": linear_layers(model), "SEMILLA": ns.get("SEMILLA", 0), "validacion": _validation_accuracy(ns, model)}


def _confusion(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return attempt(ns.function("matriz_confusion"), tensor(inputs["predicciones"]), tensor(inputs["etiquetas"]),
                   int(inputs["clases"]))


def _saved(path: str, done: Any) -> Any:
    """What guardar left in the file, as torch.load(weights_only=True) reads it (a state_dict), or why it cannot."""
    if isinstance(done, Raised):
        return done
    if not os.path.isfile(path):
        return Raised("guardar no creó el fichero «ruta»")
    return attempt(lambda: torch.load(path, map_location="cpu", weights_only=True))


def _loaded(model: Any) -> Any:
    if isinstance(model, Raised):
        return model
    return {"es_modulo": isinstance(model, nn.Module), "tipo": type(model).__name__, "capas": linear_layers(model),
            "entrenando": getattr(model, "training", None)}


def _guardar_cargar(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    entradas, ocultas, clases = inputs["tamanos"]
    save, load = ns.function("guardar"), ns.function("cargar")
    # the judge's network (the statement's three nn.Linear): a mistake in crear_modelo costs points only in «modelo»
    model = _stand_in_model(entradas, ocultas, clases)
    _set_layers(model, inputs["capas"])
    model.train()
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "modelo.pt")
        saved = _saved(path, attempt(save, model, path))
        with loads_noted() as loads, replaced(getattr(load, "__globals__", ns.namespace), "crear_modelo",
                                                 _stand_in_model):
            loaded = _loaded(attempt(load, path, entradas, ocultas, clases))
    return {"guardado": saved, "cargado": loaded, "map_location": loads}


def _stand_in_model(entradas: int, ocultas: int, clases: int) -> nn.Module:
    """The statement's layers, untrained: what guardar and cargar get instead of the student's crear_modelo."""
    return nn.Sequential(nn.Linear(entradas, ocultas), nn.ReLU(), nn.Linear(ocultas, ocultas), nn.ReLU(),
                         nn.Linear(ocultas, clases))


PROBES: dict[str, Probe] = {
    "datos": _datos, "cargador": _cargador, "modelo": _modelo, "exactitud": _exactitud,
    "entrenar_una_epoca": _epoca, "evaluar": _evaluar, "exactitud_prueba": _final, "matriz_confusion": _confusion,
    "guardar_cargar": _guardar_cargar,
}

comprobar = crear_comprobar(LAB, EXERCISES, PROBES)
