"""Which GPUs and which private subnet a student's server gets: bookkeeping without JupyterHub or Docker.

Runs inside the hub image (the standard library only); the host's unit tests import it too.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterable, Sequence

# A student's private network holds the bridge's gateway, the hub and the student's server.
STUDENT_PREFIX = 29


def parse_devices(text: str) -> tuple[str, ...]:
    """'0,1' or 'MIG-3f2c… MIG-9a01…' (commas and/or spaces) -> the device ids, in order, without repeats."""
    devices: list[str] = []
    for item in re.split(r"[,\s]+", text.strip()):
        if item and item not in devices:
            devices.append(item)
    return tuple(devices)


class GpuPool:
    """Hands out GPUs (ids or MIG device UUIDs) to servers, round-robin and least-loaded first.

    A server asking for devices gets the `per_server` least used ones; among equally used devices
    the next one after the last handed out comes first, so with nobody stopping the servers get
    0, 1, 2, 0, 1, 2... and a device freed by a stopped server is the next one given.
    """

    def __init__(self, devices: Sequence[str], *, per_server: int = 1) -> None:
        if per_server < 1:
            raise ValueError(f"GPUs per student must be 1 or more, not {per_server}")
        self.devices = tuple(devices)
        self.per_server = min(per_server, len(self.devices))
        self.assigned: dict[str, tuple[str, ...]] = {}
        self._next = 0

    def load(self) -> dict[str, int]:
        """How many servers hold each device."""
        counts = dict.fromkeys(self.devices, 0)
        for devices in self.assigned.values():
            for device in devices:
                if device in counts:
                    counts[device] += 1
        return counts

    def assign(self, server: str) -> tuple[str, ...]:
        """The devices of `server` (the same ones when it already holds some); () when there are no GPUs."""
        if server in self.assigned:
            return self.assigned[server]
        if not self.devices:
            return ()
        counts = self.load()
        count = len(self.devices)

        def rank(index: int) -> tuple[int, int]:
            return counts[self.devices[index]], (index - self._next) % count

        chosen = sorted(range(count), key=rank)[: self.per_server]
        self._next = (chosen[-1] + 1) % count
        devices = tuple(self.devices[index] for index in sorted(chosen))
        self.assigned[server] = devices
        return devices

    def adopt(self, server: str, devices: Iterable[str]) -> None:
        """Record what a running server already holds (its saved state, after the hub restarted)."""
        held = tuple(device for device in devices if device in self.devices)
        if held:
            self.assigned[server] = held

    def release(self, server: str) -> tuple[str, ...]:
        return self.assigned.pop(server, ())


def free_subnet(pool: str, taken: Iterable[str], *, prefix: int = STUDENT_PREFIX, rng: random.Random | None = None) -> str:
    """A /29 (by default) of `pool` that overlaps none of the `taken` networks: the first one, or with
    `rng` one at random (hubs sharing an engine then seldom race for the same one)."""
    network = ipaddress.ip_network(pool, strict=False)
    used = [ipaddress.ip_network(item, strict=False) for item in taken]
    free = [candidate for candidate in network.subnets(new_prefix=prefix)
            if not any(candidate.overlaps(other) for other in used)]
    if not free:
        raise ValueError(f"no free /{prefix} network left in {pool}: give the hub a larger range (--student-subnets)")
    return str(rng.choice(free) if rng else free[0])
