"""Smoke level 2 without a GPU: every verdict over readings of healthy and faulty GPUs, and the workloads on the CPU.

The readings in tests/unit/smoke_readings/ are nvidia-smi -q -x outputs (see its README); the
measured figures in the tables are those a GPU in that state gives (a Gen5 x16 H100 copies at
about 50 GB/s pinned, a Gen1 link at under 4).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from in_image.smoke import codes
from in_image.smoke.__main__ import main as smoke_main
from in_image.smoke.health import (
    EccCounts,
    EccReading,
    GemmRun,
    GpuReading,
    PatternResult,
    PcieLink,
    XidEvent,
    clock_events_from_mask,
    clock_throttle_verdict,
    ecc_verdict,
    gemm_verdict,
    hbm_verdict,
    memory_repair_verdict,
    memtest_verdict,
    parse_kernel_log,
    parse_nvidia_smi_xml,
    pcie_theoretical_gbps,
    pcie_verdict,
    same_pci_device,
    xid_verdict,
)
from in_image.smoke.options import DEFAULT_MIN_COPY_GBPS, DEFAULT_MIN_HBM_FRACTION, DEFAULT_MIN_PCIE_FRACTION
from in_image.smoke.probe import HealthProbe
from in_image.smoke.stress import PATTERNS, memory_test, memory_test_words, pattern_chunk, sustained_gemm

READINGS = Path(__file__).parent / "smoke_readings"
LEVEL2_CHECKS = ("ecc_errors", "memory_repair", "pcie_link", "memtest", "hbm_bandwidth", "sustained_gemm",
                 "clock_throttle", "xid_errors")


def reading(name: str) -> GpuReading:
    readings = parse_nvidia_smi_xml((READINGS / name).read_text())
    assert len(readings) == 1, f"{name} holds one GPU"
    return readings[0]


@pytest.mark.parametrize(
    ("name", "gpu", "ecc_ok", "repair_ok", "why"),
    [
        ("h100_healthy.xml", "NVIDIA H100 80GB HBM3", True, True, "lifetime corrected errors only"),
        ("a100_healthy.xml", "NVIDIA A100-SXM4-80GB", True, True, "driver 525 layout"),
        ("a100_remap_pending.xml", "NVIDIA A100-SXM4-80GB", True, False, "remap waits for a reset"),
        ("a100_remap_failure.xml", "NVIDIA A100-SXM4-80GB", True, False, "out of spare rows"),
        ("h100_volatile_dbe.xml", "NVIDIA H100 80GB HBM3", False, False, "two DBEs since the reset, remap pending"),
        ("h100_sram_threshold.xml", "NVIDIA H100 80GB HBM3", False, True, "driver's SRAM replacement flag"),
        ("v100_retirement_pending.xml", "Tesla V100-SXM2-32GB", False, False, "old single/double-bit layout"),
        ("rtx3090_no_ecc.xml", "NVIDIA GeForce RTX 3090", True, True, "GeForce: no ECC, nothing to judge"),
    ],
)
def test_ecc_and_memory_repair_verdicts(name: str, gpu: str, ecc_ok: bool, repair_ok: bool, why: str) -> None:
    found = reading(name)
    assert found.name == gpu and found.source == "nvidia-smi"
    ecc, repair = ecc_verdict(found.ecc), memory_repair_verdict(found.repair)
    assert ecc.passed is ecc_ok, f"{name} ({why}): ECC verdict {ecc.passed}, expected {ecc_ok}: {ecc.message}"
    assert repair.passed is repair_ok, f"{name} ({why}): repair verdict {repair.passed}, expected {repair_ok}: {repair.message}"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("h100_volatile_dbe.xml", ["2 uncorrectable DRAM", "reset the GPU"]),
        ("h100_sram_threshold.xml", ["SRAM error count as over its threshold"]),
        ("v100_retirement_pending.xml", ["1 uncorrectable DRAM"]),
    ],
)
def test_ecc_failures_say_what_and_what_to_do(name: str, words: list[str]) -> None:
    message = ecc_verdict(reading(name).ecc).message
    assert all(word in message for word in words), f"{name}: {message!r} must mention {words}"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("a100_remap_pending.xml", "row remap is pending: reset the GPU"),
        ("a100_remap_failure.xml", "no spare rows left"),
        ("v100_retirement_pending.xml", "page retirement is pending"),
    ],
)
def test_memory_repair_failures_say_what_to_do(name: str, words: str) -> None:
    message = memory_repair_verdict(reading(name).repair).message
    assert words in message, f"{name}: {message!r}"


def test_old_ecc_layout_splits_dram_from_sram() -> None:
    ecc = reading("v100_retirement_pending.xml").ecc
    assert ecc is not None and ecc.volatile == EccCounts(dram_uncorrectable=1, sram_uncorrectable=0, dram_correctable=5,
                                                         sram_correctable=0), ecc


def test_ecc_disabled_passes_with_a_warning() -> None:
    verdict = ecc_verdict(EccReading(enabled=False, volatile=EccCounts(), aggregate=EccCounts()))
    assert verdict.passed and "disabled" in verdict.message, verdict


@pytest.mark.parametrize(
    ("name", "now_ok", "harmful"),
    [
        ("h100_healthy.xml", True, []),
        ("a100_healthy.xml", True, []),  # <clocks_throttle_reasons>, driver 525
        ("h100_thermal_throttle.xml", False, ["hw_slowdown", "hw_thermal_slowdown", "sw_thermal_slowdown"]),
    ],
)
def test_clock_throttle_from_readings(name: str, now_ok: bool, harmful: list[str]) -> None:
    verdict = clock_throttle_verdict(reading(name).clock_events, [])
    assert verdict.passed is now_ok, f"{name}: {verdict.message}"
    for reason in harmful:
        assert reason in verdict.details["seen"], f"{name}: {reason} must be reported: {verdict.details}"


@pytest.mark.parametrize(
    ("now", "under_load", "passed", "why"),
    [
        (frozenset({"gpu_idle"}), [frozenset({"sw_power_cap"})] * 12, True, "power cap at full load is normal"),
        (frozenset(), [frozenset()] * 11 + [frozenset({"hw_thermal_slowdown"})], False, "one hot sample under load"),
        (frozenset({"sw_thermal_slowdown"}), [], False, "cut now"),
        (None, [], True, "nothing readable: nothing to judge"),
    ],
)
def test_clock_throttle_samples_under_load(now: frozenset[str] | None, under_load: list[frozenset[str]], passed: bool,
                                           why: str) -> None:
    verdict = clock_throttle_verdict(now, under_load)
    assert verdict.passed is passed, f"{why}: {verdict.message}"


@pytest.mark.parametrize(
    ("mask", "names"),
    [
        (0x1, {"gpu_idle"}),
        (0x4 | 0x40, {"sw_power_cap", "hw_thermal_slowdown"}),
        (0x8 | 0x20 | 0x80, {"hw_slowdown", "sw_thermal_slowdown", "hw_power_brake_slowdown"}),
        (0, set()),
    ],
)
def test_nvml_clock_event_mask(mask: int, names: set[str]) -> None:
    assert clock_events_from_mask(mask) == names


@pytest.mark.parametrize(
    ("gen", "width", "gbps"),
    [(1, 16, 4.0), (3, 16, 15.75), (4, 16, 31.5), (5, 16, 63.0), (5, 4, 15.75)],
)
def test_pcie_theoretical_rates(gen: int, width: int, gbps: float) -> None:
    assert pcie_theoretical_gbps(gen, width) == pytest.approx(gbps, rel=0.01)


# (reading, host->device and device->host GB/s a card in that state copies at, verdict, what the message says)
@pytest.mark.parametrize(
    ("name", "h2d", "d2h", "passed", "words"),
    [
        ("h100_healthy.xml", 53.0, 51.0, True, "Gen5 x16"),
        ("a100_healthy.xml", 25.0, 24.5, True, "Gen4 x16"),
        ("h100_in_gen4_slot.xml", 25.5, 25.0, True, "Gen4 x16"),  # the slot's best, not the card's, is the bar
        ("h100_gen1.xml", 3.3, 3.2, False, "trained at Gen1 x16"),
        ("h100_x4.xml", 13.1, 12.8, False, "trained at Gen5 x4"),
        ("h100_healthy.xml", 6.3, 6.1, False, "below 31.5 GB/s"),  # a tenth of Gen5 x16 with the link reported fine
    ],
)
def test_pcie_link_and_copy_floor(name: str, h2d: float, d2h: float, passed: bool, words: str) -> None:
    verdict = pcie_verdict(reading(name).pcie, h2d_gbps=h2d, d2h_gbps=d2h, min_fraction=DEFAULT_MIN_PCIE_FRACTION,
                           absolute_floor_gbps=DEFAULT_MIN_COPY_GBPS)
    assert verdict.passed is passed, f"{name} at {h2d}/{d2h} GB/s: {verdict.message}"
    assert words in verdict.message, f"{name}: {verdict.message!r} must say {words!r}"


def test_gen5_at_a_tenth_passed_the_old_fixed_floor() -> None:
    """The level-1 floor (4 GB/s) lets 6 GB/s on a Gen5 x16 link through; the derived floor does not."""
    assert DEFAULT_MIN_COPY_GBPS < 6.3
    link = PcieLink(current_gen=5, max_gen=5, current_width=16, max_width=16)
    assert not pcie_verdict(link, h2d_gbps=6.3, d2h_gbps=6.3, min_fraction=0.5, absolute_floor_gbps=4.0).passed


def test_pcie_unreadable_link_falls_back_to_the_fixed_floor() -> None:
    unknown = PcieLink(current_gen=None, max_gen=None, current_width=None, max_width=None)
    assert pcie_verdict(unknown, h2d_gbps=12.0, d2h_gbps=12.0, min_fraction=0.5, absolute_floor_gbps=4.0).passed
    assert not pcie_verdict(None, h2d_gbps=1.0, d2h_gbps=12.0, min_fraction=0.5, absolute_floor_gbps=4.0).passed


@pytest.mark.parametrize(
    ("log", "bus", "passed", "words"),
    [
        ("kernel_xid79.log", "00000000:18:00.0", False, "Xid 79: GPU has fallen off the bus"),
        ("kernel_xid79.log", "00000000:3B:00.0", True, "no hardware Xid"),  # another GPU's Xid
        ("kernel_xid_application.log", "00000000:18:00.0", True, "Xid 13"),  # the program's faults: listed, not failed
        ("kernel_xid_application.log", "00000000:3B:00.0", False, "Xid 48: double-bit ECC error"),
    ],
)
def test_xid_verdicts_from_kernel_logs(log: str, bus: str, passed: bool, words: str) -> None:
    events = parse_kernel_log((READINGS / log).read_text())
    verdict = xid_verdict(events, pci_bus_id=bus, sources=["kernel log (dmesg)"])
    assert verdict.passed is passed, f"{log} for {bus}: {verdict.message}"
    assert words in verdict.message, f"{log} for {bus}: {verdict.message!r} must say {words!r}"


def test_xid_from_nvml_events_during_the_run() -> None:
    event = XidEvent(95, "00000000:18:00.0", "reported by NVML during the run", "nvml")
    verdict = xid_verdict([event], pci_bus_id="00000000:18:00.0", sources=["NVML events during the run"])
    assert not verdict.passed and "uncontained ECC error" in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("kernel", "nvml", "same"),
    [
        ("0000:18:00", "00000000:18:00.0", True),
        ("0000:3b:00", "00000000:3B:00.0", True),
        ("0000:18:00", "00000000:19:00.0", False),
        ("garbage", "00000000:18:00.0", False),
    ],
)
def test_pci_addresses_match_across_spellings(kernel: str, nvml: str, same: bool) -> None:
    assert same_pci_device(kernel, nvml) is same


@pytest.mark.parametrize(
    ("measured", "label", "datasheet", "passed"),
    [
        (4300.0, "H200 SXM", 4800.0, True),  # a device-to-device copy counting bytes read and written
        (2600.0, "H100 SXM", 3352.0, True),
        (1400.0, "H100 SXM", 3352.0, False),  # 42 %: memory clocks down
        (900.0, "unknown GPU", None, True),  # no datasheet figure: reported, no floor
    ],
)
def test_hbm_floor(measured: float, label: str, datasheet: float | None, passed: bool) -> None:
    verdict = hbm_verdict(measured, datasheet_gbps=datasheet, label=label, min_fraction=DEFAULT_MIN_HBM_FRACTION)
    assert verdict.passed is passed, verdict.message


def _gemm(**changes: object) -> GemmRun:
    base = {"device": "cuda:0", "precision": "bf16", "n": 8192, "iterations": 20_000, "seconds": 30.0,
            "inexact_iterations": 0, "mismatched_elements": 0, "max_abs_difference": 0.0, "tolerance": 1.5e-2, "tflops": 700.0}
    return GemmRun(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("runs", "passed", "words"),
    [
        ([_gemm(), _gemm(precision="fp32", n=4096, tolerance=1e-5, tflops=50.0)], True, "bit-identical"),
        ([_gemm(inexact_iterations=3, max_abs_difference=0.01)], True, "not bit-identical but within"),
        ([_gemm(mismatched_elements=17, max_abs_difference=3.5e4)], False, "17 element(s)"),
        ([_gemm(iterations=1)], False, "repeated products differ"),
        ([], False, "no GEMM iteration ran"),
    ],
)
def test_gemm_verdict(runs: list[GemmRun], passed: bool, words: str) -> None:
    verdict = gemm_verdict(runs)
    assert verdict.passed is passed and words in verdict.message, verdict.message


@pytest.mark.parametrize(
    ("results", "passed"),
    [
        ([PatternResult(p, 1 << 20, 0) for p in PATTERNS], True),
        ([PatternResult("zeros", 1 << 20, 0), PatternResult("walking_ones", 1 << 20, 3, 4097)], False),
    ],
)
def test_memtest_verdict(results: list[PatternResult], passed: bool) -> None:
    verdict = memtest_verdict(results, tested_bytes=8 << 20, free_bytes=9 << 20)
    assert verdict.passed is passed, verdict.message
    if not passed:
        assert "first at byte 0x8008" in verdict.message, verdict.message


# --- the workloads themselves, on the CPU -----------------------------------------------------------

@pytest.mark.parametrize("pattern", PATTERNS)
def test_memory_test_finds_a_flipped_bit_in_every_pattern(pattern: str) -> None:
    buffer = torch.empty(10_000, dtype=torch.int64)

    def flip(written: torch.Tensor, current: str) -> None:
        if current == pattern:
            written[7_777] ^= 1 << 17

    results = {r.pattern: r for r in memory_test(buffer, chunk_words=3_000, after_write=flip)}
    assert results[pattern].mismatches == 1 and results[pattern].first_bad_word == 7_777, results[pattern]
    assert all(r.mismatches == 0 for name, r in results.items() if name != pattern), "only the faulty pattern fails"


def test_patterns_differ_and_repeat() -> None:
    device = torch.device("cpu")
    chunks = {p: pattern_chunk(p, 4096, 512, device=device, seed=5) for p in PATTERNS}
    assert all(torch.equal(chunks[p], pattern_chunk(p, 4096, 512, device=device, seed=5)) for p in PATTERNS), "reproducible"
    assert len({tuple(c[:8].tolist()) for c in chunks.values()}) == len(PATTERNS), "every pattern writes other bits"
    address = pattern_chunk("address", 0, 1 << 16, device=device, seed=0)
    assert address.unique().numel() == address.numel(), "the address pattern gives every word its own value"


@pytest.mark.parametrize(("free", "fraction", "tested_gib"), [(140 << 30, 0.9, 126.0), (8 << 30, 0.9, 6.5), (1 << 30, 0.9, 0.0)])
def test_memory_test_size_leaves_room(free: int, fraction: float, tested_gib: float) -> None:
    assert memory_test_words(free, fraction) * 8 / 2**30 == pytest.approx(tested_gib, abs=0.01)


def test_sustained_gemm_on_the_cpu_is_repeatable() -> None:
    runs = sustained_gemm([torch.device("cpu")], seconds=0.4, sizes={"bf16": 48, "fp32": 48}, every_s=0.1,
                          sample=lambda: None)
    verdict = gemm_verdict(runs)
    assert verdict.passed and [r.precision for r in runs] == ["bf16", "fp32"], verdict.message
    assert all(r.iterations > 2 and r.mismatched_elements == 0 for r in runs), runs


def test_probe_reads_nvidia_smi_when_nvml_is_absent() -> None:
    """Without nvidia-ml-py the probe parses nvidia-smi -q -x: the first reading is kept (the state before the
    loads), each sample under load is a new one."""
    answers = [(READINGS / name).read_text() for name in ("h100_healthy.xml", "h100_thermal_throttle.xml")]
    probe = HealthProbe(nvml=None, xml_reader=lambda: answers.pop(0) if len(answers) > 1 else answers[0])
    uuid = "5c1d0e3a-8f6b-4b7e-9a41-2d7c3f0e91b2"
    assert list(probe.readings()) == [uuid], "keyed by UUID without the GPU- prefix"
    probe.sample_clock_events()
    assert probe.readings()[uuid].clock_events == {"gpu_idle"}, "the first reading stays the one before the loads"
    assert probe.load_samples[uuid] == [frozenset({"sw_power_cap", "hw_slowdown", "hw_thermal_slowdown",
                                                   "sw_thermal_slowdown"})], "a sample under load is read anew"
    assert not clock_throttle_verdict(probe.readings()[uuid].clock_events, probe.load_samples[uuid]).passed
    assert probe.source == "nvidia-smi -q -x"


def test_level2_without_gpu_lists_every_check_skipped(tmp_path: Path) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: tests/gpu/test_smoke.py runs level 2 for real")
    code = smoke_main(["--reports", str(tmp_path), "--level", "2", "--gemm-seconds", "1"])
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert code == codes.NO_GPU, f"no GPU must exit {codes.NO_GPU}, got {code}"
    outcomes = {case["name"].split("[")[0]: case for case in report["cases"]}
    for name in LEVEL2_CHECKS:
        assert name in outcomes, f"level 2 must list {name}: {sorted(outcomes)}"
        assert outcomes[name]["outcome"] == "skipped" and outcomes[name]["message"].startswith("no GPU: "), outcomes[name]
    assert report["options"]["level"] == 2


def test_level1_stays_without_level2_checks(tmp_path: Path) -> None:
    smoke_main(["--reports", str(tmp_path)])
    names = {case["name"].split("[")[0] for case in json.loads((tmp_path / "smoke.json").read_text())["cases"]}
    assert not names & set(LEVEL2_CHECKS), f"level 1 (the default) must not run level 2's checks: {names & set(LEVEL2_CHECKS)}"
