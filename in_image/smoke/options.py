"""The smoke test's options: defaults and argument types, shared by the host CLI (`harness smoke`)
and the in-image module (`python -m in_image.smoke`). Stdlib only: the host may have no torch."""

from __future__ import annotations

import argparse

DEFAULT_MEMORY_FRACTION = 0.5  # share of the free device memory to allocate and touch
DEFAULT_MIN_COPY_GBPS = 4.0  # a PCIe 3.0 x4 link still passes; a card on x1 or a broken DMA path does not


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None


def fraction(text: str) -> float:
    value = _number(text)
    if not 0.0 < value <= 0.95:
        raise argparse.ArgumentTypeError(f"must lie in (0, 0.95], got {value} (leave room for the CUDA context)")
    return value


def positive(text: str) -> float:
    value = _number(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


# Level 2 (about two minutes, in the manner of `dcgmi diag -r 2`): the GPU's health records, the PCIe
# link, a multi-pattern memory test, device-memory bandwidth and a sustained GEMM.
LEVELS = (1, 2)
DEFAULT_LEVEL = 1
DEFAULT_GEMM_SECONDS = 60.0  # split evenly between the bf16 and fp32 products
DEFAULT_MEMTEST_FRACTION = 0.9  # share of the free device memory the patterns cover
DEFAULT_MIN_PCIE_FRACTION = 0.5  # copies must reach half the best link's theoretical rate (healthy: 75-90 %)
DEFAULT_MIN_HBM_FRACTION = 0.6  # device-to-device copy against the datasheet memory bandwidth


def level(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a level number, got {text!r}") from None
    if value not in LEVELS:
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(map(str, LEVELS))}, got {value}")
    return value


def add_level_arguments(parser: argparse.ArgumentParser) -> None:
    """The level and level 2's tunables: the same flags for `harness smoke` and `python -m in_image.smoke`."""
    parser.add_argument("--level", type=level, default=DEFAULT_LEVEL,
                        help="1: seconds-long checks (default); 2: also ECC, row remaps, Xids, throttling, PCIe link, "
                             "memory patterns, memory bandwidth and a sustained GEMM (about 2 minutes)")
    parser.add_argument("--gemm-seconds", type=positive, default=DEFAULT_GEMM_SECONDS,
                        help="level 2: seconds of sustained GEMM (default %(default)s)")
    parser.add_argument("--memtest-fraction", type=fraction, default=DEFAULT_MEMTEST_FRACTION,
                        help="level 2: share of free GPU memory the memory patterns cover (default %(default)s)")
    parser.add_argument("--min-pcie-fraction", type=fraction, default=DEFAULT_MIN_PCIE_FRACTION,
                        help="level 2: copy floor as a share of the PCIe link's theoretical rate (default %(default)s)")
    parser.add_argument("--min-hbm-fraction", type=fraction, default=DEFAULT_MIN_HBM_FRACTION,
                        help="level 2: memory bandwidth floor as a share of the datasheet figure (default %(default)s)")


LEVEL_FLAGS = ("level", "gemm_seconds", "memtest_fraction", "min_pcie_fraction", "min_hbm_fraction")


def level_argv(args: argparse.Namespace) -> list[str]:
    """Parsed level options back into flags, to hand from the host to the in-image module."""
    argv: list[str] = []
    for name in LEVEL_FLAGS:
        argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return argv
