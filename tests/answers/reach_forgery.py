"""The old attack on the grade, for every lab: a blank student notebook plus one pasted cell.

The cell looks for everything that once let the kernel compute the judge's answers: the reference
computations (in_image.exercises.reference, and the answer key wherever it may lie), the data-set
rebuilders (practica.lab01_checks.digit_split, lab02_checks.shifted_digits/test_set) and the counts
lab 03's criteria once made (practica.lab03_checks.lenet_flops, self_times), then replaces
the kernel's probes (practica.labNN.PROBES) with probes that answer from whatever it found: the
references when it found them, else the expected outputs the kernel holds as data (those of the
public cases). It prints what it found ("FORJA ...") and calls comprobar, which the echoed data fool
on the public cases; the grade, on hidden inputs computed by the judge alone, must stay 0.
"""

from __future__ import annotations

ATTACK = r'''
import importlib, json, sys
import numpy as np
import torch
sys.path.insert(0, "/opt/dl-lab-judge")
_encontrado = {{}}
for _nombre, _atributo in (("in_image.exercises.reference", "train_epochs"), ("answer_key.reference", "train_epochs"),
                           ("answer_key.lab{lab}", "expect"), ("practica.lab01_checks", "digit_split"),
                           ("practica.lab02_checks", "shifted_digits"), ("practica.lab02_checks", "test_set"),
                           ("practica.lab03_checks", "lenet_flops"), ("practica.lab03_checks", "self_times")):
    try:
        _modulo = importlib.import_module(_nombre)
        if hasattr(_modulo, _atributo):
            _encontrado[f"{{_nombre}}.{{_atributo}}"] = getattr(_modulo, _atributo)
    except Exception as _error:
        pass
print("FORJA referencias: " + json.dumps(sorted(_encontrado)))

from in_image.exercises.framework import Case
from in_image.exercises.wire import ArrayData, encode
from practica import comprobacion
import practica.lab{lab} as _lab
import practica.lab{lab}_checks as _checks

def _simple(valor):
    if isinstance(valor, ArrayData):
        return valor.values
    if isinstance(valor, dict):
        return {{clave: _simple(v) for clave, v in valor.items()}}
    if isinstance(valor, (list, tuple)):
        return [_simple(v) for v in valor]
    return valor

def _clave(inputs):
    return json.dumps(encode(_simple(dict(inputs))), sort_keys=True)

_esperado = {{}}
for _ejercicio in _checks.EXERCISES:
    for _caso in comprobacion.public_cases("{lab}", _ejercicio):
        _esperado[(_ejercicio.id, _clave(_caso.inputs))] = _caso.expected

def _respuesta(ejercicio, inputs):
    clave = (ejercicio, _clave(inputs))
    if "answer_key.lab{lab}.expect" in _encontrado:
        return _encontrado["answer_key.lab{lab}.expect"](ejercicio, Case("", _simple(inputs)), None)
    if clave not in _esperado:
        raise RuntimeError("sin datos para este caso")
    return _esperado[clave]

_t = lambda valor: torch.tensor(np.asarray(valor), dtype=torch.float32)
_ADAPTADORES = {{
    "primera_columna": lambda e: _t(e["columna"]),
    "normalizar": lambda e: _t(e["normalizadas"][0]),
    "suma_segura": lambda e: [None if s is None else _t(s) for s in e["sumas"]],
    "grad_fn": lambda e: e["nombres"],
    "exactitud": lambda e: float(e["exactitud"]),
    "matriz_confusion": lambda e: torch.tensor(np.asarray(e["matriz"])),
    "agrupar": lambda e: _t(e["maximo"]),
    "tamano_salida": lambda e: [int(c["correcto"]) for c in e["llamadas"]],
    "flops": lambda e: [int(e["adelante"]), int(e["paso"])],
    "mfu": lambda e: float(e["valor"]),
    "roofline": lambda e: [float(e["rendimiento"]), str(e["limite"])],
}}

def _sonda(ejercicio):
    def sonda(ns, inputs):
        return _ADAPTADORES[ejercicio](_respuesta(ejercicio, inputs))
    return sonda

for _ejercicio in list(_lab.PROBES):
    if _ejercicio in _ADAPTADORES:
        _lab.PROBES[_ejercicio] = _sonda(_ejercicio)
for _ejercicio in _ADAPTADORES:
    if _ejercicio in _lab.PROBES:
        _lab.comprobar(_ejercicio)
'''

# The exercises whose public cases the forged probes answer from the kernel's data (comprobar says ✅).
ECHOED = {"00": ("primera_columna", "normalizar", "suma_segura", "grad_fn"), "01": ("exactitud", "matriz_confusion"),
          "02": ("agrupar", "tamano_salida"), "03": ("flops", "mfu", "roofline")}


def attack(lab: str) -> str:
    return ATTACK.format(lab=lab)
