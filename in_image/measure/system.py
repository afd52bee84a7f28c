"""Facts about the machine a benchmark or smoke test ran on, and why no GPU was found when none was.

Precision settings are read only through PyTorch's fp32_precision API: reading the legacy
`allow_tf32` flags after the new API was used raises in this PyTorch release.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from in_image.measure.peaks import cpu_info, cpu_peak, gpu_peak

# Flags worth showing a student: the vector extensions that decide the CPU's peak.
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_tile", "amx_bf16", "asimd")


@dataclass(frozen=True)
class GpuDevice:
    index: int
    name: str
    capability: tuple[int, int]
    memory_gib: float
    multiprocessors: int

    @property
    def device(self) -> torch.device:
        return torch.device("cuda", self.index)


def in_container() -> bool:
    return Path("/.dockerenv").exists() or Path("/run/.containerenv").exists()


def nvidia_device_files() -> list[str]:
    return sorted(str(p) for p in Path("/dev").glob("nvidia[0-9]*"))


def gpu_absence_reason() -> str | None:
    """None when torch sees at least one GPU; otherwise the most specific reason we can tell."""
    if torch.version.cuda is None:
        return f"no CUDA build: this torch ({torch.__version__}) is a CPU-only build (use the cuda image or a CUDA wheel)"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None and visible.strip() in {"", "-1"}:
        return f"CUDA_VISIBLE_DEVICES={visible!r} hides every GPU from this process"
    try:
        if torch.cuda.is_available() and torch.cuda.device_count() > 0:
            return None
    except RuntimeError as error:  # a broken driver raises here rather than returning False
        return f"CUDA failed to initialise: {str(error).strip().splitlines()[0]}"
    devices = nvidia_device_files()
    if in_container() and not devices:
        return (
            "no GPU device passed into the container (no /dev/nvidia*): the engine needs the NVIDIA container "
            "runtime and the container a GPU request (docker run --gpus all)"
        )
    if not devices and not Path("/proc/driver/nvidia/version").exists():
        return (
            "no NVIDIA driver on this machine (no /dev/nvidia* and no /proc/driver/nvidia): no GPU, or the driver is not loaded"
        )
    try:
        torch.cuda.init()  # type: ignore[no-untyped-call]
    except Exception as error:  # the driver exists but CUDA will not start: say what CUDA said
        return f"an NVIDIA driver is present but CUDA failed to initialise: {str(error).strip().splitlines()[0]}"
    return "CUDA reports no usable GPU although the driver is present (check NVIDIA_VISIBLE_DEVICES and nvidia-smi)"


def gpus() -> list[GpuDevice]:
    if gpu_absence_reason() is not None:
        return []
    found = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        found.append(
            GpuDevice(
                index=index,
                name=props.name,
                capability=(props.major, props.minor),
                memory_gib=props.total_memory / 2**30,
                multiprocessors=props.multi_processor_count,
            )
        )
    return found


def nvidia_smi(*fields: str) -> list[list[str]] | None:
    """Rows of `nvidia-smi --query-gpu=FIELDS`, None when nvidia-smi is missing or fails."""
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        result = subprocess.run(
            [executable, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return None
    return [[cell.strip() for cell in line.split(",")] for line in result.stdout.strip().splitlines() if line.strip()]


def driver_version() -> str | None:
    rows = nvidia_smi("driver_version")
    if rows:
        return rows[0][0]
    with contextlib.suppress(OSError):
        text = Path("/proc/driver/nvidia/version").read_text()
        for word in text.split():
            if word.count(".") in (1, 2) and word.replace(".", "").isdigit():
                return word
    return None


def fp32_precision(*path: str) -> str:
    """torch.backends.<path>.fp32_precision, e.g. fp32_precision("cudnn", "conv") (typed access to an untyped API)."""
    node: Any = torch.backends
    for name in path:
        node = getattr(node, name)
    return str(node.fp32_precision)


def precision_settings() -> dict[str, Any]:
    return {
        "fp32_precision_generic": fp32_precision(),
        "cuda_matmul_fp32_precision": fp32_precision("cuda", "matmul"),
        "cudnn_conv_fp32_precision": fp32_precision("cudnn", "conv"),
        "mkldnn_matmul_fp32_precision": fp32_precision("mkldnn", "matmul"),
        "note": "'none' inherits the generic setting (IEEE fp32 unless changed); cudnn conv defaults to tf32",
    }


@contextlib.contextmanager
def cuda_matmul_precision(value: str) -> Iterator[None]:
    """Set cuBLAS's fp32 matmul precision ('ieee' or 'tf32') for a block, then restore it."""
    matmul: Any = torch.backends.cuda.matmul
    before = matmul.fp32_precision
    matmul.fp32_precision = value
    try:
        yield
    finally:
        matmul.fp32_precision = before


def environment(*, threads: int) -> dict[str, Any]:
    """Everything a reader needs to reproduce or compare a run."""
    info = cpu_info()
    peak = cpu_peak(info, threads=threads)
    devices = gpus()
    cuda_build = torch.version.cuda
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "in_container": in_container(),
        "torch": torch.__version__,
        "torch_cuda": cuda_build,
        "cudnn": torch.backends.cudnn.version() if cuda_build and devices else None,  # type: ignore[no-untyped-call]
        "driver": driver_version() if devices else None,
        "cpu": {
            "model": info.model,
            "vendor": info.vendor,
            "logical_cpus": info.logical_cpus,
            "physical_cores": info.physical_cores,
            "clock_ghz": round(info.clock_ghz, 3),
            "clock_source": info.clock_source,
            "simd_flags": [flag for flag in SIMD_FLAGS if flag in info.flags],
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(),
            "interop_threads": torch.get_num_interop_threads(),
            "peak_fp32_gflops": round(peak.fp32_gflops, 1),
            "peak_formula": peak.formula,
        },
        "precision": precision_settings(),
        "gpus": [
            {
                "index": d.index,
                "name": d.name,
                "capability": f"{d.capability[0]}.{d.capability[1]}",
                "memory_gib": round(d.memory_gib, 1),
                "multiprocessors": d.multiprocessors,
                "peaks": (p.as_dict() if (p := gpu_peak(d.name)) else "unknown"),
            }
            for d in devices
        ],
        "gpu_absent_reason": gpu_absence_reason(),
    }
