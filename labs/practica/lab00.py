"""Comprobaciones inmediatas del laboratorio 00 (introducción a PyTorch)."""

from __future__ import annotations

from typing import Any

import torch

from practica import crear_comprobar
from practica.verificacion import Comprobacion, Registro

registro = Registro("00")


@registro.prueba("pinv", titulo="pseudoinversa", comprobaciones=1)
def _pinv(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("pseudoinversa")
    a = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    p = f(a)
    c.verificar(isinstance(p, torch.Tensor) and tuple(p.shape) == (2, 3) and torch.allclose(a @ p @ a, a, atol=1e-4),
                "la pseudoinversa P de A (3x2) es 2x3 y cumple A @ P @ A == A")


@registro.prueba("tensor_aleatorio", titulo="tensor aleatorio 5x3", comprobaciones=3)
def _tensor_aleatorio(ns: dict[str, Any], c: Comprobacion) -> None:
    t = c.obtener("aleatorio")
    if c.verificar(isinstance(t, torch.Tensor), "«aleatorio» debe ser un torch.Tensor"):
        c.verificar(tuple(t.shape) == (5, 3), f"la forma es {tuple(t.shape)} y debe ser (5, 3)")
        c.verificar(t.is_floating_point() and bool(((t >= 0) & (t < 1)).all()),
                    "los valores deben estar en [0, 1): usa torch.rand")


@registro.prueba("ceros_enteros", titulo="matriz de ceros entera", comprobaciones=3)
def _ceros(ns: dict[str, Any], c: Comprobacion) -> None:
    t = c.obtener("ceros")
    if c.verificar(isinstance(t, torch.Tensor), "«ceros» debe ser un torch.Tensor"):
        c.verificar(tuple(t.shape) == (5, 3), f"la forma es {tuple(t.shape)} y debe ser (5, 3)")
        c.verificar(t.dtype == torch.long and not bool(t.any()), "deben ser ceros de tipo torch.long")


@registro.prueba("tensor_de_datos", titulo="tensor a partir de datos y su forma", comprobaciones=2)
def _datos(ns: dict[str, Any], c: Comprobacion) -> None:
    t = c.obtener("datos")
    forma = c.obtener("forma_datos")
    c.verificar(isinstance(t, torch.Tensor) and tuple(t.shape) == (5, 3) and float(t[0, 0]) == 5.5,
                "«datos» debe ser el tensor 5x3 del enunciado (empieza por 5.5)")
    c.verificar(forma == torch.Size([5, 3]), "«forma_datos» debe ser la forma de «datos» (usa .shape)")


@registro.prueba("suma_segura", titulo="suma y error de tamaños", comprobaciones=2)
def _suma(ns: dict[str, Any], c: Comprobacion) -> None:
    suma_segura = c.obtener("suma_segura")
    a, b = torch.ones(2, 3), torch.full((2, 3), 2.0)
    r = suma_segura(a, b)
    c.verificar(isinstance(r, torch.Tensor) and torch.equal(r, a + b), "suma_segura(a, b) debe devolver a + b")
    c.verificar(suma_segura(torch.ones(5, 3), torch.ones(2, 3)) is None,
                "con tamaños incompatibles (5x3 y 2x3) debe capturar el RuntimeError y devolver None")


@registro.prueba("primera_columna", titulo="slicing: la primera columna", comprobaciones=1)
def _columna(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("primera_columna")
    m = torch.arange(12.0).reshape(4, 3)
    c.verificar(torch.equal(f(m), m[:, 0]),
                "para arange(12).reshape(4, 3) debe dar tensor([0., 3., 6., 9.]); recuerda que se indexa desde 0")


@registro.prueba("cambiar_forma", titulo="view y reshape", comprobaciones=2)
def _forma(ns: dict[str, Any], c: Comprobacion) -> None:
    filas, aplanar = c.obtener("filas_de_ocho"), c.obtener("aplanar_traspuesta")
    m = torch.arange(16.0).reshape(4, 4)
    c.verificar(tuple(filas(m).shape) == (2, 8), "filas_de_ocho de una matriz 4x4 debe tener forma (2, 8)")
    c.verificar(torch.equal(aplanar(m), m.t().flatten()),
                "aplanar_traspuesta debe aplanar m.t() (necesita reshape: m.t() no es contigua)")


@registro.prueba("normalizar", titulo="operaciones con escalares", comprobaciones=1)
def _normalizar(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("normalizar")
    m = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    r = f(m)
    c.verificar(isinstance(r, torch.Tensor) and abs(float(r.mean())) < 1e-5 and abs(float(r.std()) - 1) < 1e-5,
                "el resultado debe tener media 0 y desviación típica 1")


@registro.prueba("modulo", titulo="la función modulo", comprobaciones=1)
def _modulo(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("modulo")
    r = f(torch.tensor([3.0]), torch.tensor([4.0]))
    c.verificar(isinstance(r, torch.Tensor) and torch.allclose(r, torch.tensor([5.0])), "modulo(3, 4) debe ser 5")


@registro.prueba("grad_fn", titulo="requires_grad y grad_fn", comprobaciones=2)
def _grad_fn(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("nombre_operacion")
    x = torch.ones(2, 2, requires_grad=True)
    c.verificar(f(x + 2) == "AddBackward0", "nombre_operacion(x + 2) debe ser 'AddBackward0'")
    c.verificar(f(torch.ones(2)) is None, "un tensor sin historia (sin grad_fn) debe dar None")


@registro.prueba("backward", titulo="backward y el gradiente", comprobaciones=1)
def _backward(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("gradiente")
    g = f(torch.ones(2, 2))
    c.verificar(isinstance(g, torch.Tensor) and torch.allclose(g, torch.full((2, 2), 4.5)), "en x = 1 el gradiente vale 4.5")


@registro.prueba("no_grad", titulo="torch.no_grad()", comprobaciones=2)
def _no_grad(ns: dict[str, Any], c: Comprobacion) -> None:
    f = c.obtener("cuadrado_sin_gradiente")
    x = torch.ones(2, requires_grad=True)
    r = f(x)
    c.verificar(isinstance(r, torch.Tensor) and torch.equal(r.detach(), x.detach() ** 2), "debe devolver x ** 2")
    c.verificar(isinstance(r, torch.Tensor) and not r.requires_grad,
                "el resultado no debe requerir gradiente: usa torch.no_grad()")


@registro.prueba("dispositivo", titulo="CPU o GPU", comprobaciones=2)
def _dispositivo(ns: dict[str, Any], c: Comprobacion) -> None:
    elegir, mover = c.obtener("elegir_dispositivo"), c.obtener("mover")
    esperado = "cuda" if torch.cuda.is_available() else "cpu"
    d = elegir()
    c.verificar(isinstance(d, torch.device) and d.type == esperado,
                f"elegir_dispositivo() debe dar torch.device('{esperado}') aquí")
    c.verificar(mover(torch.ones(2)).device.type == esperado, f"mover(t) debe llevar el tensor a '{esperado}'")


comprobar = crear_comprobar(registro)
