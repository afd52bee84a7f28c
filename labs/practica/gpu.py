"""Medir un paso en la CPU y en la GPU, bien medido: las secciones «La GPU» de cada laboratorio.

Medir una GPU tiene trampas: la primera llamada incluye la inicialización (calentamiento), las
operaciones de la GPU son asíncronas (hay que esperar con `torch.cuda.synchronize()` antes de parar
el reloj) y una sola medida es ruido (varias repeticiones y la mediana). `cronometrar` lo hace todo;
`comparar` mide el mismo paso en los dos dispositivos y dice cuánto más rápida es la GPU. Sin GPU lo
dice claramente y solo mide la CPU: nunca inventa una cifra.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

__all__ = ["Medida", "comparar", "cronometrar", "hay_gpu", "tabla"]

SIN_GPU = "No hay GPU en esta máquina (torch.cuda.is_available() es False): solo se mide la CPU."


def hay_gpu() -> bool:
    return torch.cuda.is_available()


def _sincronizar(dispositivo: torch.device) -> None:
    if dispositivo.type == "cuda":
        torch.cuda.synchronize(dispositivo)


def cronometrar(paso: Callable[[], object], dispositivo: torch.device, *, repeticiones: int = 10,
                calentamiento: int = 3) -> float:
    """La mediana, en segundos, de `repeticiones` llamadas a paso() tras `calentamiento` llamadas sin medir."""
    for _ in range(calentamiento):
        paso()
    _sincronizar(dispositivo)
    tiempos = []
    for _ in range(repeticiones):
        inicio = time.perf_counter()
        paso()
        _sincronizar(dispositivo)  # la GPU trabaja en segundo plano: esperar a que termine
        tiempos.append(time.perf_counter() - inicio)
    return statistics.median(tiempos)


@dataclass(frozen=True)
class Medida:
    etiqueta: str
    cpu_s: float
    gpu_s: float | None  # None: no hay GPU

    @property
    def aceleracion(self) -> float | None:
        return None if self.gpu_s is None else self.cpu_s / self.gpu_s

    def __str__(self) -> str:
        cpu = f"CPU {self.cpu_s * 1e3:9.3f} ms"
        if self.gpu_s is None:
            return f"{self.etiqueta:<28} {cpu}   GPU: no hay"
        return f"{self.etiqueta:<28} {cpu}   GPU {self.gpu_s * 1e3:9.3f} ms   ×{self.aceleracion:.1f}"


def comparar(preparar: Callable[[torch.device], Callable[[], object]], *, etiqueta: str, repeticiones: int = 10) -> Medida:
    """Mide el paso que `preparar(dispositivo)` devuelve (los datos ya en ese dispositivo) en la CPU y, si hay, en la GPU."""
    cpu = cronometrar(preparar(torch.device("cpu")), torch.device("cpu"), repeticiones=repeticiones)
    gpu = None
    if hay_gpu():
        gpu = cronometrar(preparar(torch.device("cuda")), torch.device("cuda"), repeticiones=repeticiones)
    return Medida(etiqueta, cpu, gpu)


def tabla(medidas: Sequence[Medida]) -> None:
    """Imprime las medidas y, sin GPU, por qué solo hay CPU."""
    if not hay_gpu():
        print(SIN_GPU)
    for medida in medidas:
        print(medida)
