"""Pruebas ocultas del laboratorio 00 (introducción a PyTorch). Solo profesorado.

Otros casos de los mismos ejercicios: los criterios son los de practica.lab00_checks (los que aplica
`comprobar`); aquí solo cambian las entradas. El calificador los lee en su propio proceso y solo
envía al cuaderno las entradas de cada caso.
"""

from typing import Any

import numpy as np

from in_image.exercises.framework import Case

# A marker the secrecy tests look for in everything a submission can read or print.
CANARIO = "dl-lab-canario-pruebas-ocultas-7f3a"
SEED = 20261128


def cases(rng: np.random.Generator) -> dict[str, list[Case]]:
    def matrix(rows: int, columns: int, dtype: Any = np.float32) -> np.ndarray:
        return rng.standard_normal((rows, columns)).astype(dtype)

    def vector(size: int) -> np.ndarray:
        return rng.standard_normal(size).astype(np.float32)

    def positive(rows: int, columns: int) -> np.ndarray:
        return rng.uniform(0.5, 3.0, (rows, columns)).astype(np.float32)

    def change(rows: int, columns: int) -> dict[str, Any]:
        """The element of m the judge changes after the call, and its new value."""
        return {"fila": int(rng.integers(rows)), "columna": int(rng.integers(columns)),
                "valor": float(rng.integers(20, 90))}

    rank_two = (matrix(4, 2, np.float64) @ matrix(2, 4, np.float64))
    return {
        "pinv": [Case("una matriz 2x4 en float64", {"A": matrix(2, 4, np.float64)}),
                 Case("una matriz 4x4 de rango 2", {"A": rank_two}),
                 Case("una matriz 5x3", {"A": matrix(5, 3)})],
        "suma_segura": [Case("4x1 + 1x3, 3x3 + 3x3 y 4x2 + un vector de 3", {"pares": [
            (matrix(4, 1), matrix(1, 3)), (matrix(3, 3), matrix(3, 3)), (matrix(4, 2), vector(3)),
        ]})],
        "difusion": [
            Case("centrar_columnas de una matriz 4x4", {"funcion": "centrar_columnas", "m": matrix(4, 4) * 2 + 5},
                 ("columnas",)),
            Case("centrar_columnas de una matriz 6x2", {"funcion": "centrar_columnas", "m": matrix(6, 2)}, ("columnas",)),
            Case("normalizar_filas de una matriz 4x4", {"funcion": "normalizar_filas", "m": positive(4, 4)}, ("filas",)),
            Case("normalizar_filas de una matriz 2x5", {"funcion": "normalizar_filas", "m": positive(2, 5)}, ("filas",)),
            Case("tabla_de_sumas con a y b de 5 elementos", {"funcion": "tabla_de_sumas", "a": vector(5), "b": vector(5)},
                 ("tabla",)),
            Case("tabla_de_sumas con a de 1 y b de 3 elementos", {"funcion": "tabla_de_sumas", "a": vector(1),
                                                                 "b": vector(3)}, ("tabla",)),
        ],
        "primera_columna": [Case("una matriz 6x1", {"m": matrix(6, 1)}), Case("una matriz 5x7", {"m": matrix(5, 7)})],
        "cambiar_forma": [
            Case("filas_de_ocho de una matriz 2x12", {"funcion": "filas_de_ocho", "m": matrix(2, 12),
                                                          "cambio": change(2, 12)}, ("filas", "vista")),
            Case("aplanar_traspuesta de una matriz 2x6", {"funcion": "aplanar_traspuesta", "m": matrix(2, 6)}, ("aplanar",)),
        ],
        "normalizar": [Case("una matriz 6x5", {"m": matrix(6, 5) * 7 + 3}),
                       Case("un vector de 10", {"m": vector(10)})],
        "modulo": [Case("matrices 3x3", {"x": matrix(3, 3), "y": matrix(3, 3)})],
        "grad_fn": [Case("torch.sqrt(x), x.mean(), x ** 2 y una hoja", {"operaciones": ["raiz", "media", "potencia", "hoja"]})],
        "backward": [Case("x 4x3 aleatorio", {"x": matrix(4, 3)})],
        "no_grad": [Case("x 3x3 con requires_grad", {"x": matrix(3, 3)})],
        "puente_numpy": [
            Case("a = un vector de 5 en float32 y t = una matriz 2x2 en float64 con requires_grad",
                 {"a": vector(5), "t": matrix(2, 2, np.float64), "gradiente": True,
                  "cambio": float(rng.integers(2, 9))}),
            Case("a = una matriz 3x2 de enteros y t = un vector de enteros",
                 {"a": rng.integers(-5, 5, (3, 2)), "t": rng.integers(0, 9, 4), "gradiente": False,
                  "cambio": int(rng.integers(2, 9))}),
        ],
        "dispositivo": [Case("t = un vector aleatorio", {"t": vector(5)})],
    }
