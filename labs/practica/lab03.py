"""Comprobaciones del laboratorio 03 (rendimiento en GPU): `comprobar("ejercicio")`.

Las sondas llaman a tus funciones y clases con las entradas de cada caso y devuelven lo que obtienen
(números, tensores con su tipo, pesos, la traza que escribiste); los criterios que lo juzgan están en
`practica.lab03_checks`. Aquí no se calcula ninguna respuesta: solo se llama a tu código y se mira qué
hizo (el tipo de los logits, cuántos cortes de grafo ve torch._dynamo.explain, los eventos de tu traza).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch._dynamo.backends.debugging as depuracion
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from in_image.exercises.answering import Notebook, Probe, attempt
from in_image.exercises.tensors import tensor
from in_image.exercises.wire import Raised
from practica.comprobacion import crear_comprobar
from practica.lab02 import _exactitud_validacion, capas, capas_lenet
from practica.lab03_checks import EXERCISES, LAB

MAX_EVENTS = 20_000


def _red(pesos: Sequence[Sequence[Any]]) -> nn.Sequential:
    """Linear → ReLU → Linear con esos pesos (float32)."""
    (w1, _), (w2, _) = pesos
    red = nn.Sequential(nn.Linear(w1.shape[1], w1.shape[0]), nn.ReLU(), nn.Linear(w2.shape[1], w2.shape[0]))
    with torch.no_grad():
        lineales = [capa for capa in red if isinstance(capa, nn.Linear)]
        for capa, (peso, sesgo) in zip(lineales, pesos, strict=True):
            capa.weight.copy_(tensor(peso))
            capa.bias.copy_(tensor(sesgo))
    return red


# ---- las sondas ----------------------------------------------------------------------------------
def _flops(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return attempt(ns.function("flops_lenet"), int(inputs["lote"]), int(inputs["ancho"]))


def _mfu(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return attempt(ns.function("mfu"), inputs["flops"], inputs["segundos"], inputs["pico_tflops"])


def _intensidad(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    suma, matmul = ns.function("intensidad_suma"), ns.function("intensidad_matmul")
    return {"suma": attempt(suma, int(inputs["n"]), int(inputs["bytes"])),
            "matmul": attempt(matmul, *(int(v) for v in inputs["mkn"]), int(inputs["bytes"]))}


def _roofline(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return attempt(ns.function("techo"), inputs["intensidad"], inputs["pico_tflops"], inputs["ancho_banda_gbs"])


def _paso_bf16(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    paso = ns.function("paso_bf16")
    red = _red(inputs["capas"])
    optimizador = torch.optim.SGD(red.parameters(), lr=inputs["lr"])
    for parametro in red.parameters():  # gradientes de un paso anterior: zero_grad debe borrarlos
        parametro.grad = torch.ones_like(parametro)
    salidas: list[str] = []  # el tipo que sale de cada capa lineal: bf16 solo si la capa se calculó con autocast
    ganchos = [capa.register_forward_hook(lambda _m, _e, salida: salidas.append(str(salida.dtype)))
               for capa in red if isinstance(capa, nn.Linear)]
    try:
        resultado = attempt(paso, red, tensor(inputs["x"]), tensor(inputs["y"]), optimizador)
    finally:
        for gancho in ganchos:
            gancho.remove()
    if isinstance(resultado, Raised):
        return {"resultado": resultado}
    logits, perdida = resultado if isinstance(resultado, tuple | list) and len(resultado) == 2 else (resultado, None)
    return {"logits": logits, "perdida": perdida, "capas": capas(red, nn.Linear), "salidas_capas": salidas[:100],
            "tipos_pesos": [str(p.dtype) for p in red.parameters()],
            "tipos_gradientes": [str(p.grad.dtype) if p.grad is not None else "None" for p in red.parameters()]}


def _fp16(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return {"resultado": attempt(ns.function("ida_y_vuelta_fp16"), tensor(inputs["gradientes"]), inputs["escala"])}


def _memoria(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    memoria = ns.function("memoria_entrenamiento")
    parametros, activaciones, lote = (int(inputs[k]) for k in ("parametros", "activaciones", "lote"))
    return {"solo_parametros": attempt(memoria, parametros, 0, lote),
            "solo_activaciones": attempt(memoria, 0, activaciones, lote),
            "total": attempt(memoria, parametros, activaciones, lote)}


def _aumento(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    clase = ns.value("DigitosDesplazados")
    imagenes, etiquetas = tensor(inputs["imagenes"]), tensor(inputs["etiquetas"])
    datos = attempt(clase, imagenes.clone(), etiquetas.clone(), int(inputs["desplazamiento"]), int(inputs["semilla"]))
    limpios = attempt(clase, imagenes.clone(), etiquetas.clone(), 0, int(inputs["semilla"]))
    for creado in (datos, limpios):
        if isinstance(creado, Raised):
            return {"creado": creado}
    hechos: dict[str, Any] = {}
    for epoca in (0, 1):
        datos.fijar_epoca(epoca)
        hechos[f"epoca{epoca}"] = attempt(lambda: torch.stack([datos[i][0] for i in range(len(datos))]))
    hechos["validacion"] = attempt(lambda: torch.stack([limpios[i][0] for i in range(len(limpios))]))
    hechos["etiquetas"] = attempt(lambda: torch.stack([torch.as_tensor(limpios[i][1]) for i in range(len(limpios))]))
    return hechos


def _carpetas() -> tuple[str, str]:
    """torch's folder and the standard library's."""
    return (os.path.dirname(os.path.abspath(torch.__file__)) + os.sep,
            os.path.dirname(os.path.abspath(os.__file__)) + os.sep)


def _archivo(funcion: Any) -> str:
    """The file a function's code comes from ("" for anything without code)."""
    return str(getattr(getattr(funcion, "__code__", None), "co_filename", "") or "")


def _de_torch(*funciones: Any) -> bool:
    """Whether these functions are torch's own (the notebook may have put others in their place): the code of each,
    and of every wrapper around it (torch wraps some with the standard library's decorators), comes from torch's
    folder or the standard library's, and the innermost from torch's."""
    de_torch, biblioteca = _carpetas()

    def carpeta(funcion: Any) -> str:
        return os.path.abspath(_archivo(funcion) or "-")

    for funcion in funciones:
        capa = funcion
        for _ in range(10):
            if not carpeta(capa).startswith((de_torch, biblioteca)):
                return False
            if getattr(capa, "__wrapped__", None) is None:
                break
            capa = capa.__wrapped__
        if not carpeta(capa).startswith(de_torch):
            return False
    return True


# The dynamo settings that turn a graph break into a captured operation, at their defaults while breaks are counted.
DYNAMO_POR_OMISION: dict[str, Any] = {"capture_scalar_outputs": False, "capture_dynamic_output_shape_ops": False,
                                      "reorderable_logging_functions": set()}


def _clase_de_torch(clase: Any) -> bool:
    """Whether this class is torch's own: declared in torch, deriving from nothing else, its methods torch's (or
    written by dataclasses: in the standard library, or compiled from a string)."""
    _, biblioteca = _carpetas()
    metodos = [m for m in vars(clase).values() if callable(m)] if isinstance(clase, type) else []
    return (isinstance(clase, type) and str(getattr(clase, "__module__", "")).startswith("torch.")
            and clase.__mro__[1:] == (object,)
            and all(_de_torch(m) or _archivo(m) == "<string>" or os.path.abspath(_archivo(m) or "-").startswith(biblioteca)
                    for m in metodos))


def _sin_cortes(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    funcion = ns.function("perdida_y_exactitud")
    red = _red(inputs["capas"])
    x, y = tensor(inputs["x"]), tensor(inputs["y"])
    if not (_de_torch(torch._dynamo.explain, torch.compile, torch._dynamo.reset, depuracion._explain_graph_detail)
            and _clase_de_torch(depuracion.ExplainOutput)):
        sustituida = Raised("el cuaderno sustituyó torch._dynamo.explain o torch.compile: sin los de PyTorch no se "
                            "pueden contar los cortes")
        return {"resultado": attempt(funcion, red, x, y), "explicacion": sustituida, "compilada": sustituida}
    # los cortes se cuentan con la configuración de dynamo por omisión, la que el cuaderno haya cambiado aparte
    with torch._dynamo.config.patch(**DYNAMO_POR_OMISION):
        torch._dynamo.reset()
        explicacion = attempt(lambda: torch._dynamo.explain(funcion)(red, x, y))
        torch._dynamo.reset()
        # lo que devuelve la función compilada (lo que captura dynamo, sin generar código): lo mismo que sin compilar
        compilada = attempt(lambda: torch.compile(funcion, backend="eager")(red, x, y))
        torch._dynamo.reset()
    hechos: dict[str, Any] = {"resultado": attempt(funcion, red, x, y), "compilada": compilada}
    if isinstance(explicacion, Raised):
        return {**hechos, "explicacion": explicacion}
    motivos = [str(getattr(motivo, "reason", motivo)).splitlines()[0][:200] for motivo in explicacion.break_reasons]
    return {**hechos, "cortes": int(explicacion.graph_break_count), "motivos": motivos[:5]}


def paso_perfilado(inputs: Mapping[str, Any]) -> Callable[[], object]:
    """The step a case of «perfilador» profiles (the judge's answer key profiles the same one)."""
    generador = torch.Generator().manual_seed(0)
    n = int(inputs["tamano"])
    if inputs["operacion"] == "matmul":
        a, b = torch.randn(n, n, generator=generador), torch.randn(n, n, generator=generador)
        return lambda: torch.matmul(a, b).relu_().sum()
    x, w = torch.randn(8, 16, n, n, generator=generador), torch.randn(32, 16, 3, 3, generator=generador)
    return lambda: F.relu(F.conv2d(x, w, padding=1)).mean()


def _leer_traza(ruta: str) -> dict[str, Any]:
    if not os.path.isfile(ruta):
        return {"problema_traza": "no se escribió la traza de Chrome en «ruta» (perfil.export_chrome_trace(ruta))"}
    try:
        with open(ruta, encoding="utf-8") as fichero:
            traza = json.load(fichero)
    except (OSError, ValueError) as error:
        return {"problema_traza": f"la traza no es un JSON de Chrome ({type(error).__name__})"}
    eventos = traza.get("traceEvents") if isinstance(traza, dict) else None
    if not isinstance(eventos, list):
        return {"problema_traza": "la traza no tiene «traceEvents»: escríbela con perfil.export_chrome_trace(ruta)"}
    operadores = [{"name": e.get("name"), "ts": e.get("ts"), "dur": e.get("dur"), "pid": e.get("pid"), "tid": e.get("tid")}
                  for e in eventos if isinstance(e, dict) and e.get("ph") == "X" and e.get("cat") == "cpu_op"
                  and isinstance(e.get("ts"), int | float) and isinstance(e.get("dur"), int | float)]
    if not operadores:
        return {"problema_traza": "la traza no tiene operadores de CPU: perfila con activities=[ProfilerActivity.CPU]"}
    return {"eventos": operadores[:MAX_EVENTS]}


def _perfilador(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    funcion = ns.function("operador_principal")
    with tempfile.TemporaryDirectory(prefix="traza-") as carpeta:
        ruta = os.path.join(carpeta, "traza.json")
        operador = attempt(funcion, paso_perfilado(inputs), ruta)
        return {"operador": operador, **_leer_traza(ruta)}


class Vigilados(TensorDataset):
    """Un TensorDataset que anota cada fijar_epoca(e) que recibe."""

    def __init__(self, *tensores: torch.Tensor) -> None:
        super().__init__(*tensores)
        self.epocas: list[int] = []

    def fijar_epoca(self, epoca: int) -> None:
        self.epocas.append(int(epoca))


def _presupuesto(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    entrenar = ns.function("entrenar_con_presupuesto")
    ahora = [0.0]
    lotes: list[int] = []
    llamadas = [0]

    def reloj() -> float:  # un reloj que solo avanza cuando se da un paso: cada paso cuesta coste_s
        llamadas[0] += 1
        return ahora[0]

    def paso(x: torch.Tensor, y: torch.Tensor) -> None:
        lotes.append(len(y))
        ahora[0] += float(inputs["coste_s"])

    filas = int(inputs["filas"])
    datos = Vigilados(torch.zeros(filas, 2), torch.arange(filas))
    cargador = DataLoader(datos, batch_size=int(inputs["lote"]))
    resultado = attempt(entrenar, paso, cargador, float(inputs["presupuesto_s"]), reloj)
    return {"resultado": resultado, "lotes": lotes[:10_000], "real": llamadas[0] == 0, "epocas": datos.epocas[:1000]}


def _entregable(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    modelo = ns.value("modelo")
    modelo = getattr(modelo, "_orig_mod", modelo)  # un modelo compilado guarda el original en _orig_mod
    return {**capas_lenet(modelo), "validacion": _exactitud_validacion(ns, modelo)}


PROBES: dict[str, Probe] = {
    "flops": _flops, "mfu": _mfu, "intensidad": _intensidad, "roofline": _roofline, "paso_bf16": _paso_bf16,
    "fp16": _fp16, "memoria": _memoria, "aumento": _aumento, "sin_cortes": _sin_cortes, "perfilador": _perfilador,
    "presupuesto": _presupuesto, "entregable": _entregable,
}

comprobar = crear_comprobar(LAB, EXERCISES, PROBES)
