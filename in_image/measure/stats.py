"""Robust summaries of repeated timings: median and interquartile range (IQR).

Medians and IQRs, not means and standard deviations, because timing noise is one-sided
(a preempted run is slower, never faster) and a single outlier must not move the figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile with linear interpolation between order statistics (numpy's default method)."""
    if not values:
        raise ValueError("quantile of an empty sequence")
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"quantile level must lie in [0, 1], got {q}")
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    fraction = position - lower
    return ordered[lower] + (ordered[upper] - ordered[lower]) * fraction


@dataclass(frozen=True)
class Summary:
    """Seconds per call over `repeats` blocks of `calls_per_block` calls each."""

    median_s: float
    iqr_s: float
    q1_s: float
    q3_s: float
    min_s: float
    max_s: float
    repeats: int
    calls_per_block: int

    @property
    def relative_iqr(self) -> float:
        """IQR / median: the spread the reports show (0.05 means ±5 %-ish noise)."""
        return self.iqr_s / self.median_s if self.median_s > 0 else math.inf

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(per_call_s: Sequence[float], *, calls_per_block: int = 1) -> Summary:
    """Summarize per-call times (one entry per timed block, already divided by the block's calls)."""
    if not per_call_s:
        raise ValueError("no timings to summarize")
    if any(t < 0 or math.isnan(t) for t in per_call_s):
        raise ValueError(f"timings must be non-negative numbers, got {list(per_call_s)}")
    q1 = quantile(per_call_s, 0.25)
    q3 = quantile(per_call_s, 0.75)
    return Summary(
        median_s=quantile(per_call_s, 0.5),
        iqr_s=q3 - q1,
        q1_s=q1,
        q3_s=q3,
        min_s=min(per_call_s),
        max_s=max(per_call_s),
        repeats=len(per_call_s),
        calls_per_block=calls_per_block,
    )


def rate(amount: float, seconds: float) -> float:
    """amount per second (FLOP/s, bytes/s, samples/s); 0 for a zero time rather than a crash."""
    return amount / seconds if seconds > 0 else 0.0
