"""Pruebas ocultas del laboratorio 03 (rendimiento en GPU). Solo profesorado.

Otros casos de los mismos ejercicios (practica.lab03_checks): otros lotes y anchos, otros chips, otras
matrices, otras escalas, otras imágenes y semillas, otro operador dominante, otro presupuesto. Solo
las entradas llegan al cuaderno.
"""

import numpy as np

from in_image.exercises.framework import Case
from practica.lab03_checks import augmentation_case, bf16_case, budget_case, explain_case, fp16_case

CANARIO = "dl-lab-canario-pruebas-ocultas-7f3a"
SEED = 20261203


def cases(rng: np.random.Generator) -> dict[str, list[Case]]:
    lote, ancho = int(rng.integers(2, 300)), int(rng.integers(3, 6))
    m, k, n = (int(v) for v in rng.integers(16, 2048, size=3))
    return {
        "flops": [Case(f"un lote de {lote} y ancho {ancho}", {"lote": lote, "ancho": ancho})],
        "mfu": [Case("otro paso en otro chip", {"flops": float(rng.uniform(1e10, 1e13)), "segundos": float(rng.uniform(0.01, 2)),
                                                "pico_tflops": float(rng.choice([19.5, 156.0, 312.0, 66.9]))})],
        "intensidad": [Case(f"otra n y una matmul {m}x{k}x{n}", {"n": int(rng.integers(10, 10**7)), "bytes": 8,
                                                                   "mkn": [m, k, n]})],
        "roofline": [
            # one range of intensities between the two ridges (12,5 and 25,3 FLOP/B): compute-bound on the A100,
            # memory-bound on the T4, so that a fixed threshold on the intensity misclassifies one in most runs
            Case("una operación en una A100 40GB", {"intensidad": float(rng.uniform(13, 24)), "pico_tflops": 19.5,
                                                    "ancho_banda_gbs": 1555.0}),
            Case("una operación en una T4", {"intensidad": float(rng.uniform(13, 24)), "pico_tflops": 8.1,
                                             "ancho_banda_gbs": 320.0}),
        ],
        "paso_bf16": [bf16_case("una red 9→5→4 y 17 ejemplos", seed=int(rng.integers(1 << 30)), rows=17, features=9,
                                hidden=5, classes=4, lr=0.3)],
        "fp16": [fp16_case("gradientes de 1e-8 a 1e-2 y escala 4096", seed=int(rng.integers(1 << 30)), count=30, low=-8,
                           high=-2, scale=4096.0),
                 fp16_case("gradientes de 1e-1 a 100 y escala 2048 (se desborda)", seed=int(rng.integers(1 << 30)),
                           count=12, low=-1, high=2, scale=2048.0)],
        "memoria": [Case("otra red, otras activaciones y otro lote", {"parametros": int(rng.integers(10**4, 10**8)),
                                                                      "activaciones": int(rng.integers(1, 10**6)),
                                                                      "lote": int(rng.integers(2, 512))})],
        "aumento": [augmentation_case("9 imágenes 12x12 y desplazamientos de hasta 3 píxeles",
                                      seed=int(rng.integers(1 << 30)), count=9, side=12, limit=3)],
        "sin_cortes": [explain_case("una red 7→14→3 y 20 ejemplos", seed=int(rng.integers(1 << 30)), rows=20, features=7,
                                    classes=3)],
        "perfilador": [Case("un paso con una convolución", {"operacion": "conv", "tamano": 48})],
        "presupuesto": [budget_case("37 ejemplos en lotes de 8, 2 s a 0,35 s por paso", rows=37, batch=8,
                                    budget=2.0, cost=0.35)],
    }
