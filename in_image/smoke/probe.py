"""Take the GPUs' health readings: NVML (nvidia-ml-py, `import pynvml`) when importable, else `nvidia-smi -q -x`.

The thin, untestable-without-a-GPU part of the level-2 checks: it only reads and converts into the
dataclasses of in_image.smoke.health, whose verdicts are unit-tested. Also reads Xid errors from the
kernel log and, through NVML, watches for new ones while the checks run. Stdlib only (NVML optional).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Callable
from typing import Any

from in_image.smoke.health import (
    EccCounts,
    EccReading,
    GpuReading,
    MemoryRepair,
    PcieLink,
    XidEvent,
    clock_events_from_mask,
    normal_uuid,
    parse_kernel_log,
    parse_nvidia_smi_xml,
)

log = logging.getLogger(__name__)

# NVML constants (nvml.h), spelled out so this module does not depend on pynvml's names at import.
_CORRECTED, _UNCORRECTED = 0, 1
_VOLATILE, _AGGREGATE = 0, 1
_LOCATION_DRAM = 2
_FEATURE_ENABLED = 1
_RETIRED_SINGLE_BIT, _RETIRED_DOUBLE_BIT = 0, 1
_EVENT_XID_CRITICAL = 0x8


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Nvml:
    """The calls this module makes, each returning None where the GPU or driver does not support it."""

    def __init__(self, module: Any) -> None:
        self.nvml = module
        module.nvmlInit()

    def call(self, name: str, *args: Any) -> Any:
        function = getattr(self.nvml, name, None)
        if function is None:
            return None
        try:
            return function(*args)
        except self.nvml.NVMLError:
            return None

    def handles(self) -> list[Any]:
        count = self.call("nvmlDeviceGetCount") or 0
        return [h for i in range(count) if (h := self.call("nvmlDeviceGetHandleByIndex", i)) is not None]

    def _counts(self, handle: Any, counter: int) -> EccCounts:
        def errors(kind: int) -> tuple[int | None, int | None]:
            dram = self.call("nvmlDeviceGetMemoryErrorCounter", handle, kind, counter, _LOCATION_DRAM)
            total = self.call("nvmlDeviceGetTotalEccErrors", handle, kind, counter)
            return dram, (None if total is None else total - (dram or 0))

        dram_unc, sram_unc = errors(_UNCORRECTED)
        dram_cor, sram_cor = errors(_CORRECTED)
        return EccCounts(dram_uncorrectable=dram_unc, sram_uncorrectable=sram_unc, dram_correctable=dram_cor,
                         sram_correctable=sram_cor)

    def _ecc(self, handle: Any) -> EccReading | None:
        mode = self.call("nvmlDeviceGetEccMode", handle)
        if mode is None:
            return None
        return EccReading(enabled=mode[0] == _FEATURE_ENABLED, volatile=self._counts(handle, _VOLATILE),
                          aggregate=self._counts(handle, _AGGREGATE))

    def _repair(self, handle: Any) -> MemoryRepair | None:
        rows = self.call("nvmlDeviceGetRemappedRows", handle)
        single = self.call("nvmlDeviceGetRetiredPages", handle, _RETIRED_SINGLE_BIT)
        double = self.call("nvmlDeviceGetRetiredPages", handle, _RETIRED_DOUBLE_BIT)
        pending = self.call("nvmlDeviceGetRetiredPagesPendingStatus", handle)
        if rows is None and single is None and pending is None:
            return None
        return MemoryRepair(
            remapped_correctable=None if rows is None else int(rows[0]),
            remapped_uncorrectable=None if rows is None else int(rows[1]),
            remap_pending=None if rows is None else bool(rows[2]),
            remap_failure=None if rows is None else bool(rows[3]),
            retired_single_bit=None if single is None else len(single),
            retired_double_bit=None if double is None else len(double),
            retirement_pending=None if pending is None else pending == _FEATURE_ENABLED,
        )

    def _clock_events(self, handle: Any) -> frozenset[str] | None:
        mask = self.call("nvmlDeviceGetCurrentClocksEventReasons", handle)
        if mask is None:
            mask = self.call("nvmlDeviceGetCurrentClocksThrottleReasons", handle)
        return None if mask is None else clock_events_from_mask(int(mask))

    def _pcie(self, handle: Any) -> PcieLink:
        return PcieLink(
            current_gen=self.call("nvmlDeviceGetCurrPcieLinkGeneration", handle),
            max_gen=self.call("nvmlDeviceGetMaxPcieLinkGeneration", handle),
            current_width=self.call("nvmlDeviceGetCurrPcieLinkWidth", handle),
            max_width=self.call("nvmlDeviceGetMaxPcieLinkWidth", handle),
            device_max_gen=self.call("nvmlDeviceGetGpuMaxPcieLinkGeneration", handle),
        )

    def bus_id(self, handle: Any) -> str:
        info = self.call("nvmlDeviceGetPciInfo", handle)
        return _text(info.busId) if info is not None else ""

    def reading(self, handle: Any) -> GpuReading:
        return GpuReading(
            uuid=_text(self.call("nvmlDeviceGetUUID", handle) or ""),
            name=_text(self.call("nvmlDeviceGetName", handle) or "unknown"),
            pci_bus_id=self.bus_id(handle),
            source="nvml",
            ecc=self._ecc(handle),
            repair=self._repair(handle),
            clock_events=self._clock_events(handle),
            pcie=self._pcie(handle),
        )


def _load_nvml() -> _Nvml | None:
    try:
        import pynvml  # noqa: PLC0415 (optional: nvidia-ml-py is not in every image or host)
    except ImportError:
        return None
    try:
        return _Nvml(pynvml)
    except Exception as error:  # NVMLError_LibraryNotFound, DriverNotLoaded...: fall back to nvidia-smi
        log.info("NVML unavailable (%s): reading nvidia-smi -q -x instead", error)
        return None


def nvidia_smi_xml() -> str | None:
    executable = shutil.which("nvidia-smi")
    if executable is None:
        return None
    try:
        result = subprocess.run([executable, "-q", "-x"], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout if result.returncode == 0 and "<nvidia_smi_log" in result.stdout else None


def kernel_log() -> tuple[str | None, str]:
    """The kernel's messages since boot and where they came from, or None and why they could not be read."""
    attempts = [(["dmesg"], "dmesg"), (["journalctl", "-k", "-b", "--no-pager", "-q"], "journalctl -k")]
    reasons = []
    for command, label in attempts:
        if shutil.which(command[0]) is None:
            reasons.append(f"no {command[0]}")
            continue
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            reasons.append(f"{label}: {error}")
            continue
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout, label
        said = (result.stderr or "").strip().splitlines()
        reasons.append(f"{label}: {said[0] if said else 'no output'}")
    return None, "; ".join(reasons)


class HealthProbe:
    """Readings of every GPU, keyed by normalised UUID, plus Xid events; close() when done."""

    def __init__(self, *, nvml: _Nvml | None, xml_reader: Callable[[], str | None] = nvidia_smi_xml) -> None:
        self._nvml = nvml
        self._xml_reader = xml_reader
        self._event_set: Any = None
        self._cached: dict[str, GpuReading] | None = None
        self._xids: tuple[list[XidEvent], list[str], str] | None = None
        self.load_samples: dict[str, list[frozenset[str]]] = {}  # clock-event reasons sampled under load, by UUID

    @classmethod
    def open(cls) -> HealthProbe:
        probe = cls(nvml=_load_nvml())
        probe._watch_xids()
        return probe

    @property
    def source(self) -> str:
        return "NVML (nvidia-ml-py)" if self._nvml else "nvidia-smi -q -x"

    def readings(self, *, fresh: bool = False) -> dict[str, GpuReading]:
        """Every GPU's reading: the first one taken (the state before the loads), or a new one when fresh."""
        if self._cached is not None and not fresh:
            return self._cached
        if self._nvml is not None:
            found = [self._nvml.reading(handle) for handle in self._nvml.handles()]
        else:
            text = self._xml_reader()
            found = parse_nvidia_smi_xml(text) if text else []
        readings = {normal_uuid(r.uuid): r for r in found}
        if self._cached is None:
            self._cached = readings
        return readings

    def sample_clock_events(self) -> None:
        """One reading of every GPU's clock-event reasons, kept as a sample taken under load."""
        for uuid, reading in self.readings(fresh=True).items():
            if reading.clock_events is not None:
                self.load_samples.setdefault(uuid, []).append(reading.clock_events)

    def _watch_xids(self) -> None:
        if self._nvml is None:
            return
        event_set = self._nvml.call("nvmlEventSetCreate")
        if event_set is None:
            return
        try:
            for handle in self._nvml.handles():
                self._nvml.nvml.nvmlDeviceRegisterEvents(handle, _EVENT_XID_CRITICAL, event_set)
        except (self._nvml.nvml.NVMLError, AttributeError) as error:
            log.info("NVML cannot watch for Xid events here (%s): the kernel log alone is read", error)
            self._nvml.call("nvmlEventSetFree", event_set)
            return
        self._event_set = event_set

    def xid_events(self) -> tuple[list[XidEvent], list[str], str]:
        """Xid events from the kernel log and NVML's watch; the sources read; why others could not be.

        Read once, at the first call (after the loads): the Xid check of every GPU judges the same events."""
        if self._xids is None:
            self._xids = self._read_xids()
        return self._xids

    def _read_xids(self) -> tuple[list[XidEvent], list[str], str]:
        events: list[XidEvent] = []
        sources: list[str] = []
        text, how = kernel_log()
        if text is not None:
            events += parse_kernel_log(text)
            sources.append(f"kernel log ({how})")
        if self._nvml is not None and self._event_set is not None:
            wait = getattr(self._nvml.nvml, "nvmlEventSetWait_v2", None) or self._nvml.nvml.nvmlEventSetWait
            for _ in range(10_000):  # drain what arrived; NVML raises a timeout error when the queue is empty
                try:
                    data = wait(self._event_set, 0)
                except self._nvml.nvml.NVMLError:
                    break
                events.append(XidEvent(int(data.eventData), self._nvml.bus_id(data.device), "reported by NVML during the run",
                                       "nvml"))
            sources.append("NVML events during the run")
        return events, sources, "" if text is not None else how

    def close(self) -> None:
        if self._nvml is None:
            return
        if self._event_set is not None:
            self._nvml.call("nvmlEventSetFree", self._event_set)
        self._nvml.call("nvmlShutdown")

