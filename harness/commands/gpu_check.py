"""`harness gpu-check`: everything that needs a GPU, in one command, on a GPU machine without Docker.

In this machine's Python (the --variant local of every verb): smoke levels 1 and 2, `harness bench`,
torch.compile against eager on the GPU, every lab of labs/source run and graded (`harness run`),
and the pytest-benchmark suite (tests/bench). Every report goes under --reports (default
reports/gpu-check/), with gpu-check.json, gpu-check.md and gpu-check.junit.xml (one case per step)
and each step's log in logs/. Exit codes: 0 every step passed, 1 a step failed or did not finish
within the budget, 2 the harness could not run (no torch in this Python), 3 no GPU (nothing run).

Needs torch, rich and, for the labs, nbformat, nbclient and ipykernel; not docker-py.
`--fetch-wheels DIR` downloads those for a machine that cannot reach a package index.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.config import REPO_ROOT, REPORTS_DIR, facts
from harness.errors import HarnessError
from in_image.junit import JUnitCase, write_junit
from in_image.smoke.options import DEFAULT_GEMM_SECONDS, positive

SCHEMA = "dl-lab.gpu-check/1"
DEFAULT_BUDGET_S = 480  # the whole check, in seconds: eight minutes
OK, FAILED, CANNOT_RUN, NO_GPU = 0, 1, 2, 3
MEANING = {OK: "every step passed on the GPU", FAILED: "a step failed or did not finish",
           CANNOT_RUN: "the harness could not run", NO_GPU: "no GPU: nothing was run"}
# What the labs' runner needs beyond torch (pinned as in pyproject.toml's `local` extra), for --fetch-wheels.
# docker-py comes along because `harness run` imports the grading executors, which import it, even for --variant local.
LAB_RUNNER_PACKAGES = ("nbformat", "nbclient", "ipykernel")
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                   "manylinux1_x86_64")


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


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gpu-check", help="every GPU check in this machine's Python, no Docker (smoke 1+2, bench, compile, labs)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR / "gpu-check", metavar="DIR",
                        help="report folder (default: reports/gpu-check/)")
    parser.add_argument("--gemm-seconds", type=positive, default=DEFAULT_GEMM_SECONDS,
                        help="smoke level 2's sustained GEMM (default %(default)s)")
    parser.add_argument("--budget", type=positive, default=DEFAULT_BUDGET_S,
                        help="seconds for every step together (default %(default)s); steps past it are not started")
    parser.add_argument("--archive", type=Path, default=None, metavar="FILE.tar.gz",
                        help="also pack the report folder into this archive")
    parser.add_argument("--fetch-wheels", type=Path, default=None, metavar="DIR",
                        help="only download the labs' runner wheels (nbformat, nbclient, ipykernel...) into DIR, for a "
                             "GPU machine without a package index; see --python-version")
    parser.add_argument("--python-version", default="3.12", help="--fetch-wheels: the GPU machine's Python (default 3.12)")
    parser.set_defaults(handler=handle)


def plan(reports: Path, *, gemm_seconds: float) -> list[Step]:
    """The steps, in order: quick ones first, so that a broken GPU shows in seconds."""
    python = sys.executable
    harness = [python, "-m", "harness"]

    def folder(name: str) -> str:
        return str((reports / name).resolve())

    bench_json = str((reports / "bench-pytest" / "bench-pytest.json").resolve())
    return [
        Step("smoke-level1", "harness smoke --level 1", [*harness, "smoke", "--variant", "local", "--level", "1",
                                                          "--reports", folder("smoke-level1")], 300),
        Step("smoke-level2", "harness smoke --level 2", [*harness, "smoke", "--variant", "local", "--level", "2",
                                                          "--gemm-seconds", str(gemm_seconds),
                                                          "--reports", folder("smoke-level2")], int(gemm_seconds) + 420),
        Step("bench", "harness bench", [*harness, "bench", "--variant", "local", "--reports", folder("bench")], 420),
        Step("compile", "torch.compile vs eager", [python, "-m", "in_image.compile_check", "--device", "cuda",
                                                   "--reports", folder("compile")], 300),
        Step("labs", "harness run (every lab)", [*harness, "run", "--variant", "local", "--reports", folder("labs")], 420),
        Step("bench-pytest", "pytest-benchmark suite",
             [python, "-m", "pytest", "tests/bench", "--benchmark-only", f"--benchmark-json={bench_json}",
              "--confcutdir=tests/bench", "-p", "no:cacheprovider", "-q",
              f"--junitxml={folder('bench-pytest')}/bench-pytest.junit.xml"], 420, {"DL_LAB_BENCH": "1"}),
    ]


def machine_facts() -> dict[str, Any]:
    """This Python's torch, CUDA, driver and GPUs, read in a child process (the harness keeps no CUDA context)."""
    try:
        result = subprocess.run([sys.executable, "-m", "in_image.measure"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise HarnessError("reading this machine's facts (python -m in_image.measure) took over 120 s") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise HarnessError(f"this Python ({sys.executable}) cannot run the GPU checks: {lines[-1] if lines else 'no output'}"
                           " (it needs torch: pip install -e '.[local]')")
    facts: dict[str, Any] = json.loads(result.stdout)
    return facts


def image_pins() -> dict[str, str]:
    """The images' torch and CUDA line (docker/versions.env, or an exported CUDA_LINE): the versions the course ships."""
    return {"torch": facts().torch_version, "cuda": facts().cuda_line_name}


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


def summary_markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        "# gpu-check", "",
        f"- created: {report['created']}; verdict: **{report['verdict']}** (exit {report['exit_code']})",
        f"- GPUs: {', '.join(env['gpus']) or 'none'}; driver {env['driver']}",
        f"- torch on this machine: {env['torch']} (CUDA {env['torch_cuda']}); in the images: "
        f"{env['image_torch']} (CUDA {env['image_cuda']})",
        f"- Python {env['python']} at {env['python_executable']}; {env['platform']}",
    ]
    if env["gpu_absent_reason"]:
        lines.append(f"- no GPU: {env['gpu_absent_reason']}")
    lines += ["", "| step | what | outcome | seconds | message |", "|---|---|---|---|---|"]
    for step in report["steps"]:
        message = step["message"].replace("|", "\\|")
        lines.append(f"| {step['name']} | {step['what']} | {step['outcome']} | {step['seconds']:.1f} | {message} |")
    lines.append(f"\ntotal: {report['total_s']:.1f} s (budget {report['budget_s']:.0f} s)")
    return "\n".join(lines) + "\n"


def write_reports(report: dict[str, Any], reports: Path) -> list[Path]:
    reports.mkdir(parents=True, exist_ok=True)
    paths = [reports / "gpu-check.json", reports / "gpu-check.md", reports / "gpu-check.junit.xml"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(summary_markdown(report))
    outcome = {"passed": "passed", "skipped": "skipped", "failed": "failed", "timeout": "failed"}
    cases = [JUnitCase(name=s["name"], classname="gpu_check", time_s=s["seconds"], outcome=outcome[s["outcome"]],  # type: ignore[arg-type]
                       message=s["message"], details=s["log"]) for s in report["steps"]]
    write_junit(paths[2], "dl-lab gpu-check", cases)
    return paths


def pack(reports: Path, archive: Path) -> Path:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(reports, arcname=reports.name)
    return archive


def environment(facts: dict[str, Any]) -> dict[str, Any]:
    pins = image_pins()
    return {
        "python": platform.python_version(), "python_executable": sys.executable, "platform": platform.platform(),
        "torch": facts.get("torch"), "torch_cuda": facts.get("torch_cuda"), "driver": facts.get("driver"),
        "image_torch": pins["torch"], "image_cuda": pins["cuda"],
        "gpus": [f"cuda:{g['index']} {g['name']}" for g in facts.get("gpus", [])],
        "gpu_absent_reason": facts.get("gpu_absent_reason"), "machine": facts,
    }


def handle(args: argparse.Namespace) -> int:
    console = Console(stderr=True, soft_wrap=True)
    if args.fetch_wheels is not None:
        return fetch_wheels(args.fetch_wheels, python_version=args.python_version, console=console)
    started = time.perf_counter()
    env = environment(machine_facts())
    console.print(f"torch here: {env['torch']} (CUDA {env['torch_cuda']}); in the images: {env['image_torch']} "
                  f"(CUDA {env['image_cuda']})")
    steps = plan(args.reports, gemm_seconds=args.gemm_seconds)
    gpu_found = not env["gpu_absent_reason"] and bool(env["gpus"])
    if gpu_found:
        console.print(f"GPUs: {', '.join(env['gpus'])}; driver {env['driver']}")
        results = run_steps(steps, reports=args.reports, budget_s=args.budget, console=console)
    else:
        console.print(f"[yellow]no GPU here: {escape(str(env['gpu_absent_reason']))}[/] (nothing run)")
        results = [StepResult(s.name, s.what, " ".join(s.argv), "skipped", None, 0.0, "", "no GPU") for s in steps]
    code = exit_code(results, gpu_found=gpu_found)
    report = {"schema": SCHEMA, "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "exit_code": code,
              "verdict": MEANING[code], "budget_s": args.budget, "total_s": time.perf_counter() - started,
              "environment": env, "steps": [asdict(r) for r in results]}
    paths = write_reports(report, args.reports)
    print_table(report, console=console)
    if args.archive is not None:
        paths.append(pack(args.reports, args.archive))
    console.print(f"reports: {', '.join(str(p) for p in paths)}")
    return code


def print_table(report: dict[str, Any], *, console: Console) -> None:
    table = Table(title="gpu-check", title_justify="left")
    for column in ("step", "outcome", "time", "message"):
        table.add_column(column, justify="right" if column == "time" else "left", overflow="fold")
    for step in report["steps"]:
        style = {"passed": "green", "skipped": "yellow"}.get(step["outcome"], "red")
        table.add_row(step["name"], f"[{style}]{step['outcome']}[/]", f"{step['seconds']:.1f} s", escape(step["message"]))
    console.print(table)
    style = {OK: "green", NO_GPU: "yellow"}.get(report["exit_code"], "red")
    console.print(f"[{style}]gpu-check: {report['verdict']} (exit {report['exit_code']})[/]")


def pinned_requirements() -> list[str]:
    """LAB_RUNNER_PACKAGES with the versions pyproject.toml pins."""
    import tomllib  # noqa: PLC0415 (only for --fetch-wheels)

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["local"]]
    by_name = {pin.split("==")[0].lower(): pin for pin in pins}
    return [by_name.get(name, name) for name in LAB_RUNNER_PACKAGES]


def fetch_wheels(dest: Path, *, python_version: str, console: Console) -> int:
    """The labs' runner and what it needs, as wheels for the GPU machine's Python (x86-64 Linux)."""
    requirements = pinned_requirements()
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--python-version", python_version,
               "--implementation", "cp", *[f"--platform={p}" for p in WHEEL_PLATFORMS], "--dest", str(dest),
               "--disable-pip-version-check", "--quiet", *requirements]
    console.print(f"downloading {' '.join(requirements)} and what they need for Python {python_version} into {dest}")
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise HarnessError(f"pip download failed (exit {result.returncode}): is a package index reachable?")
    wheels = sorted(dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    console.print(f"{len(wheels)} wheels, {size / 2**20:.1f} MiB in {dest}")
    return OK
