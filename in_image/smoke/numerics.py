"""Pure helpers of the smoke checks, unit-tested on the CPU: tolerances and architecture matching."""

from __future__ import annotations

import re

import torch

# Relative Frobenius error of an n x n product of standard-normal matrices against a float64
# reference computed from the same fp32 inputs. Measured on the CPU (TF32 emulated by rounding the
# inputs to 10 mantissa bits): fp32 2.4e-7, TF32 3e-4 (round to nearest) to 7.7e-4 (truncation),
# bf16 2.9e-3, the same for n = 256..1024. Each bar sits above its own precision and below the next
# coarser one, so a GPU that silently runs fp32 as TF32, or TF32 as bf16, or returns garbage, fails.
MATMUL_TOLERANCE = {"fp32": 1e-5, "tf32": 1.5e-3, "bf16": 1.5e-2}


def round_to_tf32(x: torch.Tensor, *, truncate: bool = False) -> torch.Tensor:
    """fp32 values with the mantissa cut to TF32's 10 bits (what tensor cores read): emulation for tests."""
    bits = x.contiguous().view(torch.int32)
    if not truncate:
        bits = bits + (1 << 12)  # round half up in the 13 dropped bits
    return (bits & ~((1 << 13) - 1)).view(torch.float32)


def relative_error(result: torch.Tensor, reference: torch.Tensor) -> float:
    result64 = result.detach().to(device="cpu", dtype=torch.float64)
    reference64 = reference.detach().to(device="cpu", dtype=torch.float64)
    denominator = torch.linalg.matrix_norm(reference64).item()
    return float(torch.linalg.matrix_norm(result64 - reference64).item() / denominator) if denominator else float("inf")


_ARCH = re.compile(r"^(sm|compute)_(\d+)([a-z]?)$")


def _version(digits: str) -> tuple[int, int]:
    return int(digits[:-1]), int(digits[-1])


def arch_supported(capability: tuple[int, int], arch_list: list[str]) -> tuple[bool, str]:
    """Can a torch built for arch_list run on a device of this compute capability? And how."""
    wanted = f"sm_{capability[0]}{capability[1]}"
    if wanted in arch_list:
        return True, f"{wanted} is in the build's arch list"
    binaries, ptx = [], []
    for arch in arch_list:
        match = _ARCH.match(arch)
        if not match:
            continue
        kind, digits, suffix = match.groups()
        version = _version(digits)
        if kind == "sm" and not suffix and version[0] == capability[0] and version[1] <= capability[1]:
            binaries.append(arch)  # cubins run on later minor versions of the same major architecture
        elif kind == "compute" and not suffix and version <= capability:
            ptx.append(arch)  # PTX is compiled just in time for any later device
    if binaries:
        return True, f"{wanted} runs the build's {binaries[-1]} binaries (same major architecture)"
    if ptx:
        return True, f"{wanted} runs by JIT-compiling the build's {ptx[-1]} PTX (slow first start)"
    return False, f"{wanted} is not supported by this torch build (arch list: {' '.join(arch_list) or 'empty'})"
