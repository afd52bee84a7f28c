"""Timing that is correct on both CPU and GPU.

GPU kernels run asynchronously: a wall clock around a launch measures the launch, not the work.
GPU blocks are therefore timed with CUDA events recorded on the device's stream after a
synchronize (nothing earlier still queued), and read after the end event has completed. Every
measurement starts with warm-up calls (kernel selection, cuBLAS/oneDNN workspace, caches, lazy
CUDA initialisation) and takes the median of several blocks, each long enough that the timer's
resolution and the per-launch overhead do not dominate.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from in_image.measure.stats import Summary, summarize

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TimingPolicy:
    """How hard to measure: the quick policy keeps tests and CI short, the full one gives stable figures."""

    warmup_calls: int = 3
    repeats: int = 9
    min_block_s: float = 0.05
    max_calls_per_block: int = 1 << 16

    @classmethod
    def quick(cls) -> TimingPolicy:
        return cls(warmup_calls=1, repeats=5, min_block_s=0.01)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def synchronized_clock() -> float:
    """perf_counter after waiting for every queued GPU kernel: a timer for pytest-benchmark.

    Only synchronizes when CUDA is already initialised, so a CPU-only run never pays for (or
    fails at) creating a CUDA context.
    """
    if torch.cuda.is_available() and torch.cuda.is_initialized():  # type: ignore[no-untyped-call]
        torch.cuda.synchronize()
    return time.perf_counter()


def time_block(fn: Callable[[], object], calls: int, device: torch.device) -> float:
    """Seconds for `calls` back-to-back calls of fn on device (wall clock on CPU, CUDA events on GPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        with torch.cuda.device(device):
            start = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            end = torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
            start.record()
            for _ in range(calls):
                fn()
            end.record()
            end.synchronize()
            return float(start.elapsed_time(end)) / 1000.0  # elapsed_time is in milliseconds
    begin = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - begin


def calls_for(fn: Callable[[], object], device: torch.device, policy: TimingPolicy) -> int:
    """Calls per block so that one block lasts at least policy.min_block_s."""
    calls = 1
    while calls < policy.max_calls_per_block:
        elapsed = time_block(fn, calls, device)
        if elapsed >= policy.min_block_s:
            break
        # Grow geometrically, aiming a bit past the target so the loop ends in two or three steps.
        wanted = calls * policy.min_block_s * 1.2 / max(elapsed, 1e-7)
        calls = min(policy.max_calls_per_block, max(calls * 2, math.ceil(wanted)))
    return calls


def measure(fn: Callable[[], object], *, device: torch.device, policy: TimingPolicy) -> Summary:
    """Warm up, calibrate the block length, then time policy.repeats blocks; seconds per call."""
    for _ in range(policy.warmup_calls):
        fn()
    synchronize(device)
    calls = calls_for(fn, device, policy)
    per_call = [time_block(fn, calls, device) / calls for _ in range(policy.repeats)]
    summary = summarize(per_call, calls_per_block=calls)
    log.debug("measured %s x%d on %s: median %.3g s", getattr(fn, "__name__", "fn"), calls, device, summary.median_s)
    return summary
