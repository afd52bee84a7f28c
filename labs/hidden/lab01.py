"""Pruebas ocultas del laboratorio 01 (perceptrón multicapa). Solo profesorado.

Otros casos de los mismos ejercicios (practica.lab01_checks): otras dimensiones de la red, otros
logits, otro entrenamiento. Solo las entradas llegan al cuaderno.
"""

import numpy as np

from in_image.exercises.framework import Case
from practica.lab01_checks import confusion_case, epoch_case, evaluation_case, model_case, saving_case

CANARIO = "dl-lab-canario-pruebas-ocultas-7f3a"
SEED = 20261129


def cases(rng: np.random.Generator) -> dict[str, list[Case]]:
    return {
        "modelo": [model_case("crear_modelo(12, 7, 3) con 5 ejemplos", seed=int(rng.integers(1 << 30)), sizes=(12, 7, 3),
                              rows=5)],
        "exactitud": [
            Case("50 ejemplos de 10 clases", {"logits": rng.standard_normal((50, 10)).astype(np.float32),
                                              "etiquetas": rng.integers(0, 10, 50)}),
            Case("7 ejemplos de 7 clases", {"logits": rng.standard_normal((7, 7)).astype(np.float32),
                                            "etiquetas": rng.integers(0, 7, 7)}),
        ],
        "entrenar_una_epoca": [epoch_case("120 ejemplos en lotes de 40, dos épocas", seed=int(rng.integers(1 << 30)),
                                          rows=120, features=5, hidden=6, lr=0.2, batch=40)],
        "evaluar": [evaluation_case("una red 5→4→6 y 33 ejemplos", seed=int(rng.integers(1 << 30)), rows=33, features=5,
                                    hidden=4, classes=6)],
        "matriz_confusion": [
            confusion_case("200 ejemplos de 10 clases", rng.integers(0, 10, 200), rng.integers(0, 10, 200), 10),
            confusion_case("4 ejemplos de 5 clases, todos de la clase 0", [0, 1, 0, 2], [0, 0, 0, 0], 5),
        ],
        "guardar_cargar": [saving_case("crear_modelo(12, 7, 3)", seed=int(rng.integers(1 << 30)), sizes=(12, 7, 3))],
    }
