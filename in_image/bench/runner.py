"""Run every workload on the CPU and on each visible GPU in one process, and assemble the report."""

from __future__ import annotations

import datetime as dt
import logging
import os
import statistics
import time
from typing import Any

import torch
import torch.utils.benchmark as torch_benchmark

from in_image.bench.workloads import Result, Sizes, Target, conv2d, copies, elementwise, matmul, matmul_operands, mlp_step
from in_image.measure.peaks import cpu_info, cpu_peak, gpu_peak, gpu_peak_for
from in_image.measure.system import GpuDevice, environment, gpus
from in_image.measure.timing import TimingPolicy, measure
from in_image.packages import torchvision_status

log = logging.getLogger(__name__)

SCHEMA = "dl-lab.bench/1"
# The fidelity bars: the harness's CPU figure within 10 % of a bare torch.utils.benchmark
# measurement, and GPU bf16 at the largest size at least 70 % of the datasheet peak.
CPU_FIDELITY_TOLERANCE = 0.10
GPU_BF16_MIN_FRACTION = 0.70
GPU_FIDELITY_N = 8192


def default_threads() -> int:
    return len(os.sched_getaffinity(0))


def cpu_target(*, threads: int) -> Target:
    peak = cpu_peak(cpu_info(), threads=threads).fp32_gflops

    def lookup(kind: str) -> float | None:
        return peak if kind == "fp32" and peak > 0 else None

    return Target(torch.device("cpu"), cpu_info().model, lookup)


def gpu_target(device: GpuDevice) -> Target:
    peaks = gpu_peak(device.name)
    return Target(device.device, device.name, lambda kind: gpu_peak_for(peaks, kind))


def gpu_precisions(device: torch.device) -> tuple[str, ...]:
    """TF32 and bf16 tensor cores arrived with Ampere (8.0); before it only fp32 is meaningful."""
    if torch.cuda.get_device_capability(device) < (8, 0):
        log.info("%s: compute capability below 8.0, so no TF32 or bf16 matmul", device)
        return ("fp32",)
    return ("fp32", "tf32", "bf16")


def run_device(target: Target, *, sizes: Sizes, policy: TimingPolicy) -> list[Result]:
    on_gpu = target.device.type == "cuda"
    results = list(
        matmul(
            target,
            sizes=sizes.matmul_gpu if on_gpu else sizes.matmul_cpu,
            precisions=gpu_precisions(target.device) if on_gpu else ("fp32",),
            policy=policy,
        )
    )
    results.append(elementwise(target, elements=sizes.elementwise, policy=policy))
    results.append(conv2d(target, batch=sizes.conv_batch, channels=sizes.conv_channels, hw=sizes.conv_hw, policy=policy))
    results += [mlp_step(target, batch=batch, policy=policy) for batch in sizes.mlp_batches]
    if on_gpu:
        results += list(copies(target, nbytes=sizes.copy_bytes, policy=policy))
        torch.cuda.empty_cache()
    return results


def add_speedups(results: list[Result]) -> None:
    """GPU speedup = CPU median time / GPU median time of the same workload and size (CPU in fp32)."""
    cpu = {(r.workload, r.size): r for r in results if r.device == "cpu"}
    for result in results:
        if result.device == "cpu":
            continue
        baseline = cpu.get((result.workload, result.size))
        if baseline is not None and result.summary.median_s > 0:
            result.speedup_vs_cpu = baseline.summary.median_s / result.summary.median_s


def cpu_fidelity(results: list[Result], *, n: int, policy: TimingPolicy, rounds: int, min_run_time_s: float) -> dict[str, Any]:
    """Compare the harness's CPU fp32 matmul timing with a bare torch.utils.benchmark measurement.

    The two alternate for a few rounds so both see the same machine (on a shared 2-core machine
    another process can halve the speed for seconds); the sweep's own figure is reported beside them.
    """
    sweep = next((r for r in results if r.device == "cpu" and r.workload == "matmul" and r.size == n), None)
    a, b, c = matmul_operands(n, device=torch.device("cpu"), dtype=torch.float32)

    def product() -> torch.Tensor:
        return torch.mm(a, b, out=c)

    # Timer runs single-threaded unless told: give it the thread count the harness measured with.
    timer = torch_benchmark.Timer(
        stmt="torch.mm(a, b, out=c)", globals={"torch": torch, "a": a, "b": b, "c": c}, num_threads=torch.get_num_threads()
    )
    flop = 2.0 * n**3
    ours, bare = [], []
    for _ in range(rounds):
        ours.append(flop / measure(product, device=torch.device("cpu"), policy=policy).median_s / 1e9)
        bare.append(flop / timer.blocked_autorange(min_run_time=min_run_time_s).median / 1e9)
    harness_gflops, bare_gflops = statistics.median(ours), statistics.median(bare)
    ratio = harness_gflops / bare_gflops
    return {
        "check": "cpu_matmul_vs_torch_benchmark",
        "size": n,
        "rounds": rounds,
        "threads": torch.get_num_threads(),
        "harness_gflops": harness_gflops,
        "torch_benchmark_gflops": bare_gflops,
        "sweep_gflops": sweep.throughput if sweep else None,
        "ratio": ratio,
        "tolerance": CPU_FIDELITY_TOLERANCE,
        "passed": abs(ratio - 1.0) <= CPU_FIDELITY_TOLERANCE,
    }


def gpu_fidelity(results: list[Result], *, n: int) -> list[dict[str, Any]]:
    """bf16 matmul at the largest size against the datasheet peak, per GPU (not measured in --quick runs)."""
    checks = []
    for device in sorted({r.device for r in results if r.device != "cpu"}):
        check: dict[str, Any] = {
            "check": "gpu_bf16_matmul_fraction_of_peak",
            "device": device,
            "size": n,
            "minimum": GPU_BF16_MIN_FRACTION,
            "passed": None,
        }
        row = next(
            (r for r in results if r.device == device and r.workload == "matmul" and r.precision == "bf16" and r.size == n), None
        )
        if row is None:
            check["reason"] = f"no bf16 matmul at n={n} (quick run, or a GPU without bf16)"
        elif row.fraction_of_peak is None:
            check["reason"] = f"no known bf16 peak for {row.device_name}"
        else:
            check |= {
                "gflops": row.throughput,
                "peak_gflops": row.peak,
                "fraction_of_peak": row.fraction_of_peak,
                "passed": row.fraction_of_peak >= GPU_BF16_MIN_FRACTION,
            }
        checks.append(check)
    return checks


def run(*, quick: bool = False, threads: int | None = None, no_gpu_hint: str | None = None) -> dict[str, Any]:
    """The whole benchmark; returns the report as a JSON-ready dict."""
    threads = threads or default_threads()
    torch.set_num_threads(threads)  # recorded below; oneDNN/MKL follow torch's setting
    sizes = Sizes.quick() if quick else Sizes.full()
    policy = TimingPolicy.quick() if quick else TimingPolicy()
    started = time.monotonic()
    env = environment(threads=threads)
    env["torchvision"] = torchvision_status()
    if no_gpu_hint and env["gpu_absent_reason"]:
        env["gpu_absent_reason"] = f"{no_gpu_hint}; inside: {env['gpu_absent_reason']}"
    results = run_device(cpu_target(threads=threads), sizes=sizes, policy=policy)
    fidelity = [
        cpu_fidelity(results, n=sizes.fidelity_n, policy=policy, rounds=2 if quick else 3, min_run_time_s=0.2 if quick else 1.0)
    ]
    for device in gpus():
        log.info("GPU %d: %s", device.index, device.name)
        results += run_device(gpu_target(device), sizes=sizes, policy=policy)
    add_speedups(results)
    fidelity += gpu_fidelity(results, n=GPU_FIDELITY_N)
    return {
        "schema": SCHEMA,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quick": quick,
        "duration_s": round(time.monotonic() - started, 1),
        "timing": {
            "warmup_calls": policy.warmup_calls,
            "repeats": policy.repeats,
            "min_block_s": policy.min_block_s,
            "method": "median and IQR of per-call times over timed blocks; CUDA events on GPU",
        },
        "environment": env,
        "results": [r.as_dict() for r in results],
        "fidelity": fidelity,
    }
