"""The smoke checks, in the order they run. Each returns a message and details, or raises Skip or CheckFailed.

Per-GPU checks run once per visible device; with no GPU they appear once, skipped with the reason,
so the JUnit report always lists every check.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from in_image.measure.models import LAB_BATCH, training_step
from in_image.measure.system import GpuDevice, cuda_matmul_precision, nvidia_device_files, nvidia_smi
from in_image.measure.timing import TimingPolicy, measure
from in_image.smoke.numerics import MATMUL_TOLERANCE, arch_supported, relative_error
from in_image.smoke.options import (
    DEFAULT_GEMM_SECONDS,
    DEFAULT_LEVEL,
    DEFAULT_MEMORY_FRACTION,
    DEFAULT_MEMTEST_FRACTION,
    DEFAULT_MIN_COPY_GBPS,
    DEFAULT_MIN_HBM_FRACTION,
    DEFAULT_MIN_PCIE_FRACTION,
)
from in_image.smoke.probe import HealthProbe


class Skip(Exception):
    """The check does not apply here (no GPU, one GPU for NCCL); the message says why."""


class CheckFailed(Exception):
    """The check ran and found a problem."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


@dataclass(frozen=True)
class Options:
    memory_fraction: float = DEFAULT_MEMORY_FRACTION
    min_copy_gbps: float = DEFAULT_MIN_COPY_GBPS
    matmul_n: int = 512
    level: int = DEFAULT_LEVEL
    gemm_seconds: float = DEFAULT_GEMM_SECONDS
    memtest_fraction: float = DEFAULT_MEMTEST_FRACTION
    min_pcie_fraction: float = DEFAULT_MIN_PCIE_FRACTION
    min_hbm_fraction: float = DEFAULT_MIN_HBM_FRACTION


@dataclass(frozen=True)
class Context:
    options: Options
    gpus: list[GpuDevice]
    absence_reason: str | None
    probe: HealthProbe | None = None  # level 2: the GPUs' health readings and Xid watch


@dataclass(frozen=True)
class Passed:
    message: str
    details: dict[str, Any] = field(default_factory=dict)


CheckFn = Callable[[Context], Passed]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFn


def skip_without_gpu(ctx: Context) -> None:
    """Skip the calling check where this machine has no GPU (the reason in the message)."""
    if not ctx.gpus:
        raise Skip(f"no GPU: {ctx.absence_reason}")


def gpu_visible(ctx: Context) -> Passed:
    skip_without_gpu(ctx)
    names = [f"cuda:{g.index} {g.name}" for g in ctx.gpus]
    return Passed(
        f"{len(ctx.gpus)} GPU(s): {', '.join(names)}",
        {"devices": nvidia_device_files(), "NVIDIA_VISIBLE_DEVICES": os.environ.get("NVIDIA_VISIBLE_DEVICES")},
    )


def nvidia_smi_check(ctx: Context) -> Passed:
    skip_without_gpu(ctx)
    rows = nvidia_smi("name", "driver_version", "memory.total")
    if rows is None:
        raise CheckFailed(
            "nvidia-smi is missing or fails: the container needs the 'utility' driver capability "
            "(NVIDIA_DRIVER_CAPABILITIES=compute,utility)"
        )
    if len(rows) != len(ctx.gpus):
        raise CheckFailed(f"nvidia-smi lists {len(rows)} GPU(s) but torch sees {len(ctx.gpus)}", {"nvidia_smi": rows})
    return Passed(f"driver {rows[0][1]}, {len(rows)} GPU(s)", {"driver": rows[0][1], "nvidia_smi": rows})


def torch_cuda_build(ctx: Context) -> Passed:
    skip_without_gpu(ctx)
    arch_list = torch.cuda.get_arch_list()
    verdicts = {f"cuda:{g.index}": arch_supported(g.capability, arch_list) for g in ctx.gpus}
    details = {"torch": torch.__version__, "cuda": torch.version.cuda, "arch_list": arch_list}
    details |= {device: how for device, (_, how) in verdicts.items()}
    unsupported = [f"{device}: {how}" for device, (ok, how) in verdicts.items() if not ok]
    if unsupported:
        raise CheckFailed("; ".join(unsupported), details)
    return Passed(
        f"torch {torch.__version__} built for CUDA {torch.version.cuda}; " + "; ".join(how for _, how in verdicts.values()),
        details,
    )


def _matmul_check(device: torch.device, precision: str, n: int) -> Passed:
    generator = torch.Generator().manual_seed(1)
    a = torch.randn(n, n, generator=generator)
    b = torch.randn(n, n, generator=generator)
    reference = a.double() @ b.double()
    if device.type == "cuda" and precision in {"tf32", "bf16"} and torch.cuda.get_device_capability(device) < (8, 0):
        raise Skip(f"{precision} needs compute capability 8.0 or later (Ampere); {device} has less")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a_dev, b_dev = a.to(device=device, dtype=dtype), b.to(device=device, dtype=dtype)
    if device.type == "cuda":
        # Set cuBLAS's fp32 mode explicitly: the fp32 check must not pass or fail by a global default.
        with cuda_matmul_precision("tf32" if precision == "tf32" else "ieee"):
            result = a_dev @ b_dev
        torch.cuda.synchronize(device)
    else:
        result = a_dev @ b_dev
    error = relative_error(result, reference)
    tolerance = MATMUL_TOLERANCE[precision]
    details = {"n": n, "relative_error": error, "tolerance": tolerance}
    if not math.isfinite(error) or error > tolerance:
        raise CheckFailed(f"{precision} matmul on {device}: relative error {error:.2e} > {tolerance:.0e}", details)
    return Passed(f"relative error {error:.2e} <= {tolerance:.0e}", details)


def matmul_cpu(ctx: Context) -> Passed:
    return _matmul_check(torch.device("cpu"), "fp32", ctx.options.matmul_n)


def gradcheck_gpu(device: torch.device) -> Passed:
    generator = torch.Generator().manual_seed(2)
    x = torch.randn(4, 3, generator=generator, dtype=torch.float64).to(device).requires_grad_(True)
    w = torch.randn(3, 5, generator=generator, dtype=torch.float64).to(device).requires_grad_(True)

    def layer(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x @ w).pow(2).sum(dim=1)

    try:
        ok = torch.autograd.gradcheck(layer, (x, w), eps=1e-6, atol=1e-5, raise_exception=True)
    except RuntimeError as error:  # gradcheck explains the mismatch in its message
        raise CheckFailed(f"gradcheck failed on {device}: {str(error).splitlines()[0]}") from None
    return Passed("analytic and numerical gradients agree in float64", {"passed": ok})


def memory_alloc(device: torch.device, fraction: float) -> Passed:
    free, total = torch.cuda.mem_get_info(device)
    nbytes = int(free * fraction)
    stride = max(1, nbytes // 4096)
    try:
        block = torch.empty(nbytes, dtype=torch.uint8, device=device)
        block.fill_(0xA5)  # touch every page, not just reserve address space
        checksum = int(block[::stride].sum(dtype=torch.int64).item())
        del block
    except torch.OutOfMemoryError as error:
        raise CheckFailed(f"could not allocate {nbytes / 2**30:.1f} GiB of {free / 2**30:.1f} GiB free: {error}") from None
    finally:
        torch.cuda.empty_cache()  # give the memory back to other processes on the node
    expected = 0xA5 * len(range(0, nbytes, stride))
    details = {"allocated_gib": nbytes / 2**30, "free_gib": free / 2**30, "total_gib": total / 2**30, "fraction": fraction}
    if checksum != expected:
        raise CheckFailed("device memory read back differs from what was written", details)
    return Passed(f"allocated and wrote {nbytes / 2**30:.1f} GiB ({fraction:.0%} of free)", details)


def copy_bandwidth(device: torch.device, floor_gbps: float) -> Passed:
    nbytes = 64 << 20
    host = torch.empty(nbytes // 4).pin_memory()
    device_buffer = torch.empty(nbytes // 4, device=device)
    policy = TimingPolicy(warmup_calls=2, repeats=5, min_block_s=0.02)
    h2d = nbytes / measure(lambda: device_buffer.copy_(host, non_blocking=True), device=device, policy=policy).median_s / 1e9
    d2h = nbytes / measure(lambda: host.copy_(device_buffer, non_blocking=True), device=device, policy=policy).median_s / 1e9
    details = {"h2d_gbps": h2d, "d2h_gbps": d2h, "floor_gbps": floor_gbps}
    if min(h2d, d2h) < floor_gbps:
        raise CheckFailed(
            f"copy bandwidth host->device {h2d:.1f} GB/s, device->host {d2h:.1f} GB/s: below the {floor_gbps} GB/s floor "
            "(check the PCIe link width with nvidia-smi -q)",
            details,
        )
    return Passed(f"host->device {h2d:.1f} GB/s, device->host {d2h:.1f} GB/s (floor {floor_gbps})", details)


def training_step_check(device: torch.device) -> Passed:
    """One optimiser step of the lab 01 MLP; on a GPU its loss must match the CPU's on the same batch."""
    step, model = training_step(device=device, batch=LAB_BATCH)
    before = [p.detach().clone() for p in model.parameters()]
    if device.type == "cuda":
        with cuda_matmul_precision("ieee"):  # TF32 would make the GPU's loss differ from the CPU's by design
            loss = float(step().item())
    else:
        loss = float(step().item())
    changed = any(not torch.equal(b, p.detach()) for b, p in zip(before, model.parameters(), strict=True))
    details: dict[str, Any] = {"loss": loss}
    if not math.isfinite(loss) or not changed:
        raise CheckFailed(f"training step on {device}: loss {loss}, parameters changed: {changed}", details)
    if device.type == "cuda":
        cpu_step, _ = training_step(device=torch.device("cpu"), batch=LAB_BATCH)
        cpu_loss = float(cpu_step().item())
        details["cpu_loss"] = cpu_loss
        if abs(loss - cpu_loss) > 1e-4 * max(1.0, abs(cpu_loss)):
            raise CheckFailed(f"loss on {device} {loss:.6f} differs from the CPU's {cpu_loss:.6f}", details)
    return Passed(f"one Adam step, loss {loss:.4f}", details)


def nccl(ctx: Context) -> Passed:
    skip_without_gpu(ctx)
    if len(ctx.gpus) < 2:
        raise Skip("one GPU: NCCL is only used across several")
    tensors = [torch.full((1024,), float(g.index + 1), device=g.device) for g in ctx.gpus]
    if not torch.cuda.nccl.is_available(tensors):  # type: ignore[no-untyped-call]
        raise CheckFailed("torch reports NCCL unavailable for these GPUs")
    torch.cuda.nccl.all_reduce(tensors)  # type: ignore[no-untyped-call]
    expected = sum(range(1, len(ctx.gpus) + 1))
    wrong = [str(t.device) for t in tensors if not bool((t == expected).all().item())]
    version = torch.cuda.nccl.version()  # type: ignore[no-untyped-call]
    details = {"nccl_version": ".".join(map(str, version)) if isinstance(version, tuple) else str(version)}
    if wrong:
        raise CheckFailed(f"NCCL all-reduce gave wrong sums on {', '.join(wrong)}", details)
    return Passed(f"NCCL {details['nccl_version']} all-reduce across {len(ctx.gpus)} GPUs", details)


def per_gpu(name: str, make: Callable[[Context, GpuDevice], Passed]) -> Callable[[Context], list[Check]]:
    """Expand a per-device check into one Check per GPU, or a single skipped one when there is none."""

    def expand(ctx: Context) -> list[Check]:
        if not ctx.gpus:
            return [Check(f"{name}[cuda]", _no_gpu_check)]
        return [Check(f"{name}[cuda:{g.index}]", lambda c, g=g: make(c, g)) for g in ctx.gpus]  # type: ignore[misc]

    return expand


def _no_gpu_check(ctx: Context) -> Passed:
    skip_without_gpu(ctx)
    raise AssertionError("unreachable: only used when there is no GPU")


def plan(ctx: Context) -> list[Check]:
    """Level 1's checks in order (the host adds the engine's NVIDIA runtime check before these; level 2's follow)."""
    checks = [
        Check("gpu_visible", gpu_visible),
        Check("nvidia_smi", nvidia_smi_check),
        Check("torch_cuda_build", torch_cuda_build),
        Check("matmul_fp32[cpu]", matmul_cpu),
    ]
    for precision in ("fp32", "tf32", "bf16"):
        checks += per_gpu(
            f"matmul_{precision}",
            lambda c, g, p=precision: _matmul_check(g.device, p, c.options.matmul_n),  # type: ignore[misc]
        )(ctx)
    checks += per_gpu("gradcheck_float64", lambda c, g: gradcheck_gpu(g.device))(ctx)
    checks += per_gpu("memory_alloc", lambda c, g: memory_alloc(g.device, c.options.memory_fraction))(ctx)
    checks += per_gpu("copy_bandwidth", lambda c, g: copy_bandwidth(g.device, c.options.min_copy_gbps))(ctx)
    checks.append(Check("training_step[cpu]", lambda c: training_step_check(torch.device("cpu"))))
    checks += per_gpu("training_step", lambda c, g: training_step_check(g.device))(ctx)
    checks.append(Check("nccl", nccl))
    return checks
