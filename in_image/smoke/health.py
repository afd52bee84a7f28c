"""The GPU's own health records (level 2), as pure functions over recorded readings.

A reading is what NVML (nvidia-ml-py) or `nvidia-smi -q -x` reports for one GPU: ECC error
counters, row remapping and retired pages, the clock-event ("throttle") reasons and the PCIe
link. Xid errors come from the kernel log and from NVML's event queue. Each verdict function
takes readings and returns a CheckOutcome; nothing here touches a GPU, so every rule is unit-tested
with readings of real GPUs. Stdlib only: the host may import this module.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CheckOutcome:
    passed: bool
    message: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class EccCounts:
    """Uncorrectable and correctable error counts; None where the GPU or driver does not report one."""

    dram_uncorrectable: int | None = None
    sram_uncorrectable: int | None = None
    dram_correctable: int | None = None
    sram_correctable: int | None = None

    @property
    def uncorrectable(self) -> int:
        return (self.dram_uncorrectable or 0) + (self.sram_uncorrectable or 0)


@dataclass(frozen=True)
class EccReading:
    enabled: bool | None  # None: the GPU has no ECC (GeForce) or the driver does not say
    volatile: EccCounts  # since the driver last loaded or the GPU was reset
    aggregate: EccCounts  # over the GPU's lifetime (InfoROM)
    sram_threshold_exceeded: bool | None = None  # the driver's own "replace this GPU" flag for SRAM errors


@dataclass(frozen=True)
class MemoryRepair:
    """Row remapping (Ampere and later) and page retirement (Volta, Turing)."""

    remapped_correctable: int | None = None
    remapped_uncorrectable: int | None = None
    remap_pending: bool | None = None  # a remap waits for a GPU reset
    remap_failure: bool | None = None  # a row could not be remapped: the memory is out of spare rows
    retired_single_bit: int | None = None
    retired_double_bit: int | None = None
    retirement_pending: bool | None = None


@dataclass(frozen=True)
class PcieLink:
    current_gen: int | None
    max_gen: int | None  # the best both the GPU and its slot support
    current_width: int | None
    max_width: int | None
    device_max_gen: int | None = None  # the GPU's own best, whatever the slot


@dataclass(frozen=True)
class GpuReading:
    uuid: str
    name: str
    pci_bus_id: str
    source: str  # "nvml" or "nvidia-smi"
    ecc: EccReading | None = None
    repair: MemoryRepair | None = None
    clock_events: frozenset[str] | None = None  # active clock-event reasons by short name
    pcie: PcieLink | None = None


# --- clock-event ("throttle") reasons -------------------------------------------------------------

# NVML's nvmlClocksEventReason* bits (nvmlClocksThrottleReason* before driver 535), by short name.
CLOCK_EVENT_BITS = {
    "gpu_idle": 0x1,
    "applications_clocks_setting": 0x2,
    "sw_power_cap": 0x4,
    "hw_slowdown": 0x8,
    "sync_boost": 0x10,
    "sw_thermal_slowdown": 0x20,
    "hw_thermal_slowdown": 0x40,
    "hw_power_brake_slowdown": 0x80,
    "display_clocks_setting": 0x100,
}
# Reasons that mean the hardware is protecting itself (too hot, power brake asserted by the board):
# the GPU runs slower than it should. The others are normal (idle, power cap under full load, set clocks).
HARMFUL_CLOCK_EVENTS = {
    "hw_slowdown": "hardware slowdown (temperature or power brake signalled by the board)",
    "hw_thermal_slowdown": "hardware thermal slowdown (the GPU is too hot)",
    "hw_power_brake_slowdown": "power brake slowdown (the power supply or board asserted it)",
    "sw_thermal_slowdown": "software thermal slowdown (the driver cut the clocks to cool the GPU)",
}


def clock_events_from_mask(mask: int) -> frozenset[str]:
    """Short names of the reasons set in an NVML clock-event bitmask."""
    return frozenset(name for name, bit in CLOCK_EVENT_BITS.items() if mask & bit)


def clock_throttle_verdict(now: frozenset[str] | None, under_load: list[frozenset[str]]) -> CheckOutcome:
    """Fails when a harmful reason is active now or was active in any sample taken under load."""
    if now is None and not under_load:
        return CheckOutcome(True, "the driver reports no clock-event reasons for this GPU", {"readable": False})
    seen: dict[str, int] = {}
    for sample in [*([now] if now is not None else []), *under_load]:
        for reason in sample:
            seen[reason] = seen.get(reason, 0) + 1
    details: dict[str, Any] = {
        "now": sorted(now) if now is not None else None,
        "samples_under_load": len(under_load),
        "seen": dict(sorted(seen.items())),
    }
    harmful = [reason for reason in HARMFUL_CLOCK_EVENTS if reason in seen]
    if harmful:
        what = "; ".join(f"{HARMFUL_CLOCK_EVENTS[r]} in {seen[r]} of {len(under_load) + (now is not None)} readings"
                         for r in harmful)
        return CheckOutcome(False, f"clocks cut by the hardware: {what} (check cooling, airflow and power)", details)
    benign = ", ".join(sorted(seen)) or "none"
    return CheckOutcome(True, f"no thermal or hardware slowdown (active reasons seen: {benign})", details)


# --- ECC, row remapping, retired pages ------------------------------------------------------------

def ecc_verdict(ecc: EccReading | None) -> CheckOutcome:
    """Fails on uncorrectable errors since the last reset, and on the driver's SRAM replacement flag.

    Lifetime (aggregate) uncorrectable DRAM errors alone do not fail: row remapping or page retirement
    repairs them, and memory_repair judges whether that worked.
    """
    if ecc is None or ecc.enabled is None:
        return CheckOutcome(True, "no ECC memory on this GPU (or the driver does not report it): nothing to check",
                       {"ecc": None if ecc is None else asdict(ecc)})
    details = asdict(ecc)
    if not ecc.enabled:
        return CheckOutcome(True, "ECC is disabled on this GPU: memory errors go undetected (nvidia-smi -e 1 and a reset "
                             "enable it)", details)
    problems = []
    if ecc.volatile.dram_uncorrectable:
        problems.append(f"{ecc.volatile.dram_uncorrectable} uncorrectable DRAM (HBM/GDDR) error(s) since the last reset")
    if ecc.volatile.sram_uncorrectable:
        problems.append(f"{ecc.volatile.sram_uncorrectable} uncorrectable SRAM (on-chip) error(s) since the last reset")
    if ecc.sram_threshold_exceeded:
        problems.append("the driver flags the SRAM error count as over its threshold (replace the GPU)")
    if problems:
        return CheckOutcome(False, "; ".join(problems) + ": drain the node and reset the GPU", details)
    lifetime = ecc.aggregate.uncorrectable
    note = f"; {lifetime} uncorrectable over its lifetime (repaired: see memory_repair)" if lifetime else ""
    corrected = (ecc.volatile.dram_correctable or 0) + (ecc.volatile.sram_correctable or 0)
    return CheckOutcome(True, f"no uncorrectable ECC errors since the last reset ({corrected} corrected){note}", details)


def memory_repair_verdict(repair: MemoryRepair | None) -> CheckOutcome:
    """Fails while a row remap or page retirement waits for a reset, and when remapping has failed."""
    if repair is None:
        return CheckOutcome(True, "the driver reports neither row remapping nor page retirement for this GPU", {})
    details = asdict(repair)
    if repair.remap_failure:
        return CheckOutcome(False, "row remapping failed: the memory has no spare rows left (replace the GPU)", details)
    if repair.remap_pending:
        return CheckOutcome(False, "a row remap is pending: reset the GPU (nvidia-smi -r) or reboot to apply it", details)
    if repair.retirement_pending:
        return CheckOutcome(False, "a page retirement is pending: reset the GPU (nvidia-smi -r) or reboot to apply it", details)
    remapped = (repair.remapped_correctable or 0) + (repair.remapped_uncorrectable or 0)
    retired = (repair.retired_single_bit or 0) + (repair.retired_double_bit or 0)
    if repair.remap_pending is not None:
        return CheckOutcome(True, f"no row remap pending ({remapped} row(s) remapped over the GPU's life)", details)
    return CheckOutcome(True, f"no page retirement pending ({retired} page(s) retired over the GPU's life)", details)


# --- PCIe link ------------------------------------------------------------------------------------

# Usable bytes per second per lane and direction, after line encoding (8b/10b to Gen 2, 128b/130b
# Gen 3-5, FLIT at Gen 6): GT/s x encoding efficiency / 8 bits.
PCIE_LANE_GBPS = {1: 0.25, 2: 0.5, 3: 8 * 128 / 130 / 8, 4: 16 * 128 / 130 / 8, 5: 32 * 128 / 130 / 8, 6: 64 * 242 / 256 / 8}


def pcie_theoretical_gbps(gen: int, width: int) -> float:
    """One direction's theoretical rate of a PCIe link in GB/s (Gen 4 x16: 31.5 GB/s)."""
    return PCIE_LANE_GBPS[gen] * width


def pcie_verdict(link: PcieLink | None, *, h2d_gbps: float, d2h_gbps: float, min_fraction: float,
                 absolute_floor_gbps: float) -> CheckOutcome:
    """The link must run at its best generation and width while copying, and the copies must reach
    min_fraction of that best link's theoretical rate (pinned copies reach 75-90 % on a healthy link)."""
    details: dict[str, Any] = {"h2d_gbps": h2d_gbps, "d2h_gbps": d2h_gbps, "link": None if link is None else asdict(link)}
    slowest = min(h2d_gbps, d2h_gbps)
    known = link is not None and None not in (link.current_gen, link.max_gen, link.current_width, link.max_width)
    if not known or link is None:
        floor = absolute_floor_gbps
        details["floor_gbps"] = floor
        if slowest < floor:
            return CheckOutcome(False, f"copies {h2d_gbps:.1f} GB/s host->device, {d2h_gbps:.1f} GB/s device->host: below the "
                                  f"{floor:g} GB/s floor (link generation and width unreadable)", details)
        return CheckOutcome(True, f"link unreadable; copies {h2d_gbps:.1f}/{d2h_gbps:.1f} GB/s above the {floor:g} GB/s floor",
                       details)
    assert link.current_gen and link.max_gen and link.current_width and link.max_width  # narrowed by `known`
    best = pcie_theoretical_gbps(link.max_gen, link.max_width)
    floor = max(absolute_floor_gbps, min_fraction * best)
    details |= {"theoretical_gbps": best, "floor_gbps": floor, "min_fraction": min_fraction}
    trained = f"Gen{link.current_gen} x{link.current_width} (capable of Gen{link.max_gen} x{link.max_width})"
    problems = []
    if link.current_gen < link.max_gen or link.current_width < link.max_width:
        problems.append(f"the link trained at {trained} while copying")
    if slowest < floor:
        problems.append(f"copies reach {h2d_gbps:.1f} GB/s host->device and {d2h_gbps:.1f} GB/s device->host, below "
                        f"{floor:.1f} GB/s ({min_fraction:.0%} of Gen{link.max_gen} x{link.max_width}'s {best:.1f} GB/s)")
    if problems:
        return CheckOutcome(False, "; ".join(problems) + " (reseat the card, check the slot, riser and BIOS link settings)",
                       details)
    return CheckOutcome(True, f"Gen{link.current_gen} x{link.current_width}; copies {h2d_gbps:.1f}/{d2h_gbps:.1f} GB/s "
                         f"(floor {floor:.1f}, {min_fraction:.0%} of {best:.1f} GB/s)", details)


# --- Xid errors -----------------------------------------------------------------------------------

# Xids that mean the GPU or its memory, link or firmware is at fault (drain the node, reset or replace),
# as NVIDIA's Xid catalogue describes them. Others are mostly a program's own fault (13, 31, 43, 45).
HARDWARE_XIDS = {
    48: "double-bit ECC error",
    61: "internal micro-controller breakpoint/warning",
    62: "internal micro-controller halt",
    63: "ECC page retirement or row remap recorded (reset pending)",
    64: "ECC page retirement or row remap failure",
    74: "NVLink error",
    79: "GPU has fallen off the bus",
    92: "high single-bit ECC error rate",
    94: "contained ECC error",
    95: "uncontained ECC error",
    119: "GSP RPC timeout",
    120: "GSP error",
    121: "C2C link error",
    140: "unrecovered ECC error",
    154: "GPU recovery action changed (reset or reboot required)",
}
APPLICATION_XIDS = {
    13: "graphics engine exception (usually the program: out-of-range access)",
    31: "GPU memory page fault (usually the program: illegal address)",
    43: "GPU stopped processing (a program's fault)",
    45: "preemptive cleanup after an earlier error",
}


@dataclass(frozen=True)
class XidEvent:
    xid: int
    pci_bus_id: str  # as the kernel prints it: 0000:3b:00
    text: str
    source: str  # "kernel log" or "nvml"


_XID_LINE = re.compile(r"NVRM: Xid \(PCI:(?P<bus>[0-9A-Fa-f:.]+)\): (?P<xid>\d+),(?P<rest>.*)$")


def parse_kernel_log(text: str) -> list[XidEvent]:
    """The `NVRM: Xid (PCI:0000:3b:00): 79, ...` lines of a kernel log (dmesg, journalctl -k, /dev/kmsg)."""
    events = []
    for line in text.splitlines():
        match = _XID_LINE.search(line)
        if match:
            events.append(XidEvent(int(match["xid"]), match["bus"].lower(), match["rest"].strip(), "kernel log"))
    return events


def _bus_parts(bus: str) -> tuple[int, ...]:
    """(domain, bus, device) of a PCI address in any of the spellings the kernel and NVML use."""
    try:
        return tuple(int(part, 16) for part in re.split(r"[:.]", bus.strip().lower()) if part)[:3]
    except ValueError:
        return ()


def same_pci_device(first: str, second: str) -> bool:
    """The kernel's 0000:3b:00 and NVML's 00000000:3B:00.0 name the same device."""
    a, b = _bus_parts(first), _bus_parts(second)
    return len(a) == 3 and a == b


def xid_verdict(events: list[XidEvent], *, pci_bus_id: str, sources: list[str]) -> CheckOutcome:
    """Fails on any hardware Xid for this GPU; programs' own Xids are listed, not failed."""
    mine = [e for e in events if same_pci_device(e.pci_bus_id, pci_bus_id)]
    details: dict[str, Any] = {"sources": sources, "events": [asdict(e) for e in mine]}
    if not sources:
        return CheckOutcome(True, "no Xid source readable (kernel log denied, NVML events unavailable): not checked", details)
    hardware = [e for e in mine if e.xid in HARDWARE_XIDS]
    if hardware:
        kinds = sorted({e.xid for e in hardware})
        what = "; ".join(f"Xid {x}: {HARDWARE_XIDS[x]}" for x in kinds)
        return CheckOutcome(False, f"{what} ({len(hardware)} event(s) in the {' and '.join(sources)}): drain the node, "
                              "reset or replace the GPU", details)
    others = sorted({e.xid for e in mine})
    note = ", ".join(f"Xid {x} ({APPLICATION_XIDS.get(x, 'not a hardware fault by itself')})" for x in others)
    return CheckOutcome(True, f"no hardware Xid in the {' and '.join(sources)}" + (f"; seen: {note}" if note else ""), details)


# --- measured figures -----------------------------------------------------------------------------

def hbm_verdict(measured_gbps: float, *, datasheet_gbps: float | None, label: str, min_fraction: float) -> CheckOutcome:
    """Device-memory bandwidth (bytes read + written per second) against the datasheet figure."""
    details: dict[str, Any] = {"measured_gbps": measured_gbps, "datasheet_gbps": datasheet_gbps, "min_fraction": min_fraction}
    if not datasheet_gbps:
        return CheckOutcome(True, f"{measured_gbps:,.0f} GB/s; no datasheet figure for {label}: no floor", details)
    fraction = measured_gbps / datasheet_gbps
    details["fraction"] = fraction
    text = f"{measured_gbps:,.0f} GB/s = {fraction:.0%} of {label}'s {datasheet_gbps:,.0f} GB/s"
    if fraction < min_fraction:
        return CheckOutcome(False, f"{text}, below the {min_fraction:.0%} floor (memory clocks down, or HBM degraded)", details)
    return CheckOutcome(True, f"{text} (floor {min_fraction:.0%})", details)


@dataclass(frozen=True)
class PatternResult:
    pattern: str
    words: int
    mismatches: int
    first_bad_word: int | None = None


def memtest_verdict(results: list[PatternResult], *, tested_bytes: int, free_bytes: int) -> CheckOutcome:
    details: dict[str, Any] = {"tested_gib": tested_bytes / 2**30, "free_gib": free_bytes / 2**30,
                               "patterns": [asdict(r) for r in results]}
    bad = [r for r in results if r.mismatches]
    if bad:
        what = "; ".join(f"{r.pattern}: {r.mismatches} word(s) differ, first at byte {(r.first_bad_word or 0) * 8:#x}"
                         for r in bad)
        return CheckOutcome(False, f"device memory returned other data than written: {what}", details)
    names = ", ".join(r.pattern for r in results)
    return CheckOutcome(True, f"{tested_bytes / 2**30:.1f} GiB of {free_bytes / 2**30:.1f} GiB free, {len(results)} patterns "
                         f"({names}): every word read back as written", details)


@dataclass(frozen=True)
class GemmRun:
    """One device's sustained GEMM: iterations compared element by element with the first one."""

    device: str
    precision: str
    n: int
    iterations: int
    seconds: float
    inexact_iterations: int  # iterations not bit-identical to the first
    mismatched_elements: int  # elements off by more than the tolerance, over all iterations
    max_abs_difference: float
    tolerance: float
    tflops: float


def gemm_verdict(runs: list[GemmRun]) -> CheckOutcome:
    """Same inputs must give the same product every time: any element beyond the tolerance fails."""
    details: dict[str, Any] = {"runs": [asdict(r) for r in runs]}
    if not runs:
        return CheckOutcome(False, "no GEMM iteration ran", details)
    bad = [r for r in runs if r.mismatched_elements or r.iterations < 2]
    if bad:
        what = "; ".join(f"{r.device} {r.precision}: {r.mismatched_elements} element(s) beyond {r.tolerance:g} in "
                         f"{r.iterations} iterations (max difference {r.max_abs_difference:g})" for r in bad)
        return CheckOutcome(False, f"repeated products differ: {what} (silent data corruption: drain the node)", details)
    parts = [f"{r.device} {r.precision} n={r.n}: {r.iterations} iterations, {r.tflops:,.0f} TFLOP/s with the comparisons"
             + (f", {r.inexact_iterations} not bit-identical but within {r.tolerance:g}" if r.inexact_iterations else
                ", bit-identical") for r in runs]
    return CheckOutcome(True, "; ".join(parts), details)


# --- nvidia-smi -q -x -----------------------------------------------------------------------------

def _text(node: ET.Element | None, path: str) -> str | None:
    if node is None:
        return None
    found = node.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return None if value in {"", "N/A", "[N/A]", "Unknown Error", "[Unknown Error]", "Not Supported"} else value


def _int(node: ET.Element | None, path: str) -> int | None:
    value = _text(node, path)
    if value is None:
        return None
    match = re.match(r"^(\d+)", value)
    return int(match.group(1)) if match else None


def _yes(node: ET.Element | None, path: str) -> bool | None:
    value = _text(node, path)
    return None if value is None else value.lower() in {"yes", "enabled", "active", "true"}


def _sum(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _ecc_counts(node: ET.Element | None) -> EccCounts:
    """Driver 510+ (sram_*/dram_*, SRAM split into parity/SEC-DED from 550) or older (single_bit/double_bit)."""
    if node is None:
        return EccCounts()
    if node.find("double_bit") is not None:  # Volta/Turing drivers before 510
        dram_unc = _int(node, "double_bit/device_memory")
        total_unc = _int(node, "double_bit/total")
        dram_cor = _int(node, "single_bit/device_memory")
        total_cor = _int(node, "single_bit/total")
        return EccCounts(
            dram_uncorrectable=dram_unc,
            sram_uncorrectable=None if total_unc is None else total_unc - (dram_unc or 0),
            dram_correctable=dram_cor,
            sram_correctable=None if total_cor is None else total_cor - (dram_cor or 0),
        )
    return EccCounts(
        dram_uncorrectable=_int(node, "dram_uncorrectable"),
        sram_uncorrectable=_sum(_int(node, "sram_uncorrectable"), _int(node, "sram_uncorrectable_parity"),
                                _int(node, "sram_uncorrectable_secded")),
        dram_correctable=_int(node, "dram_correctable"),
        sram_correctable=_int(node, "sram_correctable"),
    )


def _ecc(gpu: ET.Element) -> EccReading | None:
    mode = _text(gpu, "ecc_mode/current_ecc")
    errors = gpu.find("ecc_errors")
    if mode is None and errors is None:
        return None
    return EccReading(
        enabled=None if mode is None else mode.lower() == "enabled",
        volatile=_ecc_counts(None if errors is None else errors.find("volatile")),
        aggregate=_ecc_counts(None if errors is None else errors.find("aggregate")),
        sram_threshold_exceeded=_yes(errors, "aggregate/sram_threshold_exceeded"),
    )


def _repair(gpu: ET.Element) -> MemoryRepair | None:
    rows, pages = gpu.find("remapped_rows"), gpu.find("retired_pages")
    repair = MemoryRepair(
        remapped_correctable=_int(rows, "remapped_row_corr"),
        remapped_uncorrectable=_int(rows, "remapped_row_unc"),
        remap_pending=_yes(rows, "remapped_row_pending"),
        remap_failure=_yes(rows, "remapped_row_failure"),
        retired_single_bit=_int(pages, "multiple_single_bit_retirement/retired_count"),
        retired_double_bit=_int(pages, "double_bit_retirement/retired_count"),
        retirement_pending=_yes(pages, "pending_retirement") or _yes(pages, "pending_blacklist"),
    )
    return None if repair == MemoryRepair() else repair


def _clock_events(gpu: ET.Element) -> frozenset[str] | None:
    """<clocks_event_reasons> (driver 535+) or <clocks_throttle_reasons> (older)."""
    for section in ("clocks_event_reasons", "clocks_throttle_reasons"):
        prefix = section.removesuffix("s") + "_"
        node = gpu.find(section)
        if node is not None:
            return frozenset(child.tag.removeprefix(prefix) for child in node
                             if (child.text or "").strip().lower() == "active")
    return None


def _pcie(gpu: ET.Element) -> PcieLink | None:
    link = gpu.find("pci/pci_gpu_link_info")
    if link is None:
        return None
    return PcieLink(
        current_gen=_int(link, "pcie_gen/current_link_gen"),
        max_gen=_int(link, "pcie_gen/max_link_gen"),
        current_width=_int(link, "link_widths/current_link_width"),
        max_width=_int(link, "link_widths/max_link_width"),
        device_max_gen=_int(link, "pcie_gen/max_device_link_gen"),
    )


def parse_nvidia_smi_xml(text: str) -> list[GpuReading]:
    """Every <gpu> of `nvidia-smi -q -x`, drivers 450 to 580."""
    root = ET.fromstring(text)
    readings = []
    for gpu in root.findall("gpu"):
        readings.append(
            GpuReading(
                uuid=_text(gpu, "uuid") or "",
                name=_text(gpu, "product_name") or "unknown",
                pci_bus_id=_text(gpu, "pci/pci_bus_id") or gpu.get("id") or "",
                source="nvidia-smi",
                ecc=_ecc(gpu),
                repair=_repair(gpu),
                clock_events=_clock_events(gpu),
                pcie=_pcie(gpu),
            )
        )
    return readings


def normal_uuid(uuid: str) -> str:
    """NVML's 'GPU-1a2b...' and torch's '1a2b...' compared alike."""
    return uuid.lower().removeprefix("gpu-")
