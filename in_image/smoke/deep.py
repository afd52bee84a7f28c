"""Level 2 of the smoke test (`--level 2`, about two minutes), in the manner of `dcgmi diag -r 2`.

Each check takes its readings (in_image.smoke.probe) or measures (in_image.smoke.stress) and leaves
the judgement to a pure function of in_image.smoke.health. They run after level 1's checks, in
this order, so that the clock readings taken during the sustained GEMM and the Xid events raised
by any of the loads are judged last.
"""

from __future__ import annotations

from dataclasses import asdict

import torch

from in_image.measure.peaks import gpu_peak
from in_image.measure.system import GpuDevice
from in_image.smoke.checks import Check, CheckFailed, Context, Passed, Skip, per_gpu, skip_without_gpu
from in_image.smoke.health import (
    CheckOutcome,
    GpuReading,
    PcieLink,
    clock_throttle_verdict,
    ecc_verdict,
    gemm_verdict,
    hbm_verdict,
    memory_repair_verdict,
    memtest_verdict,
    normal_uuid,
    pcie_verdict,
    xid_verdict,
)
from in_image.smoke.probe import HealthProbe
from in_image.smoke.stress import device_copy_gbps, host_copy_rates, memory_test, memory_test_words, sustained_gemm

GEMM_SIZES = {"bf16": 8192, "fp32": 4096}  # about 1.4 ms and 2 ms a product on an H100: thousands of comparisons a minute
HBM_COPY_BYTES = 2 << 30


def _judged(verdict: CheckOutcome) -> Passed:
    if not verdict.passed:
        raise CheckFailed(verdict.message, verdict.details)
    return Passed(verdict.message, verdict.details)


def _probe(ctx: Context) -> HealthProbe:
    if ctx.probe is None:
        raise AssertionError("level-2 checks run with a health probe (in_image.smoke.runner opens it)")
    return ctx.probe


def device_uuid(gpu: GpuDevice) -> str:
    return normal_uuid(str(getattr(torch.cuda.get_device_properties(gpu.index), "uuid", "")))


def _reading(ctx: Context, gpu: GpuDevice, readings: dict[str, GpuReading]) -> GpuReading:
    """This GPU's reading, matched by UUID (CUDA_VISIBLE_DEVICES may reorder and hide GPUs)."""
    if not readings:
        raise CheckFailed("neither NVML (nvidia-ml-py) nor nvidia-smi -q -x gave a reading: the container needs the "
                          "'utility' driver capability, the host an NVIDIA driver with nvidia-smi")
    found = readings.get(device_uuid(gpu))
    if found is None and len(readings) == len(ctx.gpus):
        found = list(readings.values())[gpu.index]  # no UUID from torch: same order when every GPU is visible
    if found is None:
        raise CheckFailed(f"no health reading matches cuda:{gpu.index} ({gpu.name}); readings: {sorted(readings)}")
    return found


def ecc_check(ctx: Context, gpu: GpuDevice) -> Passed:
    return _judged(ecc_verdict(_reading(ctx, gpu, _probe(ctx).readings()).ecc))


def memory_repair_check(ctx: Context, gpu: GpuDevice) -> Passed:
    return _judged(memory_repair_verdict(_reading(ctx, gpu, _probe(ctx).readings()).repair))


def pcie_check(ctx: Context, gpu: GpuDevice) -> Passed:
    probe = _probe(ctx)
    reading = _reading(ctx, gpu, probe.readings())

    def link_under_load() -> PcieLink | None:
        return _reading(ctx, gpu, probe.readings(fresh=True)).pcie

    rates, link = host_copy_rates(gpu.device, read_link=link_under_load)
    verdict = pcie_verdict(link or reading.pcie, h2d_gbps=rates.h2d_gbps, d2h_gbps=rates.d2h_gbps,
                           min_fraction=ctx.options.min_pcie_fraction, absolute_floor_gbps=ctx.options.min_copy_gbps)
    verdict.details["link_before_load"] = None if reading.pcie is None else asdict(reading.pcie)
    return _judged(verdict)


def memtest_check(ctx: Context, gpu: GpuDevice) -> Passed:
    torch.cuda.empty_cache()
    free, _ = torch.cuda.mem_get_info(gpu.device)
    words = memory_test_words(free, ctx.options.memtest_fraction)
    try:
        buffer = torch.empty(words, dtype=torch.int64, device=gpu.device)
    except torch.OutOfMemoryError as error:
        raise CheckFailed(f"could not allocate {words * 8 / 2**30:.1f} GiB of {free / 2**30:.1f} GiB free: {error}") from None
    try:
        results = memory_test(buffer)
    finally:
        del buffer
        torch.cuda.empty_cache()
    return _judged(memtest_verdict(results, tested_bytes=words * 8, free_bytes=free))


def hbm_check(ctx: Context, gpu: GpuDevice) -> Passed:
    free, _ = torch.cuda.mem_get_info(gpu.device)
    nbytes = min(HBM_COPY_BYTES, free // 4) // 4 * 4
    measured = device_copy_gbps(gpu.device, nbytes=nbytes)
    torch.cuda.empty_cache()
    peak = gpu_peak(gpu.name)
    return _judged(hbm_verdict(measured, datasheet_gbps=peak.memory_gbps if peak else None,
                               label=peak.label if peak else gpu.name, min_fraction=ctx.options.min_hbm_fraction))


def gemm_check(ctx: Context) -> Passed:
    skip_without_gpu(ctx)
    bf16 = all(g.capability >= (8, 0) for g in ctx.gpus)
    sizes = GEMM_SIZES if bf16 else {"fp32": GEMM_SIZES["fp32"]}
    runs = sustained_gemm([g.device for g in ctx.gpus], seconds=ctx.options.gemm_seconds, sizes=sizes,
                          sample=_probe(ctx).sample_clock_events)
    torch.cuda.empty_cache()
    return _judged(gemm_verdict(runs))


def throttle_check(ctx: Context, gpu: GpuDevice) -> Passed:
    probe = _probe(ctx)
    now = _reading(ctx, gpu, probe.readings(fresh=True)).clock_events
    return _judged(clock_throttle_verdict(now, probe.load_samples.get(device_uuid(gpu), [])))


def xid_check(ctx: Context, gpu: GpuDevice) -> Passed:
    probe = _probe(ctx)
    reading = _reading(ctx, gpu, probe.readings())
    events, sources, why_not = probe.xid_events()
    if not sources:
        raise Skip(f"no Xid source readable here ({why_not}); with nvidia-ml-py NVML reports new Xids during the run")
    return _judged(xid_verdict(events, pci_bus_id=reading.pci_bus_id, sources=sources))


def level2_plan(ctx: Context) -> list[Check]:
    """Level 2's checks, after level 1's: one JUnit case per check and GPU (one for the GEMM across all GPUs)."""
    if ctx.options.level < 2:
        return []
    checks: list[Check] = []
    checks += per_gpu("ecc_errors", ecc_check)(ctx)
    checks += per_gpu("memory_repair", memory_repair_check)(ctx)
    checks += per_gpu("pcie_link", pcie_check)(ctx)
    checks += per_gpu("memtest", memtest_check)(ctx)
    checks += per_gpu("hbm_bandwidth", hbm_check)(ctx)
    checks.append(Check("sustained_gemm", gemm_check))
    checks += per_gpu("clock_throttle", throttle_check)(ctx)
    checks += per_gpu("xid_errors", xid_check)(ctx)
    return checks
