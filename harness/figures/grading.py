"""Benchmark of the grading harness (`make bench-harness`): the figures of docs/measurements.md.

1. `harness run` of lab 00 in the CPU container with 2 CPUs: wall time, and the container's
   start-up (create to runner start) as a share of it. Median of --repeat runs.
2. Grading N submissions of lab 00 (solutions and student versions, alternating) with --jobs 1
   and 2 (1 CPU per container): throughput, and the check that no container or job volume of the run is left behind.

Results go to the terminal and to build/bench/harness.json.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from typing import Any

import docker
from rich.console import Console
from rich.table import Table

from harness.config import BUILD_DIR
from harness.course import catalog, versions
from harness.engine.containers import docker_client, labelled_resources
from harness.grading.container import ContainerExecutor, owner_labels
from harness.grading.jobs import GradingJob
from harness.grading.pool import grade_all
from harness.grading.results import Limits


def run_lab00(*, repeat: int, cpus: float) -> dict[str, Any]:
    out = BUILD_DIR / "labs"
    versions.generate(out=out)
    lab = catalog.find_lab("00")
    executor = ContainerExecutor(variant="cpu", limits=Limits(cpus=cpus))
    job = GradingJob(lab=lab, notebook=out / "instructor" / lab.notebook_name, name=lab.name)
    totals, startups, kernels = [], [], []
    for _ in range(repeat):
        started = time.monotonic()
        result = executor.run(job)
        totals.append(time.monotonic() - started)
        if not result.passed:
            raise SystemExit(f"lab 00 did not pass in the container: {result.message}")
        startups.append(result.startup_s or 0.0)
        kernels.append(dict(result.timeline).get("kernel 0 started", 0.0))
    total, startup = statistics.median(totals), statistics.median(startups)
    return {"cpus": cpus, "repeat": repeat, "total_s": round(total, 2), "container_startup_s": round(startup, 2),
            "startup_share": round(startup / total, 3), "kernel_start_s": round(statistics.median(kernels), 2),
            "all_runs_s": [round(t, 2) for t in totals]}


def resources_of_this_process(client: docker.DockerClient) -> int:
    """Grading containers and job volumes this process started and has not removed (other runs' do not count);
    grading creates no networks, so labelled_resources' networks add nothing."""
    filters = {"label": [f"{key}={value}" for key, value in owner_labels().items()]}
    return len(labelled_resources(client, filters))


def grade_many(*, count: int, jobs: int) -> dict[str, Any]:
    out = BUILD_DIR / "labs"
    lab = catalog.find_lab("00")
    sources = [out / "instructor" / lab.notebook_name, out / "student" / lab.notebook_name]
    work = BUILD_DIR / "bench" / "submissions"
    work.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = work / f"alumno{index:02d}.ipynb"
        path.write_bytes(sources[index % 2].read_bytes())
        paths.append(path)
    client = docker_client()
    before = resources_of_this_process(client)
    executor = ContainerExecutor(variant="cpu", limits=Limits(cpus=1.0))
    started = time.monotonic()
    results = grade_all([GradingJob(lab=lab, notebook=p, name=p.stem) for p in paths], executor, parallel=jobs)
    elapsed = time.monotonic() - started
    after = resources_of_this_process(client)
    ok = sum(r.status == "ok" for r in results)
    return {"jobs": jobs, "submissions": count, "graded": ok, "wall_s": round(elapsed, 1),
            "per_minute": round(count / elapsed * 60, 1), "containers_left": after - before}


def measure(*, repeat: int, submissions: int, jobs: list[int]) -> int:
    """Measure, print the tables and write build/bench/harness.json; the exit code (1: containers left)."""
    console = Console()
    console.print(f"[bold]harness benchmark[/] on {os.cpu_count()} cores")
    run = run_lab00(repeat=repeat, cpus=2.0)
    grading = [grade_many(count=submissions, jobs=count) for count in jobs]
    table = Table(title="harness run 00 (CPU container, 2 CPUs)")
    for column in ("total", "container start-up", "share", "kernel start", "runs"):
        table.add_column(column)
    table.add_row(f"{run['total_s']} s", f"{run['container_startup_s']} s", f"{run['startup_share']:.0%}",
                  f"{run['kernel_start_s']} s", ", ".join(map(str, run["all_runs_s"])))
    console.print(table)
    table = Table(title=f"grading {submissions} submissions of lab 00 (1 CPU per container)")
    for column in ("--jobs", "wall", "notebooks/min", "graded", "containers left"):
        table.add_column(column)
    for row in grading:
        table.add_row(str(row["jobs"]), f"{row['wall_s']} s", str(row["per_minute"]), f"{row['graded']}/{row['submissions']}",
                      str(row["containers_left"]))
    console.print(table)
    target = BUILD_DIR / "bench" / "harness.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps({"cores": os.cpu_count(), "run": run, "grading": grading}, indent=2) + "\n")
    console.print(f"written to {target}")
    leftovers = sum(row["containers_left"] for row in grading)
    return 1 if leftovers else 0

