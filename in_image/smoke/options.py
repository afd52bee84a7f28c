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
