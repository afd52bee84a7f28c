"""The devices a hub hands out to students' GPU servers: GPUs, or the MIG instances they are split into."""

from __future__ import annotations

import re

from harness.engine.gpu import run_nvidia_smi
from harness.errors import HarnessError

_GPU_LINE = re.compile(r"^GPU (\d+): .*\(UUID: (GPU-[0-9a-fA-F-]+)\)")
_MIG_LINE = re.compile(r"^\s+MIG .*\(UUID: (MIG-[0-9a-fA-F/-]+)\)")


def parse_device_list(text: str, *, usable: frozenset[str] | None = None) -> tuple[str, ...]:
    """`nvidia-smi -L` -> each GPU's index, or the UUIDs of its MIG devices where it is split.

    A MIG instance is a device of its own to the NVIDIA runtime (isolated memory and compute), so
    a GPU split in 7 serves 7 students; an unsplit GPU is named by its index. usable: the indexes of
    the GPUs the image can use (harness.engine.gpu); the others' devices are left out.
    """
    by_gpu: dict[str, list[str]] = {}
    gpu: str | None = None
    for line in text.splitlines():
        if match := _GPU_LINE.match(line):
            gpu = match.group(1)
            by_gpu[gpu] = []
        elif (match := _MIG_LINE.match(line)) and gpu is not None:
            by_gpu[gpu].append(match.group(1))
    return tuple(device for index, migs in by_gpu.items() if usable is None or index in usable
                 for device in (migs or [index]))


def host_devices(*, usable: frozenset[str] | None = None) -> tuple[str, ...]:
    """The devices of this machine's (usable) GPUs, or a one-line error."""
    try:
        listed = run_nvidia_smi(["-L"])
    except HarnessError as error:
        raise HarnessError(f"{error}: give the GPUs with --gpu-ids 0,1") from None
    devices = parse_device_list(listed.stdout, usable=usable)
    if listed.returncode != 0 or not devices:
        raise HarnessError(f"nvidia-smi -L lists no GPU ({(listed.stderr or listed.stdout).strip()[:120]}): "
                           "check the driver, or give the devices with --gpu-ids")
    return devices
