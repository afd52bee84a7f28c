"""The gpu-check's steps (smoke 1+2, bench, compile, labs, bench-pytest): what each runs, and running them
in their own process groups within one budget; the exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from rich.console import Console
from rich.markup import escape

from harness.config import REPO_ROOT
from harness.errors import HarnessError
from in_image.published_figures import RECORD_FOLDER_ENV

OK, FAILED, CANNOT_RUN, NO_GPU = 0, 1, 2, 3
RECORDED_TABLES = "gpu-tables"  # the labs' GPU tables, one labNN.json per lab, under the reports
# A fresh GPU machine compiles torch.compile's Triton kernels with a cold cache: a lab's compile cell may take
# minutes there, against the 60 s a cell (and 300 s a notebook) gets when students are graded.
LABS_CELL_TIMEOUT_S = 240
LABS_NOTEBOOK_BUDGET_S = 400

MEANING = {OK: "every step passed on the GPU", FAILED: "a step failed or did not finish",
           CANNOT_RUN: "the harness could not run", NO_GPU: "no GPU: nothing was run"}


@dataclass(frozen=True)
class Step:
    name: str
    what: str
    argv: list[str]
    timeout_s: int
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class StepResult:
    name: str
    what: str
    command: str
    outcome: str  # passed, failed, timeout, skipped
    exit_code: int | None
    seconds: float
    log: str
    message: str


def plan(reports: Path, *, gemm_seconds: float) -> list[Step]:
    """The steps, in order: a quick one first, so that a broken GPU shows in seconds; then the labs, which the
    course publishes figures from; the long burn-in and the benchmarks last, where a short budget cuts them first."""
    python = sys.executable
    harness = [python, "-m", "harness"]

    def folder(name: str) -> str:
        return str((reports / name).resolve())

    bench_json = str((reports / "bench-pytest" / "bench-pytest.json").resolve())
    return [
        Step("smoke-level1", "harness smoke --level 1", [*harness, "smoke", "--variant", "local", "--level", "1",
                                                          "--reports", folder("smoke-level1")], 300),
        Step("labs", "harness run (every lab)", [*harness, "run", "--variant", "local", "--reports", folder("labs"),
                                                  "--cell-timeout", str(LABS_CELL_TIMEOUT_S),
                                                  "--budget", str(LABS_NOTEBOOK_BUDGET_S)], 600,
             {RECORD_FOLDER_ENV: folder(RECORDED_TABLES)}),
        Step("compile", "torch.compile vs eager", [python, "-m", "in_image.compile_check", "--device", "cuda",
                                                   "--reports", folder("compile")], 300),
        Step("smoke-level2", "harness smoke --level 2", [*harness, "smoke", "--variant", "local", "--level", "2",
                                                          "--gemm-seconds", str(gemm_seconds),
                                                          "--reports", folder("smoke-level2")], int(gemm_seconds) + 420),
        Step("bench", "harness bench", [*harness, "bench", "--variant", "local", "--reports", folder("bench")], 420),
        Step("bench-pytest", "pytest-benchmark suite",
             [python, "-m", "pytest", "tests/bench", "--benchmark-only", f"--benchmark-json={bench_json}",
              "--confcutdir=tests/bench", "-p", "no:cacheprovider", "-q",
              f"--junitxml={folder('bench-pytest')}/bench-pytest.junit.xml"], 420, {"DL_LAB_BENCH": "1"}),
    ]


def chosen(steps: list[Step], names: list[str] | None) -> list[Step]:
    """The steps named (all of them for None), in the plan's order; an unknown name is an error that lists them."""
    if names is None:
        return steps
    known = [step.name for step in steps]
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise HarnessError(f"--steps: unknown step {', '.join(unknown) or '(none named)'}; "
                           f"name one or more of {','.join(known)}")
    return [step for step in steps if step.name in names]


def run_step(step: Step, *, logs: Path, timeout_s: float, console: Console) -> StepResult:
    log_path = logs / f"{step.name}.log"
    (logs.parent / step.name).mkdir(parents=True, exist_ok=True)  # pytest-benchmark writes its JSON into no new folder
    command = " ".join(step.argv)
    console.print(f"[bold]{step.name}[/]: {escape(step.what)} (at most {timeout_s:.0f} s; log {log_path})")
    started = time.perf_counter()
    with log_path.open("w") as log_file:
        log_file.write(f"$ {command}\n")
        log_file.flush()
        returncode = run_in_own_group(step.argv, log_file=log_file, timeout_s=timeout_s,
                                      env={**os.environ, "PYTHONUNBUFFERED": "1", **step.env})
    seconds = time.perf_counter() - started
    if returncode is None:
        return StepResult(step.name, step.what, command, "timeout", None, seconds, str(log_path),
                          f"did not finish within {timeout_s:.0f} s")
    outcome = "passed" if returncode == 0 else "failed"
    message = "exit 0" if outcome == "passed" else f"exit {returncode}: {last_line(log_path)}"
    return StepResult(step.name, step.what, command, outcome, returncode, seconds, str(log_path), message)


def run_in_own_group(argv: list[str], *, log_file: IO[str], timeout_s: float, env: dict[str, str]) -> int | None:
    """The exit code, or None past the timeout. The step runs in its own process group, killed whole on a
    timeout or Ctrl-C: a step's children (the smoke module under `harness smoke`) must not keep the GPU busy."""
    process = subprocess.Popen(argv, cwd=REPO_ROOT, stdout=log_file, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True)
    try:
        return process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if process.poll() is None or _group_alive(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def last_line(path: Path) -> str:
    lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def run_steps(steps: list[Step], *, reports: Path, budget_s: float, console: Console) -> list[StepResult]:
    logs = reports / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + budget_s
    results = []
    for step in steps:
        left = deadline - time.monotonic()
        if left < 10:
            results.append(StepResult(step.name, step.what, " ".join(step.argv), "skipped", None, 0.0, "",
                                      f"not started: the {budget_s:.0f} s budget was spent"))
            continue
        result = run_step(step, logs=logs, timeout_s=min(step.timeout_s, left), console=console)
        style = "green" if result.outcome == "passed" else "red"
        console.print(f"  [{style}]{result.outcome}[/] in {result.seconds:.1f} s: {escape(result.message)}")
        results.append(result)
    return results


def exit_code(results: list[StepResult], *, gpu_found: bool) -> int:
    if not gpu_found:
        return NO_GPU
    return OK if results and all(r.outcome == "passed" for r in results) else FAILED
