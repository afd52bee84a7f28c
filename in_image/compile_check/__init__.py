"""torch.compile on a device: the lab 01 MLP and a small CNN compiled, trained a few steps and compared with eager.

Run as `python -m in_image.compile_check --device cuda --reports DIR` (in the image, or in a GPU
machine's Python by `harness gpu-check`). On a GPU, Inductor generates Triton kernels, which need
a C compiler at run time; on the CPU it generates C++ and needs a C++ compiler.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from in_image.measure.models import INPUTS, lab01_mlp
from in_image.measure.system import cuda_matmul_precision

log = logging.getLogger(__name__)

SCHEMA = "dl-lab.compile/1"
STEPS = 5
# Compiled kernels fuse and reorder floating-point operations: the same step gives slightly different
# sums. fp32 (IEEE) on either side, so the losses agree far closer than this.
LOSS_TOLERANCE = 1e-4


@dataclass(frozen=True)
class CompileResult:
    model: str
    device: str
    passed: bool
    message: str
    compile_s: float  # first compiled step: tracing, code generation, compilation
    eager_step_ms: float
    compiled_step_ms: float
    eager_losses: list[float]
    compiled_losses: list[float]
    max_relative_difference: float


def small_cnn() -> nn.Sequential:
    """Two 3x3 convolutions, ReLU, pooling and a linear head on 8x8 one-channel images (the digits' shape)."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(16 * 16, 10),
    )


MODELS: dict[str, tuple[Callable[[], nn.Module], tuple[int, ...]]] = {
    "lab01_mlp": (lab01_mlp, (256, INPUTS)),
    "small_cnn": (small_cnn, (256, 1, 8, 8)),
}


def _trainer(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, compiled: bool) -> Callable[[], float]:
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    forward: Callable[[torch.Tensor], torch.Tensor] = torch.compile(model) if compiled else model
    loss_fn = nn.CrossEntropyLoss()

    def step() -> float:
        optimiser.zero_grad(set_to_none=True)
        loss = loss_fn(forward(inputs), targets)
        loss.backward()
        optimiser.step()
        return float(loss.item())

    return step


def _run(name: str, device: torch.device, *, compiled: bool) -> tuple[list[float], float, float]:
    """Losses of STEPS steps from the same seeded start; seconds of the first step and of each later one."""
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build().to(device)
    generator = torch.Generator().manual_seed(1)
    inputs = torch.rand(shape, generator=generator).to(device)
    targets = torch.randint(0, 10, (shape[0],), generator=generator).to(device)
    step = _trainer(model, inputs, targets, compiled=compiled)
    started = time.perf_counter()
    losses = [step()]
    first = time.perf_counter() - started
    started = time.perf_counter()
    losses += [step() for _ in range(STEPS - 1)]
    return losses, first, (time.perf_counter() - started) / (STEPS - 1)


def check_model(name: str, device: torch.device) -> CompileResult:
    with cuda_matmul_precision("ieee"):
        eager, _, eager_step = _run(name, device, compiled=False)
        try:
            compiled, compile_s, compiled_step = _run(name, device, compiled=True)
        except Exception as error:  # Inductor's errors (no compiler, Triton missing) say what is missing
            text = str(error).strip().splitlines()
            message = f"torch.compile failed on {device}: {type(error).__name__}: {text[0] if text else ''}"
            log.debug("%s", traceback.format_exc())
            return CompileResult(name, str(device), False, message, 0.0, eager_step * 1e3, 0.0, eager, [], math.inf)
    differences = [abs(c - e) / max(1.0, abs(e)) for c, e in zip(compiled, eager, strict=True)]
    worst = max(differences)
    passed = all(math.isfinite(x) for x in compiled) and worst <= LOSS_TOLERANCE
    message = (f"{STEPS} training steps: compiled losses match eager within {worst:.1e} (<= {LOSS_TOLERANCE:g}); "
               f"compile {compile_s:.1f} s, step {compiled_step * 1e3:.2f} ms compiled vs {eager_step * 1e3:.2f} ms eager"
               if passed else f"compiled losses {compiled} differ from eager {eager} by up to {worst:.1e} (> {LOSS_TOLERANCE:g})")
    return CompileResult(name, str(device), passed, message, compile_s, eager_step * 1e3, compiled_step * 1e3, eager,
                         compiled, worst)


def run(device: torch.device) -> dict[str, Any]:
    results = []
    for name in MODELS:
        result = check_model(name, device)
        log.info("%-7s %-10s %s", "PASSED" if result.passed else "FAILED", name, result.message)
        results.append(result)
    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "torch": torch.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "passed": all(r.passed for r in results),
        "results": [asdict(r) for r in results],
    }
