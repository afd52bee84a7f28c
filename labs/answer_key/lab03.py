"""Lab 03's expected outputs: LeNet's FLOPs, MFU, arithmetic intensities, the roofline's ceiling, a bf16 SGD step,
fp16's round trip, a training's memory, the augmented images, the loss and accuracy of a compiled function, the
operator with the most self time of a trace, a time budget's steps, and the deliverable's test accuracy — each done
right and, where a criterion names a known mistake, done with it.

Judge side only (see answer_key): practica.lab03_checks compares the student's answers with these.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from answer_key.lab02 import deliverable
from answer_key.reference import accuracy, cross_entropy, mlp_forward, train_epochs
from in_image.exercises.framework import Case
from in_image.exercises.layers import Array, layers_from

BYTES_PER_PARAMETER_ADAM = 16  # fp32 weight, gradient and Adam's two moments
BYTES_PER_ACTIVATION = 4  # fp32


# ---- flops ---------------------------------------------------------------------------------------
def lenet_macs(width: int) -> dict[str, int]:
    """Multiply-accumulates per image of LeNet-5 with every layer `width` times wider (conv1: 6·width filters)."""
    w = width
    return {"conv1": 6 * w * 28 * 28 * (1 * 5 * 5), "conv2": 16 * w * 10 * 10 * (6 * w * 5 * 5),
            "fc1": 16 * w * 5 * 5 * 120 * w, "fc2": 120 * w * 84 * w, "fc3": 84 * w * 10}


def lenet_flops(batch: int, width: int) -> tuple[int, int]:
    """(forward FLOPs, training step FLOPs) of a batch: 2 FLOPs per multiply-accumulate, backward = 2 x forward."""
    forward = 2 * sum(lenet_macs(width).values()) * batch
    return forward, 3 * forward


def _flops(case: Case, answer: Any) -> dict[str, Any]:
    batch, width = int(case.inputs["lote"]), int(case.inputs["ancho"])
    macs = lenet_macs(width)
    forward, step = lenet_flops(batch, width)
    mistakes = {"mac": sum(macs.values()) * batch, "una_imagen": 2 * sum(macs.values()) if batch != 1 else None,
                "sin_convoluciones": 2 * (macs["fc1"] + macs["fc2"] + macs["fc3"]) * batch,
                "sin_lineales": 2 * (macs["conv1"] + macs["conv2"]) * batch, "doble": 2 * forward, "cuadruple": 4 * forward}
    return {"adelante": forward, "paso": step, "errores": mistakes}


# ---- mfu -----------------------------------------------------------------------------------------
def _mfu(case: Case, answer: Any) -> dict[str, Any]:
    flops, seconds, peak = (float(case.inputs[k]) for k in ("flops", "segundos", "pico_tflops"))
    wanted = flops / seconds / (peak * 1e12)
    return {"valor": wanted, "errores": {"porcentaje": wanted * 100, "pico_en_tflops": flops / seconds / peak,
                                         "al_reves": seconds * peak * 1e12 / flops, "sin_segundos": flops / (peak * 1e12)}}


# ---- intensidad ----------------------------------------------------------------------------------
def add_intensity(n: int, size: int) -> float:
    """c = a + b over n elements: n FLOPs for 3 n values moved (read a and b, write c)."""
    return n / (3 * n * size)


def matmul_intensity(m: int, k: int, n: int, size: int) -> float:
    """(m x k) @ (k x n): 2 m k n FLOPs for (m k + k n + m n) values moved once."""
    return 2 * m * k * n / ((m * k + k * n + m * n) * size)


def _intensity(case: Case, answer: Any) -> dict[str, Any]:
    n, size = int(case.inputs["n"]), int(case.inputs["bytes"])
    m, k, cols = (int(v) for v in case.inputs["mkn"])
    matmul = matmul_intensity(m, k, cols, size)
    return {"suma": add_intensity(n, size), "matmul": matmul,
            "errores_suma": {"sin_escribir": n / (2 * n * size), "en_valores": 1 / 3},
            "errores_matmul": {"mac": matmul / 2, "sin_escribir": 2 * m * k * cols / ((m * k + k * cols) * size)}}


# ---- roofline ------------------------------------------------------------------------------------
def roofline(intensity: float, peak_tflops: float, bandwidth_gbs: float) -> tuple[float, str]:
    """(attainable TFLOP/s, "memoria" or "calculo") at that arithmetic intensity (FLOP/byte)."""
    memory_tflops = intensity * bandwidth_gbs * 1e9 / 1e12
    return min(peak_tflops, memory_tflops), "memoria" if memory_tflops < peak_tflops else "calculo"


def _roofline(case: Case, answer: Any) -> dict[str, Any]:
    intensity, peak, bandwidth = (float(case.inputs[k]) for k in ("intensidad", "pico_tflops", "ancho_banda_gbs"))
    ceiling, bound = roofline(intensity, peak, bandwidth)
    return {"rendimiento": ceiling, "limite": bound, "equilibrio": peak * 1e3 / bandwidth,
            "errores": {"gflops": intensity * bandwidth, "maximo": max(peak, intensity * bandwidth / 1e3)}}


# ---- paso_bf16 -----------------------------------------------------------------------------------
def _bf16_step(case: Case, answer: Any) -> dict[str, Any]:
    """The fp64 loss and the weights after one SGD step (the reference a bf16 step must stay close to)."""
    inputs = case.inputs
    layers = layers_from(inputs["capas"]) or []
    x = np.asarray(inputs["x"], dtype=np.float64)
    run = train_epochs(x, inputs["y"], layers, lr=float(inputs["lr"]), batch=len(x), epochs=1)
    return {"perdida": cross_entropy(mlp_forward(x, layers, relu=(True,) * len(layers)), inputs["y"]),
            "capas": [[weight, bias] for weight, bias in run.layers]}


# ---- fp16 ----------------------------------------------------------------------------------------
def fp16_round_trip(gradients: Array, scale: float) -> tuple[Array, bool]:
    """(g · scale) to float16 and back, unscaled in float32; whether any value overflowed (inf/nan)."""
    scaled = (np.asarray(gradients, dtype=np.float32) * np.float32(scale)).astype(np.float32)
    with np.errstate(over="ignore"):
        half = scaled.astype(np.float16)
    back = (half.astype(np.float32) / np.float32(scale)).astype(np.float32)
    return back, not bool(np.all(np.isfinite(half)))


def _fp16(case: Case, answer: Any) -> dict[str, Any]:
    gradients, scale = np.asarray(case.inputs["gradientes"]), float(case.inputs["escala"])
    wanted, overflow = fp16_round_trip(gradients, scale)
    unscaled, _ = fp16_round_trip(gradients, 1.0)
    return {"valores": wanted, "desborda": overflow,
            "errores": {"sin_deshacer": (wanted * np.float32(scale)).astype(np.float32), "sin_escalar": unscaled}}


# ---- memoria -------------------------------------------------------------------------------------
def _memory(case: Case, answer: Any) -> dict[str, Any]:
    params, acts, batch = (int(case.inputs[k]) for k in ("parametros", "activaciones", "lote"))
    return {"parametros": BYTES_PER_PARAMETER_ADAM * params, "bytes_por_parametro": BYTES_PER_PARAMETER_ADAM,
            "activaciones": BYTES_PER_ACTIVATION * acts * batch,
            "errores": {"sin_lote": BYTES_PER_ACTIVATION * acts, "en_valores": acts * batch}}


# ---- aumento -------------------------------------------------------------------------------------
def shifted_image(image: Array, dy: int, dx: int) -> Array:
    """The image moved dy pixels down and dx right (negative: up, left); what enters is zeros."""
    out = np.zeros_like(image)
    h, w = image.shape[-2:]
    src = image[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)]
    out[..., max(0, dy):max(0, dy) + src.shape[-2], max(0, dx):max(0, dx) + src.shape[-1]] = src
    return out


def image_shift(seed: int, epoch: int, index: int, limit: int) -> tuple[int, int]:
    """The statement's rule: np.random.default_rng((semilla, epoca, indice)).integers(-d, d + 1, size=2)."""
    dy, dx = np.random.default_rng((seed, epoch, index)).integers(-limit, limit + 1, size=2)
    return int(dy), int(dx)


def augmented(images: Array, *, seed: int, epoch: int, limit: int, rolled: bool = False) -> Array:
    out = []
    for index, image in enumerate(images):
        dy, dx = image_shift(seed, epoch, index, limit)
        out.append(np.roll(image, (dy, dx), axis=(-2, -1)) if rolled else shifted_image(image, dy, dx))
    return np.stack(out)


def _augmentation(case: Case, answer: Any) -> dict[str, Any]:
    images = np.asarray(case.inputs["imagenes"], dtype=np.float64)
    limit, seed = int(case.inputs["desplazamiento"]), int(case.inputs["semilla"])
    return {"epoca0": augmented(images, seed=seed, epoch=0, limit=limit),
            "epoca1": augmented(images, seed=seed, epoch=1, limit=limit),
            "enrolladas": augmented(images, seed=seed, epoch=0, limit=limit, rolled=True)}


# ---- sin_cortes ----------------------------------------------------------------------------------
def _loss_and_accuracy(case: Case, answer: Any) -> dict[str, Any]:
    layers = layers_from(case.inputs["capas"]) or []
    logits = mlp_forward(np.asarray(case.inputs["x"], dtype=np.float64), layers, relu=(True,) * len(layers))
    return {"perdida": cross_entropy(logits, case.inputs["y"]), "exactitud": accuracy(logits, case.inputs["y"])}


# ---- perfilador ----------------------------------------------------------------------------------
def self_times(events: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Self time (µs) of each operator of a Chrome trace's complete events: its duration minus its children's."""
    by_thread: dict[Any, list[tuple[float, float, str]]] = defaultdict(list)
    for event in events:
        by_thread[(event.get("pid"), event.get("tid"))].append((float(event["ts"]), float(event["dur"]), str(event["name"])))
    totals: dict[str, float] = defaultdict(float)
    for spans in by_thread.values():
        spans.sort(key=lambda s: (s[0], -s[1]))
        stack: list[list[Any]] = []  # [end, name, self]
        for start, duration, name in spans:
            while stack and start >= stack[-1][0] - 1e-9:
                _, done, own = stack.pop()
                totals[done] += own
            if stack:
                stack[-1][2] -= duration
            stack.append([start + duration, name, duration])
        for _, done, own in stack:
            totals[done] += own
    return dict(totals)


def total_times(events: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = defaultdict(float)
    for event in events:
        totals[str(event["name"])] += float(event["dur"])
    return dict(totals)


def top_operators(events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """The operator with the most self time ("operador") and the one with the most total time ("mayor_total")."""
    own, total = self_times(events), total_times(events)
    return {"operador": max(own, key=lambda name: own[name]), "mayor_total": max(total, key=lambda name: total[name])}


def _profiled_top_operators(inputs: Mapping[str, Any]) -> dict[str, str]:
    """The operators with the most self and total CPU time in three steps of the case's workload, profiled here."""
    from torch.profiler import ProfilerActivity, profile  # noqa: PLC0415

    from practica.lab03 import paso_perfilado  # noqa: PLC0415 (torch: only the kernel's data profiles)

    step = paso_perfilado(inputs)
    step()  # warm-up: the first call's one-off costs are not the operator's
    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        for _ in range(3):
            step()
    averages = list(profiled.key_averages())
    return {"operador": max(averages, key=lambda e: e.self_cpu_time_total).key,
            "mayor_total": max(averages, key=lambda e: e.cpu_time_total).key}


MATMUL_KERNELS = ("aten::mm", "aten::addmm", "aten::matmul", "aten::bmm")
CONVOLUTION_KERNELS = ("aten::mkldnn_convolution", "aten::_convolution", "aten::convolution", "aten::conv2d",
                       "aten::thnn_conv2d", "aten::_slow_conv2d_forward", "aten::_nnpack_spatial_convolution",
                       "aten::cudnn_convolution", "aten::convolution_overrideable", "aten::miopen_convolution")
# Per workload of «perfilador»: the operators a trace of its three steps must hold (each at least three times), the
# names the operator with the most self time may have (the matrix product's and the convolution's kernels, by
# backend), and operators only the other workload runs (a trace that holds them is not the trace of this step).
WORKLOAD_OPERATORS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "matmul": (("aten::matmul", "aten::mm", "aten::relu_", "aten::sum"), MATMUL_KERNELS,
               ("aten::conv2d", "aten::convolution", "aten::mean", "aten::relu")),
    "conv": (("aten::conv2d", "aten::relu", "aten::mean"), CONVOLUTION_KERNELS, ("aten::matmul", "aten::mm", "aten::relu_")),
}


def _profiler(case: Case, answer: Any) -> dict[str, Any]:
    """The workload's operators; the top ones from the student's trace in the judge, and for the kernel's data (no
    answer) from a trace of the case's workload."""
    required, accepted, foreign = WORKLOAD_OPERATORS[str(case.inputs["operacion"])]
    known = {"requeridos": list(required), "aceptables": list(accepted), "ajenos": list(foreign)}
    if answer is None:
        return {**_profiled_top_operators(case.inputs), **known}
    events = answer.get("eventos") if isinstance(answer, Mapping) else None
    return {**top_operators(events), **known} if isinstance(events, list) and events else known


# ---- presupuesto ---------------------------------------------------------------------------------
def budget_steps(budget: float, cost: float) -> int:
    """Steps a loop that stops once `budget` seconds have passed takes when each step costs `cost` seconds."""
    return math.ceil(budget / cost - 1e-9)


def _budget(case: Case, answer: Any) -> dict[str, Any]:
    rows, batch = int(case.inputs["filas"]), int(case.inputs["lote"])
    steps = budget_steps(float(case.inputs["presupuesto_s"]), float(case.inputs["coste_s"]))
    cycle = [min(start + batch, rows) - start for start in range(0, rows, batch)]  # an in-order loader's epoch
    sizes = [cycle[i % len(cycle)] for i in range(steps)]
    per_epoch = len(cycle)
    return {"pasos": steps, "lotes": sizes, "ejemplos": sum(sizes), "ciclo": cycle,
            "errores": {"fin_de_epoca": math.ceil(steps / per_epoch) * per_epoch, "paso_de_mas": steps + 1,
                        "lotes_enteros": steps * batch}}


EXPECTATIONS: dict[str, Callable[[Case, Any], dict[str, Any]]] = {
    "flops": _flops, "mfu": _mfu, "intensidad": _intensity, "roofline": _roofline, "paso_bf16": _bf16_step,
    "fp16": _fp16, "memoria": _memory, "aumento": _augmentation, "sin_cortes": _loss_and_accuracy,
    "perfilador": _profiler, "presupuesto": _budget, "entregable": deliverable,
}


def expect(exercise: str, case: Case, answer: Any) -> dict[str, Any]:
    """The expected outputs of one case; answer None: those that need no answer (the kernel's data)."""
    found = EXPECTATIONS.get(exercise)
    return found(case, answer) if found else {}
