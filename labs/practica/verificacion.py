"""Comprobaciones de ejercicios: el mismo mecanismo para `comprobar()` y para las pruebas ocultas.

Cada prueba es una función `(ns, c)` que lee el espacio de nombres del cuaderno (`ns`) y anota
comprobaciones con `c.verificar(condición, mensaje)`. La nota de un ejercicio es la fracción de
comprobaciones superadas sobre las declaradas (crédito parcial).

Este fichero solo usa la biblioteca estándar: el calificador lo ejecuta desde su texto dentro
del kernel (así, lo que el alumno cambie en el módulo importado no altera la nota).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

# Estados de un ejercicio en los informes (en inglés: son claves estables del esquema JSON).
PASSED = "passed"
PARTIAL = "partial"
FAILED = "failed"
ERROR = "error"
NOT_ATTEMPTED = "not_attempted"

Funcion = Callable[[dict[str, Any], "Comprobacion"], None]


class FaltaDefinicion(Exception):
    """El cuaderno no define un nombre que el ejercicio necesita."""


class Comprobacion:
    """Las comprobaciones de un ejercicio: cuántas se superan y qué falla."""

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns
        self.aciertos = 0
        self.total = 0
        self.fallos: list[str] = []

    def obtener(self, nombre: str) -> Any:
        if nombre not in self.ns:
            raise FaltaDefinicion(f"no encuentro «{nombre}»: escribe el ejercicio y ejecuta su celda")
        return self.ns[nombre]

    def verificar(self, condicion: object, mensaje: str) -> bool:
        self.total += 1
        if condicion:
            self.aciertos += 1
            return True
        self.fallos.append(mensaje)
        return False


@dataclass(frozen=True)
class Prueba:
    ejercicio: str
    titulo: str
    funcion: Funcion
    comprobaciones: int
    puntos: float


@dataclass
class Resultado:
    id: str
    title: str
    status: str
    score: float
    max_score: float
    checks_passed: int
    checks_total: int
    time_s: float
    message: str

    def como_dict(self) -> dict[str, Any]:
        return asdict(self)


class Registro:
    """Las pruebas de un laboratorio, por identificador de ejercicio, en orden de declaración."""

    def __init__(self, lab: str) -> None:
        self.lab = lab
        self.pruebas: dict[str, Prueba] = {}

    def prueba(self, ejercicio: str, *, titulo: str, comprobaciones: int, puntos: float = 1.0) -> Callable[[Funcion], Funcion]:
        def registrar(funcion: Funcion) -> Funcion:
            if ejercicio in self.pruebas:
                raise ValueError(f"el ejercicio {ejercicio!r} ya tiene prueba")
            self.pruebas[ejercicio] = Prueba(ejercicio, titulo, funcion, comprobaciones, puntos)
            return funcion

        return registrar

    def evaluar(self, ejercicio: str, ns: dict[str, Any]) -> Resultado:
        if ejercicio not in self.pruebas:
            validos = ", ".join(self.pruebas)
            raise KeyError(f"el laboratorio {self.lab} no tiene el ejercicio «{ejercicio}» (ejercicios: {validos})")
        prueba = self.pruebas[ejercicio]
        c = Comprobacion(ns)
        inicio = time.perf_counter()
        estado: str | None = None
        mensaje = ""
        try:
            prueba.funcion(ns, c)
        except NotImplementedError as error:
            estado, mensaje = NOT_ATTEMPTED, str(error) or "ejercicio sin hacer"
        except FaltaDefinicion as error:
            estado, mensaje = NOT_ATTEMPTED, str(error)
        except Exception as error:  # the student's code may raise anything: it is the result, not a crash
            estado, mensaje = ERROR, f"{type(error).__name__}: {error}"
        tiempo = time.perf_counter() - inicio
        total = max(prueba.comprobaciones, c.total, 1)
        nota = round(prueba.puntos * c.aciertos / total, 4) if estado is None or estado == ERROR else 0.0
        if estado is None:
            estado = PASSED if c.aciertos == total else PARTIAL if c.aciertos else FAILED
            mensaje = "; ".join(c.fallos[:3])
        elif estado == ERROR and c.fallos:
            mensaje = f"{mensaje}; " + "; ".join(c.fallos[:2])
        return Resultado(ejercicio, prueba.titulo, estado, nota, prueba.puntos, c.aciertos, total, round(tiempo, 4),
                         mensaje[:500])


def informe(resultado: Resultado) -> str:
    """Una línea para el alumno, en español."""
    titulo = f"Ejercicio «{resultado.id}» ({resultado.title})"
    if resultado.status == PASSED:
        return f"✅ {titulo}: ¡correcto! ({resultado.checks_passed}/{resultado.checks_total} comprobaciones)"
    if resultado.status == NOT_ATTEMPTED:
        return f"⏳ {titulo}: pendiente. {resultado.message}"
    detalle = f"{resultado.checks_passed}/{resultado.checks_total} comprobaciones"
    return f"❌ {titulo}: todavía no ({detalle}). {resultado.message}"


def cargar(texto: str, *, lab: str, origen: str) -> Registro:
    """Un registro con las pruebas de un fichero de pruebas (que usa el nombre `registro` sin importarlo)."""
    registro = Registro(lab)
    exec(compile(texto, origen, "exec"), {"registro": registro, "__name__": f"pruebas_{lab}"})
    return registro
