"""The level-2 workloads: memory patterns, device-memory bandwidth, host<->device copies, sustained GEMM.

Each runs on any torch device (the unit tests run them on the CPU with small sizes) and returns
measured numbers or per-pattern counts; in_image.smoke.health judges them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch

from in_image.measure.system import cuda_matmul_precision
from in_image.measure.timing import TimingPolicy, measure, synchronize
from in_image.smoke.health import GemmRun, PatternResult
from in_image.smoke.numerics import MATMUL_TOLERANCE

WORD = 8  # bytes per int64 word: the memory test's unit
CHUNK_WORDS = 64 << 20  # 512 MiB per chunk: each pattern is written and compared chunk by chunk

# Constant patterns (all zeros, all ones, alternating bits and their inverse) and patterns that
# depend on the word's address, so that an address line stuck or shorted shows as wrong data.
ALTERNATING = 0x5555555555555555
CONSTANT_PATTERNS = {"zeros": 0, "ones": -1, "alternating_01": ALTERNATING, "alternating_10": ~ALTERNATING}
ADDRESS_SALT = 0x5A5A5A5A  # so that the first words of the address pattern are not zeros
PATTERNS = (*CONSTANT_PATTERNS, "address", "walking_ones", "random")

Reading = TypeVar("Reading")


def pattern_chunk(pattern: str, start: int, count: int, *, device: torch.device, seed: int) -> torch.Tensor:
    """The int64 words `start .. start+count` of a pattern, computed on the device."""
    if pattern in CONSTANT_PATTERNS:
        return torch.full((count,), CONSTANT_PATTERNS[pattern], dtype=torch.int64, device=device)
    index = torch.arange(start, start + count, dtype=torch.int64, device=device)
    if pattern == "address":
        return index ^ (index << 32) ^ ADDRESS_SALT
    if pattern == "walking_ones":
        return torch.bitwise_left_shift(torch.ones_like(index), index % 64)
    if pattern == "random":
        generator = torch.Generator(device=device)
        generator.manual_seed(seed * 1_000_003 + start)  # one stream per chunk, the same at write and compare
        return torch.empty(count, dtype=torch.int64, device=device).random_(generator=generator)
    raise ValueError(f"unknown memory pattern {pattern!r}; known: {', '.join(PATTERNS)}")


def _chunks(words: int, chunk_words: int) -> list[tuple[int, int]]:
    return [(start, min(chunk_words, words - start)) for start in range(0, words, chunk_words)]


def _write(buffer: torch.Tensor, pattern: str, *, seed: int, chunk_words: int) -> None:
    if pattern in CONSTANT_PATTERNS:
        buffer.fill_(CONSTANT_PATTERNS[pattern])
        return
    for start, count in _chunks(buffer.numel(), chunk_words):
        buffer[start:start + count].copy_(pattern_chunk(pattern, start, count, device=buffer.device, seed=seed))


def _verify(buffer: torch.Tensor, pattern: str, *, seed: int, chunk_words: int) -> PatternResult:
    """Compare on the device; counts stay on the device until the end, so the GPU never waits for Python."""
    total = torch.zeros((), dtype=torch.int64, device=buffer.device)
    first_bad: int | None = None
    for start, count in _chunks(buffer.numel(), chunk_words):
        chunk = buffer[start:start + count]
        if pattern in CONSTANT_PATTERNS:
            wrong = chunk != CONSTANT_PATTERNS[pattern]
        else:
            wrong = chunk != pattern_chunk(pattern, start, count, device=buffer.device, seed=seed)
        total += wrong.sum()
    mismatches = int(total.item())
    if mismatches:  # a second pass, only on failure, to say where
        for start, count in _chunks(buffer.numel(), chunk_words):
            expected = pattern_chunk(pattern, start, count, device=buffer.device, seed=seed)
            bad = torch.nonzero(buffer[start:start + count] != expected)
            if bad.numel():
                first_bad = start + int(bad[0].item())
                break
    return PatternResult(pattern, buffer.numel(), mismatches, first_bad)


def memory_test(buffer: torch.Tensor, *, seed: int = 0, chunk_words: int = CHUNK_WORDS,
                after_write: Callable[[torch.Tensor, str], None] | None = None) -> list[PatternResult]:
    """Write each pattern over the whole int64 buffer, then read it all back and compare.

    after_write(buffer, pattern) runs between the two phases (the tests use it to plant a fault).
    """
    if buffer.dtype != torch.int64 or buffer.dim() != 1:
        raise ValueError("the memory test needs a one-dimensional int64 buffer")
    results = []
    for pattern in PATTERNS:
        _write(buffer, pattern, seed=seed, chunk_words=chunk_words)
        synchronize(buffer.device)
        if after_write is not None:
            after_write(buffer, pattern)
        results.append(_verify(buffer, pattern, seed=seed, chunk_words=chunk_words))
    return results


def memory_test_words(free_bytes: int, fraction: float, *, chunk_words: int = CHUNK_WORDS) -> int:
    """Words to test: `fraction` of the free memory, leaving room for the comparison's temporary chunks."""
    headroom = 3 * chunk_words * WORD
    return max(0, min(int(free_bytes * fraction), free_bytes - headroom) // WORD)


def device_copy_gbps(device: torch.device, *, nbytes: int, policy: TimingPolicy | None = None) -> float:
    """Device-memory bandwidth of a device-to-device copy: bytes read plus bytes written, per second."""
    source = torch.empty(nbytes // 4, dtype=torch.float32, device=device).fill_(1.0)
    target = torch.empty_like(source)
    summary = measure(lambda: target.copy_(source), device=device, policy=policy or TimingPolicy(warmup_calls=3, repeats=7))
    return 2 * source.numel() * 4 / summary.median_s / 1e9


@dataclass(frozen=True)
class CopyRates:
    h2d_gbps: float
    d2h_gbps: float


def host_copy_rates(device: torch.device, *, read_link: Callable[[], Reading], nbytes: int = 256 << 20,
                    busy_s: float = 2.0) -> tuple[CopyRates, Reading]:
    """Pinned host<->device copy rates, and read_link() called while host->device copies keep the link busy
    (an idle GPU lowers its link generation to save power, so the link is read under load)."""
    host = torch.empty(nbytes // 4, dtype=torch.float32).pin_memory()
    target = torch.empty(nbytes // 4, dtype=torch.float32, device=device)
    policy = TimingPolicy(warmup_calls=2, repeats=5, min_block_s=0.05)
    h2d = nbytes / measure(lambda: target.copy_(host, non_blocking=True), device=device, policy=policy).median_s / 1e9
    d2h = nbytes / measure(lambda: host.copy_(target, non_blocking=True), device=device, policy=policy).median_s / 1e9
    copies = max(1, math.ceil(busy_s * h2d * 1e9 / nbytes))
    for _ in range(copies):
        target.copy_(host, non_blocking=True)
    link = read_link()
    synchronize(device)
    return CopyRates(h2d, d2h), link


@dataclass
class _GemmState:
    device: torch.device
    precision: str
    n: int
    a: torch.Tensor
    b: torch.Tensor
    out: torch.Tensor
    reference: torch.Tensor
    limit: float
    iterations: int = 0
    inexact: torch.Tensor | None = None
    beyond: torch.Tensor | None = None
    worst: torch.Tensor | None = None

    def step(self) -> None:
        torch.mm(self.a, self.b, out=self.out)
        difference = (self.out.float() - self.reference.float()).abs()
        inexact = (difference > 0).any().to(torch.int64)
        beyond = (difference > self.limit).sum()
        worst = difference.max()
        self.inexact = inexact if self.inexact is None else self.inexact + inexact
        self.beyond = beyond if self.beyond is None else self.beyond + beyond
        self.worst = worst if self.worst is None else torch.maximum(self.worst, worst)
        self.iterations += 1

    def run(self, seconds: float) -> GemmRun:
        tolerance = MATMUL_TOLERANCE[self.precision]
        return GemmRun(
            device=str(self.device), precision=self.precision, n=self.n, iterations=self.iterations + 1, seconds=seconds,
            inexact_iterations=int(self.inexact.item()) if self.inexact is not None else 0,
            mismatched_elements=int(self.beyond.item()) if self.beyond is not None else 0,
            max_abs_difference=float(self.worst.item()) if self.worst is not None else 0.0, tolerance=tolerance,
            tflops=2.0 * self.n**3 * self.iterations / seconds / 1e12 if seconds > 0 else 0.0,
        )


def _gemm_state(device: torch.device, precision: str, n: int, seed: int) -> _GemmState:
    generator = torch.Generator().manual_seed(seed)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    reference = a @ b  # the first iteration: every later one must give the same
    limit = MATMUL_TOLERANCE[precision] * float(reference.float().abs().max().item())
    return _GemmState(device, precision, n, a, b, torch.empty_like(reference), reference, limit)


def sustained_gemm(devices: list[torch.device], *, seconds: float, sizes: dict[str, int], seed: int = 3,
                   every_s: float = 5.0, sample: Callable[[], None] | None = None) -> list[GemmRun]:
    """For each precision in `sizes` (e.g. {"bf16": 8192, "fp32": 4096}), an equal share of `seconds` of
    back-to-back products on every device at once, each compared with the first on the device.

    sample() is called about every `every_s` seconds while the devices are busy (clock readings)."""
    runs: list[GemmRun] = []
    share = seconds / max(1, len(sizes))
    for precision, n in sizes.items():
        with cuda_matmul_precision("ieee"):  # fp32 products stay IEEE fp32, never quietly TF32
            states = [_gemm_state(device, precision, n, seed) for device in devices]
            for device in devices:
                synchronize(device)
            started = time.perf_counter()
            next_sample = started + every_s
            while time.perf_counter() - started < share:
                for state in states:
                    state.step()
                if sample is not None and time.perf_counter() >= next_sample:
                    sample()
                    next_sample = time.perf_counter() + every_s
            for device in devices:
                synchronize(device)
            elapsed = time.perf_counter() - started
        runs += [state.run(elapsed) for state in states]
    return runs
