"""`harness gpu-check` here (no GPU): it ends quickly with exit 3, without docker-py; and how it runs its steps."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from harness.engine.waiting import wait_until
from harness.errors import HarnessError
from harness.gpu_check.report import pack
from harness.gpu_check.steps import (
    FAILED,
    LABS_CELL_TIMEOUT_S,
    LABS_NOTEBOOK_BUDGET_S,
    NO_GPU,
    OK,
    Step,
    chosen,
    exit_code,
    plan,
    run_steps,
)
from harness.gpu_check.wheels import pinned_requirements
from harness.grading.session import DEFAULT_LIMITS
from in_image.measure.system import gpu_absence_reason
from in_image.published_figures import RECORD_FOLDER_ENV
from tests.utils.cli import HARNESS, run_to_end

NO_GPU_HERE = gpu_absence_reason()
BLOCKED = ("docker", "requests")


@pytest.fixture
def without_docker(tmp_path: Path) -> dict[str, str]:
    """An environment whose Python cannot import docker-py (nor requests), as on a GPU machine without Docker."""
    blocker = tmp_path / "blocker"
    for name in BLOCKED:
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(
            "raise ModuleNotFoundError(f'No module named {__name__!r} (blocked by the test)', name=__name__)\n"
        )
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")]))}


@pytest.mark.skipif(NO_GPU_HERE is None, reason="this machine has a GPU: gpu-check would run every step")
def test_without_gpu_it_ends_at_once_with_exit_3_and_needs_no_docker(tmp_path: Path, without_docker: dict[str, str]) -> None:
    reports = tmp_path / "gpu-check"
    started = time.perf_counter()
    done = run_to_end([*HARNESS, "gpu-check", "--reports", str(reports), "--archive", str(tmp_path / "gpu-check.tar.gz")],
                      environment=without_docker, timeout_s=120)
    elapsed = time.perf_counter() - started
    assert done.returncode == NO_GPU, f"no GPU must exit {NO_GPU}, got {done.returncode}: {done.stderr[-2000:]}"
    assert "no GPU here" in done.stderr and str(NO_GPU_HERE) in done.stderr, "it says plainly why there is no GPU"
    assert elapsed < 60, f"without a GPU gpu-check must end quickly, took {elapsed:.0f} s"
    report = json.loads((reports / "gpu-check.json").read_text())
    env = report["environment"]
    assert env["torch"] and env["image_torch"] != "unknown", f"both torch versions are recorded: {env}"
    assert {s["outcome"] for s in report["steps"]} == {"skipped"}, report["steps"]
    assert [s["name"] for s in report["steps"]] == [s.name for s in plan(reports, gemm_seconds=60)]
    suite = ET.parse(reports / "gpu-check.junit.xml").getroot()
    assert suite.get("tests") == str(len(report["steps"])), "one JUnit case per step"
    with tarfile.open(tmp_path / "gpu-check.tar.gz") as tar:
        assert "gpu-check/gpu-check.md" in tar.getnames(), tar.getnames()


def test_smoke_bench_and_run_local_need_no_docker(tmp_path: Path, without_docker: dict[str, str]) -> None:
    for argv in (["smoke", "--variant", "local"], ["bench", "--variant", "local", "--quick", "--threads", "1"],
                 ["run", "00", "--variant", "local"]):
        done = run_to_end([*HARNESS, *argv, "--reports", str(tmp_path / argv[0])], environment=without_docker,
                          timeout_s=300)
        assert "No module named 'docker'" not in done.stderr, f"harness {argv[0]} --variant local imported docker-py"
        assert done.returncode in (0, NO_GPU), f"harness {' '.join(argv)}: exit {done.returncode}: {done.stderr[-1500:]}"


def test_commands_that_need_docker_say_so_in_one_line(without_docker: dict[str, str]) -> None:
    done = run_to_end([*HARNESS, "clean"], environment=without_docker, timeout_s=60)
    assert done.returncode == 2, done.stderr
    assert "needs the docker package" in done.stderr and "Traceback" not in done.stderr, done.stderr


def _step(name: str, code: str, timeout_s: int = 30) -> Step:
    return Step(name, f"python -c {code!r}", [sys.executable, "-c", code], timeout_s)


def test_steps_run_in_order_with_logs_timeouts_and_a_budget(tmp_path: Path) -> None:
    steps = [
        _step("ok", "print('fine')"),
        _step("broken", "import sys; print('the last line says why'); sys.exit(4)"),
        _step("slow", "import time; time.sleep(30)", timeout_s=3),
        _step("late", "print('never started')"),
    ]
    console = Console(stderr=True, quiet=True)
    # The slow step's 3 s leave under 10 s of a 12 s budget: the fourth step is not started.
    results = run_steps(steps, reports=tmp_path, budget_s=12, console=console)
    outcomes = {r.name: (r.outcome, r.exit_code) for r in results}
    assert outcomes == {"ok": ("passed", 0), "broken": ("failed", 4), "slow": ("timeout", None), "late": ("skipped", None)}, \
        outcomes
    broken = next(r for r in results if r.name == "broken")
    assert "exit 4: the last line says why" in broken.message, broken.message
    assert (tmp_path / "logs" / "ok.log").read_text().endswith("fine\n"), "each step's output goes to its log"
    assert exit_code(results, gpu_found=True) == FAILED
    assert exit_code(results[:1], gpu_found=True) == OK
    assert exit_code(results, gpu_found=False) == NO_GPU


def test_budget_spent_skips_the_rest(tmp_path: Path) -> None:
    results = run_steps([_step("a", "pass"), _step("b", "pass")], reports=tmp_path, budget_s=5, console=Console(quiet=True))
    assert [r.outcome for r in results] == ["skipped", "skipped"], "under 10 s left: no step is started"
    assert "budget" in results[0].message


def test_plan_writes_every_report_under_one_folder(tmp_path: Path) -> None:
    steps = plan(tmp_path / "gc", gemm_seconds=60)
    assert [s.name for s in steps] == ["smoke-level1", "labs", "compile", "smoke-level2", "bench", "bench-pytest"], \
        "a quick check first, then the labs (the course's published figures), the burn-in and benchmarks last"
    for step in steps:
        folders = [a for a in step.argv if str(tmp_path / "gc") in a]
        assert folders, f"{step.name} must write under the report folder: {step.argv}"
    level2 = next(s for s in steps if s.name == "smoke-level2")
    assert level2.argv[level2.argv.index("--level") + 1] == "2" and "--gemm-seconds" in level2.argv
    assert "--confcutdir=tests/bench" in next(s for s in steps if s.name == "bench-pytest").argv, \
        "the benchmark suite must not load tests/conftest.py (it imports docker-py)"


def test_the_labs_step_gives_cold_compiles_time_and_records_the_tables(tmp_path: Path) -> None:
    labs = next(s for s in plan(tmp_path, gemm_seconds=60) if s.name == "labs")
    assert labs.argv[labs.argv.index("--cell-timeout") + 1] == str(LABS_CELL_TIMEOUT_S)
    assert labs.argv[labs.argv.index("--budget") + 1] == str(LABS_NOTEBOOK_BUDGET_S)
    assert DEFAULT_LIMITS.cell_timeout_s < LABS_CELL_TIMEOUT_S, "a fresh GPU machine compiles Triton kernels cold"
    assert DEFAULT_LIMITS.budget_s < LABS_NOTEBOOK_BUDGET_S
    assert RECORD_FOLDER_ENV in labs.env


@pytest.mark.parametrize(("names", "expected"), [
    (None, ["smoke-level1", "labs", "compile", "smoke-level2", "bench", "bench-pytest"]),
    (["labs"], ["labs"]),
    (["bench", "labs"], ["labs", "bench"]),  # always in the plan's order
])
def test_steps_can_be_chosen(tmp_path: Path, names: list[str] | None, expected: list[str]) -> None:
    assert [s.name for s in chosen(plan(tmp_path, gemm_seconds=60), names)] == expected


@pytest.mark.parametrize("argument", ["labs,lab", ",", "smoke"])
def test_an_unknown_step_is_one_line_that_lists_the_steps(tmp_path: Path, argument: str) -> None:
    done = run_to_end([*HARNESS, "gpu-check", "--steps", argument, "--reports", str(tmp_path)], timeout_s=120)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "name one or more of smoke-level1,labs,compile,smoke-level2,bench,bench-pytest" in done.stderr, done.stderr
    assert not (tmp_path / "gpu-check.json").exists(), "nothing runs and no report is written"


def test_pack_keeps_the_folder(tmp_path: Path) -> None:
    (tmp_path / "r" / "logs").mkdir(parents=True)
    (tmp_path / "r" / "logs" / "a.log").write_text("x")
    with tarfile.open(pack(tmp_path / "r", tmp_path / "out" / "r.tar.gz")) as tar:
        assert tar.getnames() == ["r", "r/logs", "r/logs/a.log"]


def test_fetched_wheels_are_the_pinned_lab_runner() -> None:
    requirements = pinned_requirements()
    assert "nbclient==0.11.0" in requirements and "ipykernel==7.4.0" in requirements, requirements
    assert all("==" in r for r in requirements), f"every wheel pinned as in pyproject.toml: {requirements}"


def test_a_timed_out_step_leaves_no_process_behind(tmp_path: Path) -> None:
    """`harness smoke` runs the smoke module as its child: a timeout must end both, or the GPU stays busy."""
    pid_file = tmp_path / "grandchild.pid"
    code = (f"import subprocess, sys, time; child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
            f"open({str(pid_file)!r}, 'w').write(str(child.pid)); time.sleep(60)")
    results = run_steps([_step("hangs", code, timeout_s=3)], reports=tmp_path, budget_s=60, console=Console(quiet=True))
    assert results[0].outcome == "timeout", results
    grandchild = int(pid_file.read_text())
    def ended() -> str | None:
        stat = Path(f"/proc/{grandchild}/stat")
        state = stat.read_text().split()[2] if stat.exists() else "gone"
        return state if state in ("gone", "Z") else None

    with contextlib.suppress(HarnessError):
        wait_until(ended, timeout_s=5, interval_s=0.1, what="the step's child to end")
    state = ended() or "running"
    assert state in ("gone", "Z"), f"the step's child {grandchild} still runs after the timeout (state {state})"
