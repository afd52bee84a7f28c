"""The benchmark's workloads. Each returns Results for one device; nothing here prints.

Every workload is the same computation on the CPU and on a GPU (same shapes), so the speedup
is a ratio of times of identical work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from in_image.measure.models import parameter_count, training_step
from in_image.measure.stats import Summary, rate
from in_image.measure.system import cuda_matmul_precision, fp32_precision
from in_image.measure.timing import TimingPolicy, measure

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sizes:
    """The problem sizes of one run; `quick` keeps tests in seconds, `full` gives the report's figures."""

    matmul_cpu: tuple[int, ...]
    matmul_gpu: tuple[int, ...]
    elementwise: int
    conv_batch: int
    conv_channels: int
    conv_hw: int
    mlp_batches: tuple[int, ...]
    copy_bytes: int
    fidelity_n: int

    @classmethod
    def full(cls) -> Sizes:
        # The CPU matmul sweep stops at 2048: 4096 alone would take ~20 s on a 2-core machine.
        return cls(
            matmul_cpu=(64, 128, 256, 512, 1024, 2048),
            matmul_gpu=(64, 128, 256, 512, 1024, 2048, 4096, 8192),
            elementwise=1 << 24,
            conv_batch=16,
            conv_channels=64,
            conv_hw=56,
            mlp_batches=(64, 4096),
            copy_bytes=256 << 20,
            fidelity_n=1024,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            matmul_cpu=(64, 256),
            matmul_gpu=(64, 256, 1024),
            elementwise=1 << 20,
            conv_batch=2,
            conv_channels=16,
            conv_hw=28,
            mlp_batches=(64,),
            copy_bytes=16 << 20,
            fidelity_n=256,
        )


@dataclass
class Result:
    workload: str
    device: str
    device_name: str
    precision: str
    size: int
    size_label: str
    unit: str
    work_per_call: float  # FLOP, bytes or samples, in the unit's base (GFLOP/s -> FLOP)
    summary: Summary
    throughput: float
    peak: float | None = None
    peak_kind: str | None = None
    fraction_of_peak: float | None = None
    speedup_vs_cpu: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "device": self.device,
            "device_name": self.device_name,
            "precision": self.precision,
            "size": self.size,
            "size_label": self.size_label,
            "unit": self.unit,
            "work_per_call": self.work_per_call,
            "median_s": self.summary.median_s,
            "iqr_s": self.summary.iqr_s,
            "relative_iqr": self.summary.relative_iqr,
            "repeats": self.summary.repeats,
            "calls_per_block": self.summary.calls_per_block,
            "throughput": self.throughput,
            "peak": self.peak,
            "peak_kind": self.peak_kind,
            "fraction_of_peak": self.fraction_of_peak,
            "speedup_vs_cpu": self.speedup_vs_cpu,
            "extra": self.extra,
        }


UNIT_SCALE = {"GFLOP/s": 1e9, "GB/s": 1e9, "samples/s": 1.0}

# Peak lookup: a function (kind) -> peak in the result's unit, or None.
PeakLookup = Callable[[str], float | None]


@dataclass(frozen=True)
class Target:
    """A device to run on, its display name, and how to look up its peaks."""

    device: torch.device
    name: str
    peak: PeakLookup


def _result(
    target: Target,
    *,
    workload: str,
    precision: str,
    size: int,
    size_label: str,
    unit: str,
    work: float,
    summary: Summary,
    peak_kind: str | None,
    flop_per_call: float | None = None,
) -> Result:
    throughput = rate(work, summary.median_s) / UNIT_SCALE[unit]
    peak = target.peak(peak_kind) if peak_kind else None
    # The fraction compares like with like: FLOP/s against a FLOP peak, even when the unit is samples/s.
    achieved = rate(flop_per_call, summary.median_s) / 1e9 if flop_per_call is not None else throughput
    result = Result(
        workload=workload,
        device=str(target.device),
        device_name=target.name,
        precision=precision,
        size=size,
        size_label=size_label,
        unit=unit,
        work_per_call=work,
        summary=summary,
        throughput=throughput,
        peak=peak,
        peak_kind=peak_kind,
        fraction_of_peak=achieved / peak if peak else None,
    )
    log.info(
        "%-16s %-7s %-5s %-12s %10.2f %-9s (±%.0f %%)",
        workload,
        result.device,
        precision,
        size_label,
        throughput,
        unit,
        100 * summary.relative_iqr,
    )
    return result


PRECISIONS_GPU = ("fp32", "tf32", "bf16")


def matmul_operands(n: int, *, device: torch.device, dtype: torch.dtype, seed: int = 0) -> tuple[torch.Tensor, ...]:
    # Generated where they are used: 8192x8192 normals on the CPU would take longer than the GPU's product.
    generator = torch.Generator(device=device).manual_seed(seed)
    a = torch.randn(n, n, generator=generator, device=device).to(dtype)
    b = torch.randn(n, n, generator=generator, device=device).to(dtype)
    return a, b, torch.empty(n, n, device=device, dtype=dtype)


@dataclass(frozen=True)
class Precision:
    """A precision and how to get it: the tensor dtype and cuBLAS's fp32 mode (TF32 is fp32 storage)."""

    name: str
    dtype: torch.dtype
    cuda_fp32_mode: str


PRECISIONS = {
    "fp32": Precision("fp32", torch.float32, "ieee"),
    "tf32": Precision("tf32", torch.float32, "tf32"),
    "bf16": Precision("bf16", torch.bfloat16, "ieee"),
}


def matmul(target: Target, *, sizes: tuple[int, ...], precisions: tuple[str, ...], policy: TimingPolicy) -> Iterator[Result]:
    for name in precisions:
        precision = PRECISIONS[name]
        for n in sizes:
            a, b, c = matmul_operands(n, device=target.device, dtype=precision.dtype)

            def product(a: torch.Tensor = a, b: torch.Tensor = b, c: torch.Tensor = c) -> torch.Tensor:
                return torch.mm(a, b, out=c)

            if target.device.type == "cuda":
                with cuda_matmul_precision(precision.cuda_fp32_mode):
                    summary = measure(product, device=target.device, policy=policy)
            else:
                summary = measure(product, device=target.device, policy=policy)
            yield _result(
                target,
                workload="matmul",
                precision=name,
                size=n,
                size_label=f"{n}x{n}",
                unit="GFLOP/s",
                work=2.0 * n**3,
                summary=summary,
                peak_kind=name,
            )
            del a, b, c


def elementwise(target: Target, *, elements: int, policy: TimingPolicy) -> Result:
    """z = x + y: one FLOP per 12 bytes moved, so memory bandwidth, not arithmetic, sets the speed."""
    x = torch.rand(elements, device=target.device)
    y = torch.rand(elements, device=target.device)
    z = torch.empty_like(x)

    def add() -> torch.Tensor:
        return torch.add(x, y, out=z)

    summary = measure(add, device=target.device, policy=policy)
    return _result(
        target,
        workload="elementwise_add",
        precision="fp32",
        size=elements,
        size_label=f"{elements / 2**20:.0f} M",
        unit="GB/s",
        work=3.0 * elements * x.element_size(),  # read x, read y, write z
        summary=summary,
        peak_kind="memory",
    )


def conv2d(target: Target, *, batch: int, channels: int, hw: int, policy: TimingPolicy) -> Result:
    """A 3x3 convolution forward and backward (gradients of input and weights): 3x the forward FLOPs."""
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(batch, channels, hw, hw, generator=generator).to(target.device).requires_grad_(True)
    w = (torch.randn(channels, channels, 3, 3, generator=generator) * 0.05).to(target.device).requires_grad_(True)
    grad_out = torch.randn(batch, channels, hw, hw, generator=generator).to(target.device)

    def forward_backward() -> tuple[torch.Tensor, ...]:
        out = F.conv2d(x, w, padding=1)
        return torch.autograd.grad(out, (x, w), grad_out)

    summary = measure(forward_backward, device=target.device, policy=policy)
    flop = 3 * 2.0 * batch * channels * hw * hw * channels * 9
    # cuDNN runs fp32 convolutions in TF32 unless told otherwise: label the figure with what really ran.
    on_gpu = target.device.type == "cuda"
    precision = "tf32" if on_gpu and fp32_precision("cudnn", "conv") == "tf32" else "fp32"
    return _result(
        target,
        workload="conv2d_fwd_bwd",
        precision=precision,
        size=batch,
        size_label=f"{batch}x{channels}x{hw}x{hw}",
        unit="GFLOP/s",
        work=flop,
        summary=summary,
        peak_kind=precision,
    )


def mlp_step(target: Target, *, batch: int, policy: TimingPolicy) -> Result:
    step, model = training_step(device=target.device, batch=batch)
    summary = measure(step, device=target.device, policy=policy)
    # Forward 2 FLOP per weight per sample, backward 4: the usual 6 x parameters x batch estimate.
    flop = 6.0 * parameter_count(model) * batch
    result = _result(
        target,
        workload="mlp_train_step",
        precision="fp32",
        size=batch,
        size_label=f"batch {batch}",
        unit="samples/s",
        work=float(batch),
        summary=summary,
        peak_kind="fp32",
        flop_per_call=flop,
    )
    result.extra["gflops"] = rate(flop, summary.median_s) / 1e9
    return result


def copies(target: Target, *, nbytes: int, policy: TimingPolicy) -> Iterator[Result]:
    """Host-to-device and device-to-host over pinned host memory (what a DataLoader with pin_memory uses)."""
    elements = nbytes // 4
    host = torch.empty(elements, dtype=torch.float32).pin_memory()
    device_buffer = torch.empty(elements, dtype=torch.float32, device=target.device)
    directions: dict[str, Callable[[], torch.Tensor]] = {
        "copy_h2d": lambda: device_buffer.copy_(host, non_blocking=True),
        "copy_d2h": lambda: host.copy_(device_buffer, non_blocking=True),
    }
    for workload, fn in directions.items():
        summary = measure(fn, device=target.device, policy=policy)
        yield _result(
            target,
            workload=workload,
            precision="fp32",
            size=nbytes,
            size_label=f"{nbytes >> 20} MiB",
            unit="GB/s",
            work=float(nbytes),
            summary=summary,
            peak_kind="host_link",
        )
