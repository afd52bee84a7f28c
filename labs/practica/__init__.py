"""Ayudas de las prácticas de Deep Learning.

Cada laboratorio tiene su módulo con la función `comprobar`, que da al alumno una respuesta
inmediata (en español) sobre un ejercicio:

    from practica.lab00 import comprobar
    comprobar("tensor_aleatorio")

La nota no la deciden estas comprobaciones sino las pruebas ocultas del profesorado.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from practica.verificacion import Registro, informe

__all__ = ["crear_comprobar"]


def crear_comprobar(registro: Registro) -> Callable[[str], None]:
    """La función `comprobar(ejercicio)` de un laboratorio: evalúa el ejercicio en el cuaderno que la llama."""

    def comprobar(ejercicio: str) -> None:
        # The caller's globals are the notebook's namespace (IPython runs cells in user_ns).
        ns = sys._getframe(1).f_globals
        if ejercicio not in registro.pruebas:
            validos = ", ".join(f"«{e}»" for e in registro.pruebas)
            print(f"⚠️ El laboratorio {registro.lab} no tiene el ejercicio «{ejercicio}». Ejercicios: {validos}")
            return
        print(informe(registro.evaluar(ejercicio, ns)))

    comprobar.__doc__ = f"Comprueba un ejercicio del laboratorio {registro.lab} y explica el resultado."
    return comprobar
