"""Every GPU check in this machine's Python, without Docker (`harness gpu-check`): the steps, their reports,
and the wheels the labs' runner needs on a machine without a package index."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.gpu_check.report import (
    SCHEMA,
    environment,
    machine_facts,
    merge_recorded_tables,
    pack,
    print_table,
    write_reports,
)
from harness.gpu_check.steps import MEANING, RECORDED_TABLES, StepResult, chosen, exit_code, plan, run_steps
from in_image.published_figures import PUBLISHED_FILE_NAME

DEFAULT_BUDGET_S = 540  # the whole check, in seconds: nine minutes, inside a ten-minute call on a lent machine


def gpu_check(*, reports: Path, gemm_seconds: float, budget_s: float, archive: Path | None, console: Console,
              step_names: list[str] | None = None) -> int:
    """Run the steps named (every step for None; none without a GPU), write the reports under `reports`; the exit
    code (0, 1, 3)."""
    started = time.perf_counter()
    env = environment(machine_facts())
    console.print(f"torch here: {env['torch']} (CUDA {env['torch_cuda']}); in the images: {env['image_torch']} "
                  f"(CUDA {env['image_cuda']})")
    steps = chosen(plan(reports, gemm_seconds=gemm_seconds), step_names)
    gpu_found = not env["gpu_absent_reason"] and bool(env["gpus"])
    if gpu_found:
        console.print(f"GPUs: {', '.join(env['gpus'])}; driver {env['driver']}")
        results = run_steps(steps, reports=reports, budget_s=budget_s, console=console)
    else:
        console.print(f"[yellow]no GPU here: {escape(str(env['gpu_absent_reason']))}[/] (nothing run)")
        results = [StepResult(s.name, s.what, " ".join(s.argv), "skipped", None, 0.0, "", "no GPU") for s in steps]
    code = exit_code(results, gpu_found=gpu_found)
    report = {"schema": SCHEMA, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "exit_code": code,
              "verdict": MEANING[code], "budget_s": budget_s, "total_s": time.perf_counter() - started,
              "environment": env, "steps": [asdict(r) for r in results]}
    paths = write_reports(report, reports)
    print_table(report, console=console)
    if merge_recorded_tables(reports / RECORDED_TABLES, reports / PUBLISHED_FILE_NAME):
        paths.append(reports / PUBLISHED_FILE_NAME)
        console.print(f"the labs' GPU tables: {reports / PUBLISHED_FILE_NAME}; to show them where there is no GPU, copy "
                      f"it to labs/practica/{PUBLISHED_FILE_NAME} and rebuild the images and the student wheel")
    if archive is not None:
        paths.append(pack(reports, archive))
    console.print(f"reports: {', '.join(str(p) for p in paths)}")
    return code
