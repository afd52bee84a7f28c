"""Medir un paso en la CPU y en la GPU, bien medido: las secciones «La GPU» de cada laboratorio.

Medir tiene trampas: la primera llamada incluye la inicialización (calentamiento); las operaciones de
la GPU son asíncronas (hay que esperar a que terminen antes de parar el reloj); una llamada de unos
microsegundos es más corta que la resolución del reloj y que el ruido de una máquina compartida; y una
sola medida es ruido. `medir` lo hace todo: calienta, repite el paso en **bloques** de al menos
`BLOQUE_MINIMO_S` (50 ms), cronometra cada bloque (con eventos CUDA en la GPU) y da la **mediana** por
paso y el **rango intercuartílico** (IQR, lo que separa el cuartil 1 del 3: cuánto varía la medida).

Toda cifra va con su contexto: el dispositivo, los hilos de la CPU que usa PyTorch
(`torch.get_num_threads()`) y la precisión (fp32, TF32, bf16). `comparar` mide el mismo paso en los
dos dispositivos y dice frente a qué se mide la aceleración. Sin GPU lo dice claramente, mide solo la
CPU y, si el curso publicó cifras medidas en una GPU (`MEDIDAS_PUBLICADAS`, con la GPU y la fecha), las
muestra como lo que son: nunca inventa una cifra.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from in_image.exercises.framework import spanish_number
from in_image.published_figures import PUBLISHED_FILE_NAME, RECORD_FOLDER_ENV

__all__ = [
    "BLOQUE_MINIMO_S",
    "MEDIDAS_PUBLICADAS",
    "Medida",
    "MedidasPublicadas",
    "Tiempo",
    "calibrar",
    "comparar",
    "cronometrar",
    "cuartiles",
    "describir_entorno",
    "etiqueta_precision",
    "hay_gpu",
    "medir",
    "numero",
    "porcentaje",
    "publicadas_desde",
    "registrar",
    "repeticiones_por_bloque",
    "tabla",
    "tabla_publicada",
]

BLOQUE_MINIMO_S = 0.05
SIN_GPU = "No hay GPU en esta máquina (torch.cuda.is_available() es False): solo se mide la CPU."


def hay_gpu() -> bool:
    return torch.cuda.is_available()


def numero(valor: float, decimales: int = 3) -> str:
    """Un número con coma decimal, como se escribe en español: 1,234."""
    return spanish_number(valor, f".{decimales}f")


def porcentaje(fraccion: float, decimales: int = 1) -> str:
    """Una fracción como porcentaje, como se escribe en español: 0.932 → «93,2 %»."""
    return f"{numero(100 * fraccion, decimales)} %"


# ---- el contexto de cada cifra -------------------------------------------------------------------
def etiqueta_precision(dispositivo: torch.device | str, *, dtype: torch.dtype = torch.float32) -> str:
    """La precisión de los cálculos: «fp32», «TF32», «bf16» (o «fp16», «fp64»). En la GPU, las multiplicaciones de
    matrices de fp32 van en TF32 solo si se activa; las convoluciones (cuDNN), en TF32 salvo que se desactive: si
    difieren, la etiqueta lo dice, p. ej. «fp32 (convoluciones en TF32)», lo que PyTorch hace por defecto."""
    if dtype in _TIPOS_REDUCIDOS:
        return _TIPOS_REDUCIDOS[dtype]
    if torch.device(dispositivo).type != "cuda":
        return "fp32"
    matmul = "TF32" if torch.backends.cuda.matmul.allow_tf32 or torch.get_float32_matmul_precision() != "highest" \
        else "fp32"  # TF32: los núcleos tensoriales, con 10 bits de mantisa
    convoluciones = "TF32" if torch.backends.cudnn.allow_tf32 else "fp32"
    return matmul if convoluciones == matmul else f"{matmul} (convoluciones en {convoluciones})"


_TIPOS_REDUCIDOS = {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float64: "fp64"}


def nombre_dispositivo(dispositivo: torch.device | str) -> str:
    """«CPU (modelo, N hilos de PyTorch)» o «GPU nombre»."""
    dispositivo = torch.device(dispositivo)
    if dispositivo.type == "cuda":
        return f"GPU {torch.cuda.get_device_name(dispositivo)}"
    modelo = platform.processor() or platform.machine() or "CPU"
    return f"CPU {modelo} con {hilos()}"


def hilos() -> str:
    """«1 hilo de PyTorch», «2 hilos de PyTorch»: los hilos que usa PyTorch en la CPU (torch.get_num_threads())."""
    n = torch.get_num_threads()
    return f"{n} hilo{'' if n == 1 else 's'} de PyTorch"


def describir_entorno(*, dtype: torch.dtype = torch.float32) -> str:
    """Una línea con los dispositivos, los hilos de la CPU y la precisión de las medidas que siguen."""
    partes = [f"{nombre_dispositivo('cpu')} (precisión {etiqueta_precision('cpu', dtype=dtype)})"]
    if hay_gpu():
        partes.append(f"{nombre_dispositivo('cuda')} (precisión {etiqueta_precision('cuda', dtype=dtype)})")
    else:
        partes.append("sin GPU")
    return "Medido en: " + "; ".join(partes)


# ---- medir ---------------------------------------------------------------------------------------
def repeticiones_por_bloque(segundos_por_paso: float, *, bloque_minimo_s: float = BLOQUE_MINIMO_S) -> int:
    """Cuántas veces repetir el paso para que un bloque dure al menos bloque_minimo_s (al menos una)."""
    if not segundos_por_paso > 0 or math.isinf(segundos_por_paso):
        return 1
    return max(1, math.ceil(bloque_minimo_s / segundos_por_paso))


def cuartiles(valores: Sequence[float]) -> tuple[float, float, float]:
    """(cuartil 1, mediana, cuartil 3) de los valores (interpolación lineal entre los valores ordenados)."""
    if not valores:
        raise ValueError("cuartiles() necesita al menos un valor")
    if len(valores) == 1:
        return valores[0], valores[0], valores[0]
    q1, mediana, q3 = statistics.quantiles(valores, n=4, method="inclusive")
    return q1, mediana, q3


@dataclass(frozen=True)
class Tiempo:
    """Lo que tarda un paso: la mediana de los bloques y su dispersión, con el contexto de la medida."""

    mediana_s: float
    q1_s: float
    q3_s: float
    bloques: int
    repeticiones: int  # pasos por bloque
    dispositivo: str
    precision: str

    @property
    def iqr_s(self) -> float:
        return self.q3_s - self.q1_s

    def __str__(self) -> str:
        return (f"{numero(self.mediana_s * 1e3)} ms por paso (IQR {numero(self.iqr_s * 1e3)} ms; mediana de "
                f"{self.bloques} bloques de {self.repeticiones} pasos; {self.dispositivo}, {self.precision})")


def _sincronizar(dispositivo: torch.device) -> None:
    if dispositivo.type == "cuda":
        torch.cuda.synchronize(dispositivo)


def _bloque(paso: Callable[[], object], dispositivo: torch.device, repeticiones: int) -> float:
    """Los segundos por paso de un bloque de `repeticiones` pasos (eventos CUDA en la GPU, perf_counter en la CPU)."""
    if dispositivo.type == "cuda":
        inicio = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        fin = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
        inicio.record()
        for _ in range(repeticiones):
            paso()
        fin.record()
        fin.synchronize()  # la GPU trabaja en segundo plano: esperar a que termine el bloque
        return float(inicio.elapsed_time(fin)) / 1e3 / repeticiones
    comienzo = time.perf_counter()
    for _ in range(repeticiones):
        paso()
    return (time.perf_counter() - comienzo) / repeticiones


def calibrar(paso: Callable[[], object], dispositivo: torch.device, *, bloque_minimo_s: float = BLOQUE_MINIMO_S) -> int:
    """Los pasos por bloque: se prueba con bloques cada vez mayores hasta que uno dura al menos bloque_minimo_s."""
    repeticiones = 1
    while True:
        por_paso = _bloque(paso, dispositivo, repeticiones)
        if por_paso * repeticiones >= bloque_minimo_s:
            return repeticiones
        repeticiones = max(2 * repeticiones, repeticiones_por_bloque(por_paso, bloque_minimo_s=bloque_minimo_s))


def medir(paso: Callable[[], object], dispositivo: torch.device | str, *, bloques: int = 7, calentamiento: int = 3,
          bloque_minimo_s: float = BLOQUE_MINIMO_S, dtype: torch.dtype = torch.float32) -> Tiempo:
    """Mide paso(): calienta, calibra bloques de al menos bloque_minimo_s, mide `bloques` bloques; mediana e IQR."""
    dispositivo = torch.device(dispositivo)
    for _ in range(calentamiento):
        paso()
    _sincronizar(dispositivo)
    repeticiones = calibrar(paso, dispositivo, bloque_minimo_s=bloque_minimo_s)
    tiempos = [_bloque(paso, dispositivo, repeticiones) for _ in range(max(1, bloques))]
    q1, mediana, q3 = cuartiles(tiempos)
    return Tiempo(mediana, q1, q3, len(tiempos), repeticiones, nombre_dispositivo(dispositivo),
                  etiqueta_precision(dispositivo, dtype=dtype))


def cronometrar(paso: Callable[[], object], dispositivo: torch.device | str, *, repeticiones: int = 10,
                calentamiento: int = 3) -> float:
    """La mediana, en segundos por paso, de `repeticiones` bloques de al menos 50 ms (ver `medir`)."""
    return medir(paso, dispositivo, bloques=repeticiones, calentamiento=calentamiento).mediana_s


# ---- comparar la CPU con la GPU ------------------------------------------------------------------
@dataclass(frozen=True)
class Medida:
    etiqueta: str
    cpu_s: float
    gpu_s: float | None  # None: no hay GPU
    cpu: Tiempo | None = None
    gpu: Tiempo | None = None

    @property
    def aceleracion(self) -> float | None:
        return None if self.gpu_s is None else self.cpu_s / self.gpu_s

    def __str__(self) -> str:
        dispersion = f" ±{numero(self.cpu.iqr_s * 1e3 / 2)}" if self.cpu else ""
        cpu = f"CPU {numero(self.cpu_s * 1e3):>9} ms{dispersion}"
        if self.gpu_s is None:
            return f"{self.etiqueta:<28} {cpu}   GPU: no hay"
        dispersion = f" ±{numero(self.gpu.iqr_s * 1e3 / 2)}" if self.gpu else ""
        return (f"{self.etiqueta:<28} {cpu}   GPU {numero(self.gpu_s * 1e3):>9} ms{dispersion}   "
                f"×{numero(self.aceleracion or 0.0, 1)}")


def comparar(preparar: Callable[[torch.device], Callable[[], object]], *, etiqueta: str, repeticiones: int = 10) -> Medida:
    """Mide el paso que `preparar(dispositivo)` devuelve (los datos ya en ese dispositivo) en la CPU y, si hay, en la GPU."""
    cpu = medir(preparar(torch.device("cpu")), "cpu", bloques=repeticiones)
    gpu = medir(preparar(torch.device("cuda")), "cuda", bloques=repeticiones) if hay_gpu() else None
    return Medida(etiqueta, cpu.mediana_s, gpu.mediana_s if gpu else None, cpu, gpu)


def referencia(medidas: Sequence[Medida]) -> str:
    """Frente a qué se mide la aceleración de la tabla."""
    cpu = next((m.cpu for m in medidas if m.cpu), None)
    gpu = next((m.gpu for m in medidas if m.gpu), None)
    cpu_texto = f"{cpu.dispositivo} ({cpu.precision})" if cpu else f"{nombre_dispositivo('cpu')} (fp32)"
    if gpu is None:
        return f"Tiempos por paso: mediana ±IQR/2 en {cpu_texto}."
    return (f"Tiempos por paso: mediana ±IQR/2. Aceleración = tiempo en la {cpu_texto} / tiempo en la "
            f"{gpu.dispositivo} ({gpu.precision}).")


# ---- cifras de GPU publicadas --------------------------------------------------------------------
@dataclass(frozen=True)
class MedidasPublicadas:
    """Una tabla medida en una GPU de verdad (`make gpu-check`), con la GPU y la fecha: la que se muestra sin GPU."""

    gpu: str
    fecha: str
    cpu: str
    filas: tuple[tuple[str, float, float], ...]  # (etiqueta, ms en la CPU, ms en la GPU)


def publicadas_desde(datos: Mapping[str, Any]) -> dict[str, MedidasPublicadas]:
    """Las tablas publicadas de un JSON {laboratorio: {gpu, fecha, cpu, filas: [[etiqueta, ms CPU, ms GPU], ...]}}."""
    publicadas = {}
    for laboratorio, tabla_medida in datos.items():
        filas = tuple((str(etiqueta), float(cpu_ms), float(gpu_ms)) for etiqueta, cpu_ms, gpu_ms in tabla_medida["filas"])
        publicadas[str(laboratorio)] = MedidasPublicadas(str(tabla_medida["gpu"]), str(tabla_medida["fecha"]),
                                                         str(tabla_medida["cpu"]), filas)
    return publicadas


def _cargar_publicadas(ruta: Path) -> dict[str, MedidasPublicadas]:
    if not ruta.is_file():
        return {}
    return publicadas_desde(json.loads(ruta.read_text(encoding="utf-8")))


# Por laboratorio ("00", "01", ...): las tablas que `make gpu-check` midió en una GPU y el curso publicó (el
# archivo medidas_gpu.json junto a este módulo). Vacío mientras no haya ninguna: nunca se escribe una cifra a mano.
MEDIDAS_PUBLICADAS: dict[str, MedidasPublicadas] = _cargar_publicadas(Path(__file__).with_name(PUBLISHED_FILE_NAME))


def registrar(medidas: Sequence[Medida], *, laboratorio: str, carpeta: Path) -> Path | None:
    """Guarda la tabla medida en la GPU como carpeta/labNN.json (lo que `make gpu-check` publica); sin GPU, nada."""
    filas = [[m.etiqueta, m.cpu_s * 1e3, m.gpu_s * 1e3] for m in medidas if m.gpu_s is not None]
    gpu = next((m.gpu.dispositivo for m in medidas if m.gpu), None)
    cpu = next((m.cpu.dispositivo for m in medidas if m.cpu), nombre_dispositivo("cpu"))
    if not filas or gpu is None:
        return None
    carpeta.mkdir(parents=True, exist_ok=True)
    ruta = carpeta / f"lab{laboratorio}.json"
    ruta.write_text(json.dumps({laboratorio: {"gpu": gpu.removeprefix("GPU "), "fecha": datetime.date.today().isoformat(),
                                              "cpu": cpu, "filas": filas}}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return ruta


def tabla_publicada(laboratorio: str | None) -> str:
    """La tabla de GPU publicada para el laboratorio, o una línea que dice que no la hay."""
    publicada = MEDIDAS_PUBLICADAS.get(laboratorio or "")
    if publicada is None:
        return ("El curso todavía no ha publicado cifras medidas en una GPU para esta tabla (docs/measurements.md): "
                "aquí no se inventa ninguna.")
    lineas = [f"Cifras publicadas por el curso, medidas en una {publicada.gpu} el {publicada.fecha} "
              f"(CPU: {publicada.cpu}); no son de esta máquina:"]
    for etiqueta, cpu_ms, gpu_ms in publicada.filas:
        lineas.append(f"  {etiqueta:<28} CPU {numero(cpu_ms):>9} ms   GPU {numero(gpu_ms):>9} ms   "
                      f"×{numero(cpu_ms / gpu_ms, 1)}")
    return "\n".join(lineas)


def tabla(medidas: Sequence[Medida], *, laboratorio: str | None = None) -> None:
    """Imprime el contexto, las medidas y frente a qué se comparan; sin GPU, por qué solo hay CPU."""
    print(describir_entorno())
    if not hay_gpu():
        print(SIN_GPU)
    print(referencia(medidas))
    for medida in medidas:
        print(medida)
    if not hay_gpu():
        print(tabla_publicada(laboratorio))
    elif laboratorio and os.environ.get(RECORD_FOLDER_ENV):
        registrar(medidas, laboratorio=laboratorio, carpeta=Path(os.environ[RECORD_FOLDER_ENV]))
