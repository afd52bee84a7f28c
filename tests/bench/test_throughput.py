"""Throughput benchmarks (pytest-benchmark). Run: `make bench-pytest`; compare runs with
`make bench-pytest PYTEST_ARGS="--benchmark-compare --benchmark-compare-fail=median:15%"`."""

from __future__ import annotations

from typing import Any

import pytest
import torch
import torch.nn.functional as F

from in_image.bench.workloads import PRECISIONS, matmul_operands
from in_image.measure.models import training_step
from in_image.measure.system import cuda_matmul_precision
from tests.bench.conftest import devices

pytestmark = pytest.mark.slow

DEVICES = devices()


UNIT_SCALE = {"GFLOP/s": 1e9, "GB/s": 1e9, "samples/s": 1.0}


def _record(benchmark: Any, device: torch.device, *, work: float, unit: str) -> None:
    """Throughput in extra_info, computed from pytest-benchmark's median (work: FLOP, bytes or samples per call)."""
    median = benchmark.stats.stats.median
    benchmark.extra_info.update(
        {"device": str(device), "device_name": _device_name(device), "unit": unit, "throughput": work / median / UNIT_SCALE[unit]}
    )


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("precision", ["fp32", "tf32", "bf16"])
@pytest.mark.parametrize("n", [256, 1024])
def test_matmul(sync_benchmark: Any, device: torch.device, precision: str, n: int) -> None:
    if device.type == "cpu" and precision != "fp32":
        pytest.skip("TF32 and bf16 tensor-core precisions are measured on GPUs only")
    spec = PRECISIONS[precision]
    a, b, c = matmul_operands(n, device=device, dtype=spec.dtype)
    if device.type == "cuda":
        with cuda_matmul_precision(spec.cuda_fp32_mode):
            sync_benchmark(torch.mm, a, b, out=c)
    else:
        sync_benchmark(torch.mm, a, b, out=c)
    _record(sync_benchmark, device, work=2.0 * n**3, unit="GFLOP/s")
    sync_benchmark.extra_info["precision"] = precision


@pytest.mark.parametrize("device", DEVICES)
def test_elementwise_add(sync_benchmark: Any, device: torch.device) -> None:
    elements = 1 << 22
    x, y = torch.rand(elements, device=device), torch.rand(elements, device=device)
    z = torch.empty_like(x)
    sync_benchmark(torch.add, x, y, out=z)
    _record(sync_benchmark, device, work=3.0 * elements * 4, unit="GB/s")


@pytest.mark.parametrize("device", DEVICES)
def test_conv2d_forward_backward(sync_benchmark: Any, device: torch.device) -> None:
    batch, channels, hw = 8, 32, 32
    x = torch.randn(batch, channels, hw, hw, device=device, requires_grad=True)
    w = torch.randn(channels, channels, 3, 3, device=device, requires_grad=True)
    grad = torch.randn(batch, channels, hw, hw, device=device)

    def step() -> tuple[torch.Tensor, ...]:
        return torch.autograd.grad(F.conv2d(x, w, padding=1), (x, w), grad)

    sync_benchmark(step)
    _record(sync_benchmark, device, work=3 * 2.0 * batch * channels**2 * hw * hw * 9, unit="GFLOP/s")


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("batch", [64, 1024])
def test_mlp_training_step(sync_benchmark: Any, device: torch.device, batch: int) -> None:
    step, _ = training_step(device=device, batch=batch)
    step()  # the first step imports the optimiser's machinery: not part of the figure
    sync_benchmark(step)
    _record(sync_benchmark, device, work=float(batch), unit="samples/s")


@pytest.mark.parametrize("device", [d for d in DEVICES if d.id != "cpu"])
@pytest.mark.parametrize("direction", ["h2d", "d2h"])
def test_copy_bandwidth(sync_benchmark: Any, device: torch.device, direction: str) -> None:
    nbytes = 64 << 20
    host = torch.empty(nbytes // 4).pin_memory()
    on_device = torch.empty(nbytes // 4, device=device)
    if direction == "h2d":
        sync_benchmark(on_device.copy_, host, non_blocking=True)
    else:
        sync_benchmark(host.copy_, on_device, non_blocking=True)
    _record(sync_benchmark, device, work=float(nbytes), unit="GB/s")
