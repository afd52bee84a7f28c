"""Comprobaciones inmediatas del laboratorio 01 (perceptrón multicapa)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from practica import crear_comprobar
from practica.verificacion import Comprobacion, Registro

registro = Registro("01")


@registro.prueba("datos", titulo="tensores de entrenamiento y prueba", comprobaciones=3)
def _datos(ns: dict[str, Any], c: Comprobacion) -> None:
    xe, ye = c.obtener("X_entrenamiento"), c.obtener("y_entrenamiento")
    xp, yp = c.obtener("X_prueba"), c.obtener("y_prueba")
    c.verificar(all(isinstance(t, torch.Tensor) for t in (xe, ye, xp, yp)), "los cuatro deben ser torch.Tensor")
    c.verificar(xe.dtype == torch.float32 and ye.dtype == torch.long, "X en float32 y las etiquetas y en torch.long")
    c.verificar(xe.shape[1] == 64 and len(xe) + len(xp) == 1797, "las imágenes 8x8 dan 64 columnas; en total hay 1797 dígitos")


@registro.prueba("cargador", titulo="DataLoader", comprobaciones=2)
def _cargador(ns: dict[str, Any], c: Comprobacion) -> None:
    cargador = c.obtener("cargador_entrenamiento")
    c.verificar(isinstance(cargador, torch.utils.data.DataLoader), "debe ser un torch.utils.data.DataLoader")
    x, y = next(iter(cargador))
    c.verificar(x.shape[1] == 64 and len(x) == len(y) and len(x) > 1, "cada lote debe dar (X, y) con 64 columnas")


@registro.prueba("modelo", titulo="el perceptrón multicapa", comprobaciones=3)
def _modelo(ns: dict[str, Any], c: Comprobacion) -> None:
    crear = c.obtener("crear_modelo")
    red = crear(64, 32, 10)
    c.verificar(isinstance(red, nn.Module), "crear_modelo debe devolver un nn.Module")
    lineales = [m for m in red.modules() if isinstance(m, nn.Linear)]
    c.verificar(len(lineales) >= 2, "un perceptrón multicapa tiene al menos dos capas nn.Linear")
    c.verificar(not any(isinstance(m, nn.Softmax | nn.LogSoftmax) for m in red.modules()),
                "la red debe devolver logits: CrossEntropyLoss ya aplica softmax")


@registro.prueba("exactitud", titulo="la métrica de exactitud", comprobaciones=1)
def _exactitud(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("exactitud")
    logits = torch.tensor([[2.0, 0.1], [0.1, 2.0], [3.0, 0.0], [0.0, 1.0]])
    r = f(logits, torch.tensor([0, 1, 1, 1]))
    c.verificar(abs(float(r) - 0.75) < 1e-6, f"con 3 aciertos de 4 debe dar 0.75 (da {r})")


@registro.prueba("entrenar_una_epoca", titulo="una época de entrenamiento", comprobaciones=1)
def _epoca(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("entrenar_una_epoca")
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] > 0).long()
    cargador = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    red = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = torch.optim.SGD(red.parameters(), lr=0.5)
    perdidas = [float(f(red, cargador, nn.CrossEntropyLoss(), opt, torch.device("cpu"))) for _ in range(5)]
    c.verificar(perdidas[-1] < perdidas[0],
                f"la pérdida media debe bajar época a época (da {perdidas[0]:.3f} → {perdidas[-1]:.3f})")


@registro.prueba("exactitud_prueba", titulo="al menos un 90 % en el conjunto de prueba", comprobaciones=1)
def _final(ns: dict[str, Any], c: Comprobacion) -> None:
    red, xp, yp = c.obtener("modelo"), c.obtener("X_prueba"), c.obtener("y_prueba")
    dispositivo = next(red.parameters()).device
    red.eval()
    with torch.no_grad():
        acierto = float((red(xp.to(dispositivo)).argmax(1).cpu() == yp).float().mean())
    c.verificar(acierto >= 0.90, f"la exactitud en prueba es {acierto:.1%} y debe llegar al 90 %")


comprobar = crear_comprobar(registro)
