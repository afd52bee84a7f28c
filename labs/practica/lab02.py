"""Comprobaciones del laboratorio 02 (redes convolucionales): `comprobar("ejercicio")`.

Las sondas llaman a tus funciones y clases con las entradas de cada caso y devuelven lo que obtienen
(tensores, pesos, números); los criterios que lo juzgan están en `practica.lab02_checks`.

Para saber si mueves los lotes al dispositivo también en una máquina sin GPU, el cargador de las
comprobaciones entrega lotes de una subclase de tensor (`LoteSinMover`) cuyo `.to(...)` devuelve un
tensor normal: si la red recibe el lote tal como salió del cargador, no lo moviste (`.cpu()` no cuenta:
el lote debe ir al dispositivo que recibe la función, `x.to(dispositivo)`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data._utils.collate import default_collate

from in_image.exercises.answering import Notebook, Probe, attempt
from in_image.exercises.tensors import tensor
from in_image.exercises.tracing import loads_noted
from in_image.exercises.wire import Raised
from practica.comprobacion import crear_comprobar
from practica.lab02_checks import EXERCISES, LAB


class LoteSinMover(torch.Tensor):
    """Un lote como lo entrega el cargador de las comprobaciones: `.to()` y `.cuda()` dan un tensor normal; `.cpu()`, el
    mismo lote (no es llevarlo al dispositivo que recibe la función)."""

    def to(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return torch.Tensor.to(self, *args, **kwargs).as_subclass(torch.Tensor)

    def cuda(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return torch.Tensor.cuda(self, *args, **kwargs).as_subclass(torch.Tensor)

    def cpu(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        # .cpu() is not a move to the device the function gets: the batch stays as the loader gave it
        return self


def _sin_mover(lote: Sequence[Any]) -> list[torch.Tensor]:
    return [t.as_subclass(LoteSinMover) for t in default_collate(lote)]  # type: ignore[no-untyped-call]


def cargador_vigilado(x: torch.Tensor, y: torch.Tensor, lote: int) -> DataLoader[Any]:
    """Un DataLoader en orden sobre (x, y) cuyos lotes dicen si se movieron (LoteSinMover)."""
    return DataLoader(TensorDataset(x, y), batch_size=lote, shuffle=False, collate_fn=_sin_mover)


class Vigilancia:
    """Lo que ve la red en cada llamada: si el lote se movió, el modo (train/eval) y si se calculaba el gradiente."""

    def __init__(self, modelo: nn.Module) -> None:
        self.movidos: list[bool] = []
        self.modos: list[bool] = []
        self.gradientes: list[bool] = []
        modelo.register_forward_pre_hook(self._antes)

    def _antes(self, modulo: nn.Module, args: tuple[Any, ...]) -> None:
        self.movidos.append(bool(args) and type(args[0]) is torch.Tensor)
        self.modos.append(modulo.training)
        self.gradientes.append(torch.is_grad_enabled())


class PerdidaVigilada(nn.CrossEntropyLoss):
    """nn.CrossEntropyLoss que anota si las etiquetas de cada lote se movieron al dispositivo."""

    def __init__(self) -> None:
        super().__init__()
        self.movidas: list[bool] = []

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.movidas.append(type(target) is torch.Tensor)
        return super().forward(input, target)


def _movimientos(vigilancia: Vigilancia, perdida: PerdidaVigilada) -> dict[str, Any]:
    return {"datos_movidos": bool(vigilancia.movidos) and all(vigilancia.movidos),
            "etiquetas_movidas": all(perdida.movidas) if perdida.movidas else None}


def capas(modelo: Any, tipo: type[nn.Module]) -> list[list[torch.Tensor]]:
    """[[peso, sesgo], ...] de las capas de ese tipo (nn.Linear, nn.Conv2d) del modelo, en orden, en la CPU."""
    if not isinstance(modelo, nn.Module):
        return []
    found = []
    for m in modelo.modules():
        weight, bias = getattr(m, "weight", None), getattr(m, "bias", None)
        if isinstance(m, tipo) and isinstance(weight, torch.Tensor):
            bias = bias if isinstance(bias, torch.Tensor) else torch.zeros(weight.shape[0])
            found.append([weight.detach().cpu(), bias.detach().cpu()])
    return found


def capas_lenet(modelo: Any) -> dict[str, Any]:
    return {"convoluciones": capas(modelo, nn.Conv2d), "lineales": capas(modelo, nn.Linear)}


def _red_lineal(pesos: Sequence[Sequence[Any]], *, abandono: bool = False) -> nn.Sequential:
    """Flatten → Linear → ReLU (→ Dropout) → Linear con esos pesos."""
    (w1, _), (w2, _) = pesos
    partes: list[nn.Module] = [nn.Flatten(), nn.Linear(w1.shape[1], w1.shape[0]), nn.ReLU()]
    partes += [nn.Dropout(0.5)] if abandono else []
    red = nn.Sequential(*partes, nn.Linear(w2.shape[1], w2.shape[0]))
    lineales = [m for m in red if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for capa, (peso, sesgo) in zip(lineales, pesos, strict=True):
            capa.weight.copy_(tensor(peso))
            capa.bias.copy_(tensor(sesgo))
    return red


# ---- las sondas ----------------------------------------------------------------------------------
def _tamano(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    funcion = ns.function("tamano_salida")
    return [attempt(funcion, *llamada) for llamada in inputs["llamadas"]]


def _convolucion(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    canales_entrada, canales_salida, nucleo = inputs["canales"]
    capa = ns.function("crear_convolucion")(canales_entrada, canales_salida, nucleo)
    hechos: dict[str, Any] = {"tipo": type(capa).__name__}
    if isinstance(capa, nn.Module):
        peso, sesgo = getattr(capa, "weight", None), getattr(capa, "bias", None)
        hechos |= {"peso": peso if isinstance(peso, torch.Tensor) else None,
                   "sesgo": sesgo if isinstance(sesgo, torch.Tensor) else None,
                   "pesos_fijados": _fijar(peso, inputs["peso"]) and (sesgo is None or _fijar(sesgo, inputs["sesgo"])),
                   "salida": attempt(capa, tensor(inputs["x"]))}
    return hechos


def _fijar(parametro: Any, valor: Any) -> bool:
    """Copia los valores del caso en un peso de la red si tiene su forma (las salidas esperadas usan esos valores)."""
    nuevo = tensor(valor)
    if not isinstance(parametro, torch.Tensor) or tuple(parametro.shape) != tuple(nuevo.shape):
        return False
    with torch.no_grad():
        parametro.copy_(nuevo)
    return True


def _fijar_capas(modelo: nn.Module, tipo: type[nn.Module], pesos: Sequence[Sequence[Any]]) -> bool:
    capas_del_tipo = [m for m in modelo.modules() if isinstance(m, tipo)]
    if len(capas_del_tipo) != len(pesos):
        return False
    fijadas = True
    for capa, (peso, sesgo) in zip(capas_del_tipo, pesos, strict=True):
        fijadas = _fijar(getattr(capa, "weight", None), peso) and _fijar(getattr(capa, "bias", None), sesgo) and fijadas
    return fijadas


def _agrupar(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    return attempt(ns.function("agrupar"), tensor(inputs["x"]), int(inputs["tamano"]))


def _lenet(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    clase = ns.value("LeNet")
    if not (isinstance(clase, type) and issubclass(clase, nn.Module)):
        return {"tipo": clase.__name__ if isinstance(clase, type) else type(clase).__name__}
    modelo = attempt(clase)
    if isinstance(modelo, Raised):
        return {"creada": modelo}
    softmax = any(isinstance(m, nn.Softmax | nn.LogSoftmax) for m in modelo.modules())
    fijados = _fijar_capas(modelo, nn.Conv2d, inputs["convoluciones"]) & _fijar_capas(modelo, nn.Linear, inputs["lineales"])
    return {**capas_lenet(modelo), "salida": attempt(modelo, tensor(inputs["x"])), "softmax": softmax,
            "pesos_fijados": fijados}


def _epoca(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    entrenar = ns.function("entrenar_una_epoca")
    red = _red_lineal(inputs["capas"])
    vigilancia, perdida = Vigilancia(red), PerdidaVigilada()
    cargador = cargador_vigilado(tensor(inputs["x"]), tensor(inputs["y"]), inputs["lote"])
    optimizador = torch.optim.SGD(red.parameters(), lr=inputs["lr"])
    red.eval()  # la función debe ponerla en modo entrenamiento
    perdidas = [entrenar(red, cargador, perdida, optimizador, torch.device("cpu")) for _ in range(inputs["epocas"])]
    return {"perdidas": perdidas, "capas": capas(red, nn.Linear), "entrenando": red.training,
            **_movimientos(vigilancia, perdida)}


def _evaluar(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    evaluar = ns.function("evaluar")
    red = _red_lineal(inputs["capas"], abandono=True)
    vigilancia, perdida = Vigilancia(red), PerdidaVigilada()
    cargador = cargador_vigilado(tensor(inputs["x"]), tensor(inputs["y"]), inputs["lote"])
    red.train()  # la función debe ponerla en modo evaluación
    resultado = attempt(evaluar, red, cargador, perdida, torch.device("cpu"))
    return {"resultado": resultado, "modos": vigilancia.modos, "gradientes": vigilancia.gradientes,
            **_movimientos(vigilancia, perdida)}


def _red_pequena(pesos: Mapping[str, Any]) -> nn.Sequential:
    red = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(32, 3))
    red.load_state_dict({nombre: tensor(valor) for nombre, valor in pesos.items()})
    return red


def _adam(red: nn.Module, estado: Mapping[str, Any]) -> torch.optim.Adam:
    optimizador = torch.optim.Adam(red.parameters(), lr=estado["lr"])
    for parametro, media, cuadrados in zip(red.parameters(), estado["exp_avg"], estado["exp_avg_sq"], strict=True):
        optimizador.state[parametro] = {"step": torch.tensor(float(estado["paso"])), "exp_avg": tensor(media),
                                        "exp_avg_sq": tensor(cuadrados)}
    return optimizador


def _leer_punto_control(ruta: str) -> dict[str, Any]:
    if not os.path.isfile(ruta):
        return {"sin_fichero": True}
    try:
        return {"fichero": torch.load(ruta, weights_only=True)}
    except Exception as error:  # lo que sea que se guardó: su error es la respuesta
        return {"fichero": Raised(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]),
                "objeto_entero": _objeto_entero(ruta)}


def _objeto_entero(ruta: str) -> bool:
    """Si el fichero guarda un modelo u optimizador entero (con pickle): lo lee el propio cuaderno, no el calificador."""
    try:
        contenido = torch.load(ruta, weights_only=False)
    except Exception:  # ilegible de cualquier forma
        return False
    valores = contenido.values() if isinstance(contenido, Mapping) else [contenido]
    return any(isinstance(v, nn.Module | torch.optim.Optimizer) for v in valores)


def _punto_control(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    guardar, cargar = ns.function("guardar_punto_control"), ns.function("cargar_punto_control")
    with tempfile.TemporaryDirectory(prefix="punto-control-") as carpeta:
        ruta = os.path.join(carpeta, "punto_control.pt")
        red = _red_pequena(inputs["pesos"])
        guardado = attempt(guardar, red, _adam(red, inputs["adam"]), inputs["epoca"], ruta)
        hechos: dict[str, Any] = {"guardado": guardado if isinstance(guardado, Raised) else None,
                                  **_leer_punto_control(ruta)}
        referencia = _red_pequena(inputs["pesos_referencia"])
        ruta_referencia = os.path.join(carpeta, "referencia.pt")
        torch.save({"epoca": inputs["epoca_referencia"], "modelo": referencia.state_dict(),
                    "optimizador": _adam(referencia, inputs["adam_referencia"]).state_dict()}, ruta_referencia)
        nueva = _red_pequena(inputs["pesos_iniciales"])
        optimizador_nuevo = torch.optim.Adam(nueva.parameters(), lr=0.5)
        with loads_noted() as cargas:
            hechos["epoca_cargada"] = attempt(cargar, nueva, optimizador_nuevo, ruta_referencia)
        hechos["map_location"] = cargas
    return {**hechos, "pesos_cargados": dict(nueva.state_dict()), "optimizador_cargado": optimizador_nuevo.state_dict()}


def _exactitud_validacion(ns: Notebook, modelo: Any) -> Any:
    """La exactitud del modelo en la validación del propio cuaderno (la de `comprobar`; la nota usa la de prueba)."""
    if not isinstance(modelo, nn.Module):
        return None

    def medir() -> float:
        x, y = ns.get("X_validacion"), ns.get("y_validacion")
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
            raise ValueError("X_validacion e y_validacion deben ser tensores")
        dispositivo = next(modelo.parameters()).device
        modo = modelo.training
        modelo.eval()
        try:
            with torch.no_grad():
                return float((modelo(x.to(dispositivo)).argmax(1).cpu() == y.cpu()).float().mean())
        finally:
            modelo.train(modo)

    return attempt(medir)


def _entregable(ns: Notebook, inputs: Mapping[str, Any]) -> Any:
    modelo = ns.value("modelo")
    return {**capas_lenet(modelo), "validacion": _exactitud_validacion(ns, modelo), "mejor": _mejor_guardado(ns)}


def _mejor_guardado(ns: Notebook) -> Any:
    """Los pesos del punto de control de la mejor época que guardó el cuaderno (`ruta_mejor`), tal como están en el
    fichero: el calificador comprueba que los de `modelo` son esos."""
    ruta = ns.get("ruta_mejor")
    if not isinstance(ruta, str | os.PathLike) or not os.path.isfile(ruta):
        return Raised("no encuentro el fichero «ruta_mejor» del punto de control de la mejor época")
    leido = attempt(lambda: torch.load(ruta, map_location="cpu", weights_only=True))
    if isinstance(leido, Mapping) and isinstance(leido.get("modelo"), Mapping):
        return {nombre: valor for nombre, valor in leido["modelo"].items() if isinstance(valor, torch.Tensor)}
    return leido if isinstance(leido, Raised) else Raised("el fichero «ruta_mejor» no es un punto de control "
                                                          "con la clave «modelo»")


PROBES: dict[str, Probe] = {
    "tamano_salida": _tamano, "convolucion": _convolucion, "agrupar": _agrupar, "lenet": _lenet,
    "entrenar_una_epoca": _epoca, "evaluar": _evaluar, "punto_control": _punto_control, "entregable": _entregable,
}

comprobar = crear_comprobar(LAB, EXERCISES, PROBES)
