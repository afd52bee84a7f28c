"""`make bench-hub`: how long N students' servers take to start at once on this machine.

A throw-away hub instance (its own name, random port, removed at the end), N accounts created
through the REST API, then every server requested at the same moment; the clock stops when the
hub reports each one ready (its API answering through the proxy). Writes reports/bench-hub.json.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from harness.config import REPORTS_DIR, facts
from harness.hub.instance import purge_hub, start_hub
from harness.hub.settings import HubSettings

SPAWN_TIMEOUT_S = 600


@dataclass(frozen=True)
class SpawnFigures:
    students: int
    image: str
    cpus: int
    all_ready_s: float
    first_ready_s: float
    median_ready_s: float
    hub_start_s: float


def measure(*, students: int) -> SpawnFigures:
    name = f"dl-lab-hubbench-{secrets.token_hex(3)}"
    settings = HubSettings(name=name, port=0, variant="cpu", gpu=False, restart=False)
    names = [f"bench{number:03d}" for number in range(1, students + 1)]
    try:
        started = time.monotonic()
        hub = start_hub(settings)
        hub_start_s = time.monotonic() - started
        hub.create_users(names)
        ready_at: dict[str, float] = {}
        start = time.monotonic()

        def spawn(user: str) -> None:
            # The POST itself waits up to the hub's slow_spawn_timeout (10 s): one thread per student.
            hub.start_server(user)
            hub.wait_ready(user, timeout_s=SPAWN_TIMEOUT_S)
            ready_at[user] = time.monotonic() - start

        with ThreadPoolExecutor(max_workers=students) as pool:
            list(pool.map(spawn, names))
    finally:
        purge_hub(name)
    times = sorted(ready_at.values())
    return SpawnFigures(students=students, image=facts().image("cpu"), cpus=os.cpu_count() or 0,
                        all_ready_s=round(times[-1], 1), first_ready_s=round(times[0], 1),
                        median_ready_s=round(statistics.median(times), 1), hub_start_s=round(hub_start_s, 1))


def write_report(figures: list[SpawnFigures]) -> str:
    REPORTS_DIR.mkdir(exist_ok=True)
    out = REPORTS_DIR / "bench-hub.json"
    out.write_text(json.dumps({"machine": platform.node(), "results": [asdict(f) for f in figures]}, indent=2) + "\n")
    return str(out)
