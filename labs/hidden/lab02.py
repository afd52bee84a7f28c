"""Pruebas ocultas del laboratorio 02 (redes convolucionales). Solo profesorado.

Otros casos de los mismos ejercicios (practica.lab02_checks): otros tamaños, núcleos, rellenos y
pasos, otros lotes, otras redes y otros pesos. Solo las entradas llegan al cuaderno.
"""

import numpy as np

from in_image.exercises.framework import Case
from practica.lab02_checks import checkpoint_case, conv_case, epoch_case, evaluation_case, lenet_case

CANARIO = "dl-lab-canario-pruebas-ocultas-7f3a"
SEED = 20261202


def _calls(rng: np.random.Generator) -> list[list[int]]:
    """Calls of tamano_salida: two without padding or stride (one with the defaults), two with padding, three with stride."""
    calls: list[list[int]] = []
    for padding, stride, count in ((0, 1, 2), (1, 1, 2), (0, 2, 3)):
        for _ in range(count):
            n, k = int(rng.integers(9, 65)), int(rng.integers(1, 8))
            p = int(rng.integers(1, 4)) if padding else 0
            s = int(rng.integers(2, 5)) if stride > 1 else 1
            calls.append([n, k, p, s])
    calls[0] = calls[0][:2]
    return calls


def cases(rng: np.random.Generator) -> dict[str, list[Case]]:
    return {
        "tamano_salida": [Case("otros tamaños, rellenos y pasos", {"llamadas": _calls(rng)})],
        "convolucion": [
            conv_case("crear_convolucion(2, 5, 7) y una entrada 3x2x9x11", seed=int(rng.integers(1 << 30)), channels=(2, 5, 7),
                      x_shape=(3, 2, 9, 11)),
            conv_case("crear_convolucion(4, 4, 1) y una entrada 1x4x5x5", seed=int(rng.integers(1 << 30)), channels=(4, 4, 1),
                      x_shape=(1, 4, 5, 5)),
        ],
        "agrupar": [
            Case("una entrada 3x1x8x8 y ventanas de 4", {"x": rng.standard_normal((3, 1, 8, 8)).astype(np.float32), "tamano": 4}),
            Case("una entrada 2x4x9x11 y ventanas de 2",
                 {"x": rng.standard_normal((2, 4, 9, 11)).astype(np.float32), "tamano": 2}),
        ],
        "lenet": [lenet_case("un lote de 5 imágenes 32x32", seed=int(rng.integers(1 << 30)), images=5)],
        "entrenar_una_epoca": [epoch_case("60 imágenes 5x5 en lotes de 20, dos épocas", seed=int(rng.integers(1 << 30)),
                                          rows=60, side=5, hidden=6, classes=4, lr=0.2, batch=20)],
        "evaluar": [evaluation_case("37 imágenes 3x3 en lotes de 8 (el último, de 5)", seed=int(rng.integers(1 << 30)),
                                    rows=37, side=3, hidden=10, classes=5, batch=8)],
        "punto_control": [checkpoint_case("otra red, otro Adam y la época 23", seed=int(rng.integers(1 << 30)), epoch=23,
                                          reference_epoch=4)],
    }
