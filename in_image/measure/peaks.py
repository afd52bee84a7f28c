"""Peak throughput of the devices, to show each measured figure as a fraction of what the chip can do.

CPU: read from the machine (cores x clock x SIMD lanes x 2 for FMA x FMA pipes). GPU: a small
table of vendor datasheet figures (dense, no structured sparsity, boost clock), "unknown" for
a device not in it.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# Floating-point FMA pipes per core. Not readable from /proc/cpuinfo; two is right for the server
# cores the course meets (Intel since Haswell, AMD Zen 1-5) and is the assumption the report shows.
FMA_PIPES_PER_CORE = 2
# AMD Zen 2-4 (families 0x17 and 0x19) run AVX-512 on 256-bit datapaths: twice the instructions,
# not twice the lanes. Zen 5 (0x1A) has full 512-bit datapaths.
AMD_256_BIT_FAMILIES = frozenset({0x17, 0x19})


@dataclass(frozen=True)
class CpuInfo:
    model: str
    vendor: str
    family: int | None
    flags: frozenset[str]
    logical_cpus: int
    physical_cores: int
    clock_ghz: float
    clock_source: str


def parse_cpuinfo(text: str) -> list[dict[str, str]]:
    """The processor blocks of /proc/cpuinfo as dicts."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, _, value = line.partition(":")
        current[key.strip()] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _max_clock_ghz(cpu: int) -> float | None:
    path = Path(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/cpuinfo_max_freq")
    try:
        return int(path.read_text().strip()) / 1e6  # kHz
    except (OSError, ValueError):
        return None


def cpu_info(*, cpuinfo_text: str | None = None, allowed: set[int] | None = None) -> CpuInfo:
    """The CPUs this process may run on (its affinity), from /proc/cpuinfo and cpufreq."""
    if cpuinfo_text is None:
        try:
            cpuinfo_text = Path("/proc/cpuinfo").read_text()
        except OSError:
            cpuinfo_text = ""
    if allowed is None:
        allowed = set(os.sched_getaffinity(0))
    blocks = [b for b in parse_cpuinfo(cpuinfo_text) if "processor" in b and int(b["processor"]) in allowed]
    if not blocks:  # not Linux, or an unreadable /proc: say so rather than guess a peak
        return CpuInfo("unknown", "unknown", None, frozenset(), len(allowed), len(allowed), 0.0, "unknown")
    first = blocks[0]
    # Physical cores: distinct (package, core) pairs among the allowed logical CPUs (SMT siblings share one).
    cores = {(b.get("physical id", "0"), b.get("core id", b["processor"])) for b in blocks}
    clock = _max_clock_ghz(int(first["processor"]))
    source = "cpufreq max"
    if clock is None:
        mhz = [float(b["cpu MHz"]) for b in blocks if "cpu MHz" in b]
        clock = max(mhz) / 1000 if mhz else 0.0
        # Without cpufreq (virtual machines) this is the nominal clock: turbo can lift a measurement above "100 %".
        source = "/proc/cpuinfo cpu MHz (nominal; turbo may exceed it)" if mhz else "unknown"
    family = first.get("cpu family")
    return CpuInfo(
        model=first.get("model name", "unknown"),
        vendor=first.get("vendor_id", "unknown"),
        family=int(family) if family and family.isdigit() else None,
        flags=frozenset(first.get("flags", "").split()),
        logical_cpus=len(blocks),
        physical_cores=len(cores),
        clock_ghz=clock,
        clock_source=source,
    )


def simd_bits(info: CpuInfo) -> int:
    """Width of the widest fp32 vector datapath the flags announce."""
    if "avx512f" in info.flags:
        if info.vendor == "AuthenticAMD" and info.family in AMD_256_BIT_FAMILIES:
            return 256
        return 512
    if "avx" in info.flags or "avx2" in info.flags:
        return 256
    if "sse" in info.flags or "sse2" in info.flags or "asimd" in info.flags:
        return 128
    return 32


@dataclass(frozen=True)
class CpuPeak:
    cores: int
    clock_ghz: float
    simd_bits: int
    fma: bool
    fma_pipes: int
    fp32_gflops: float
    formula: str


def cpu_peak(info: CpuInfo, *, threads: int) -> CpuPeak:
    """Peak fp32 GFLOP/s of the cores that `threads` threads can occupy."""
    cores = max(1, min(threads, info.physical_cores))
    bits = simd_bits(info)
    fma = "fma" in info.flags or "asimd" in info.flags
    lanes = bits // 32
    flops_per_cycle = lanes * (2 if fma else 1) * FMA_PIPES_PER_CORE
    peak = cores * info.clock_ghz * flops_per_cycle
    formula = (
        f"{cores} cores x {info.clock_ghz:.2f} GHz x {lanes} fp32 lanes ({bits}-bit) x {2 if fma else 1} (FMA) "
        f"x {FMA_PIPES_PER_CORE} pipes = {peak:.0f} GFLOP/s"
    )
    return CpuPeak(cores, info.clock_ghz, bits, fma, FMA_PIPES_PER_CORE, peak, formula)


@dataclass(frozen=True)
class GpuPeak:
    """Datasheet peaks: TFLOP/s dense, GB/s. None where the chip has no such unit (TF32 before Ampere)."""

    label: str
    fp32_tflops: float
    tf32_tflops: float | None
    bf16_tflops: float | None
    memory_gbps: float
    host_link_gbps: float  # one direction of the PCIe link the card sits on

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# (pattern on the lower-cased torch device name, peaks). First match wins, so specific names come first.
# Figures: NVIDIA datasheets and architecture whitepapers; GeForce tensor figures with FP32 accumulate.
GPU_PEAKS: tuple[tuple[str, GpuPeak], ...] = (
    (r"laptop|mobile|max-q", GpuPeak("unknown laptop GPU", 0, None, None, 0, 0)),  # clocks vary too much
    (r"h200 nvl", GpuPeak("H200 NVL", 60.3, 417.5, 835.5, 4800, 64)),
    (r"h200", GpuPeak("H200 SXM", 66.9, 494.7, 989.4, 4800, 64)),
    (r"h100 nvl", GpuPeak("H100 NVL", 60.3, 417.5, 835.5, 3938, 64)),
    (r"h100 pcie", GpuPeak("H100 PCIe", 51.2, 378.0, 756.0, 2039, 64)),
    (r"h100", GpuPeak("H100 SXM", 66.9, 494.7, 989.4, 3352, 64)),
    (r"a100.*(sxm4-80gb|sxm-80gb)", GpuPeak("A100 SXM4 80GB", 19.5, 156.0, 312.0, 2039, 32)),
    (r"a100.*80gb", GpuPeak("A100 PCIe 80GB", 19.5, 156.0, 312.0, 1935, 32)),
    (r"a100", GpuPeak("A100 40GB", 19.5, 156.0, 312.0, 1555, 32)),
    (r"\bl4\b", GpuPeak("L4", 30.3, 60.0, 121.0, 300, 32)),
    (r"\bt4\b", GpuPeak("T4", 8.1, None, None, 320, 16)),
    (r"v100s", GpuPeak("V100S PCIe", 16.4, None, None, 1134, 16)),
    (r"v100.*pcie", GpuPeak("V100 PCIe", 14.0, None, None, 900, 16)),
    (r"v100", GpuPeak("V100 SXM2", 15.7, None, None, 900, 16)),
    (r"rtx 3060 ti", GpuPeak("GeForce RTX 3060 Ti", 16.2, 16.2, 32.4, 448, 32)),
    (r"rtx 3060", GpuPeak("GeForce RTX 3060", 12.7, 12.7, 25.5, 360, 32)),
    (r"rtx 3070 ti", GpuPeak("GeForce RTX 3070 Ti", 21.7, 21.7, 43.5, 608, 32)),
    (r"rtx 3070", GpuPeak("GeForce RTX 3070", 20.3, 20.3, 40.6, 448, 32)),
    (r"rtx 3080 ti", GpuPeak("GeForce RTX 3080 Ti", 34.1, 34.1, 68.2, 912, 32)),
    (r"rtx 3080", GpuPeak("GeForce RTX 3080", 29.8, 29.8, 59.5, 760, 32)),
    (r"rtx 3090 ti", GpuPeak("GeForce RTX 3090 Ti", 40.0, 40.0, 80.0, 1008, 32)),
    (r"rtx 3090", GpuPeak("GeForce RTX 3090", 35.6, 35.6, 71.2, 936, 32)),
    (r"rtx 4060 ti", GpuPeak("GeForce RTX 4060 Ti", 22.1, 22.1, 44.2, 288, 16)),
    (r"rtx 4060", GpuPeak("GeForce RTX 4060", 15.1, 15.1, 30.2, 272, 16)),
    (r"rtx 4070 ti", GpuPeak("GeForce RTX 4070 Ti", 40.1, 40.1, 80.2, 504, 32)),
    (r"rtx 4070", GpuPeak("GeForce RTX 4070", 29.1, 29.1, 58.3, 504, 32)),
    (r"rtx 4080", GpuPeak("GeForce RTX 4080", 48.7, 48.7, 97.5, 717, 32)),
    (r"rtx 4090", GpuPeak("GeForce RTX 4090", 82.6, 82.6, 165.2, 1008, 32)),
)


def gpu_peak(device_name: str) -> GpuPeak | None:
    """The datasheet peaks for a torch device name ('NVIDIA H100 80GB HBM3'), None when unknown."""
    name = device_name.lower()
    for pattern, peak in GPU_PEAKS:
        if re.search(pattern, name):
            return peak if peak.fp32_tflops > 0 else None
    return None


def gpu_peak_for(peak: GpuPeak | None, kind: str) -> float | None:
    """Peak in the unit the benchmark reports (GFLOP/s or GB/s) for a kind of figure, None when unknown."""
    if peak is None:
        return None
    table: dict[str, float | None] = {
        "fp32": peak.fp32_tflops * 1000,
        "tf32": peak.tf32_tflops * 1000 if peak.tf32_tflops else None,
        "bf16": peak.bf16_tflops * 1000 if peak.bf16_tflops else None,
        "memory": peak.memory_gbps,
        "host_link": peak.host_link_gbps,
    }
    return table.get(kind)
