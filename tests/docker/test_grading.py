"""`harness run` and `harness grade` with the real engine and the CPU image: full marks for the
solutions, placeholders for the student version, and every broken submission contained."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import docker
import nbformat
import pytest

from harness.cli import main
from harness.config import REPO_ROOT, facts
from harness.course import versions
from harness.engine.containers import project_filter
from harness.engine.gpu import engine_gpu_support
from in_image.exercises import tags
from tests.answers.broken import BROKEN, CANARY, build

pytestmark = pytest.mark.docker
# Short limits so that the hanging submissions cost seconds, not minutes.
SHORT = ["--cell-timeout", "8", "--exercise-timeout", "8", "--budget", "120"]


def grading_containers(client: docker.DockerClient) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters=project_filter("grading"))]


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_image_holds_no_hidden_tests(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    output = docker_engine.containers.run(
        cpu_image, entrypoint=["sh", "-c"], command=[f"grep -rl '{CANARY}' / --include='*' 2>/dev/null "
                                                     "--exclude-dir=proc --exclude-dir=sys || true"],
        remove=True, network_disabled=True, labels=facts().labels("test"))
    assert not output.strip(), f"the hidden tests reached the image: {output.decode()}"


@pytest.mark.parametrize("command", [["run", "00"], ["grade", "{notebook}", "--lab", "00"]], ids=["run", "grade"])
def test_an_image_not_in_the_engine_gets_one_clear_line(
    docker_engine: docker.DockerClient, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    notebook = tmp_path / "entrega.ipynb"
    versions.generate(out=tmp_path / "labs")
    shutil.copy2(tmp_path / "labs" / "student" / "00-introduccion.ipynb", notebook)
    missing = "dl-lab:cpu-1999.01"
    arguments = [a.replace("{notebook}", str(notebook)) for a in command]
    code = main([*arguments, "--image", missing, "--reports", str(tmp_path / "reports")])
    err = capsys.readouterr().err.strip()
    assert code == 2, f"a missing image is bad input (exit 2), got {code}: {err}"
    assert f"image {missing} is not in this Docker engine" in err and len(err.splitlines()) == 1, err


def test_cuda_variant_without_gpu_support_says_to_use_cpu(
    docker_engine: docker.DockerClient, cuda_image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    support = engine_gpu_support(docker_engine)
    if support.available:
        pytest.skip(f"this engine gives containers GPUs ({support.reason}): the GPU path is tested by make check")
    code = main(["run", "00", "--variant", "cuda", "--reports", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, f"expected exit 2 and one line, got {code}: {err}"
    assert support.reason in err and "--variant cpu" in err, err
    assert not (tmp_path / "run-cuda.json").exists(), "nothing was graded, so no report"


def test_run_cpu_solutions_score_full_marks(cpu_image: str, tmp_path: Path) -> None:
    code = main(["run", "--variant", "cpu", "--reports", str(tmp_path)])
    data = report(tmp_path / "run-cpu.json")
    assert code == 0, f"harness run must pass: {[(s['name'], s['message']) for s in data['submissions']]}"
    assert data["image"] == cpu_image and data["summary"]["score"] == data["summary"]["max_score"]
    for submission in data["submissions"]:
        assert submission["torch_version"].startswith(facts().torch_version), submission["torch_version"]
        assert submission["device"] == "cpu" and submission["startup_s"] is not None
        assert all(e["status"] == "passed" for e in submission["exercises"]), submission["exercises"]


def test_grade_student_version_fails_every_exercise_with_its_placeholder(cpu_image: str, tmp_path: Path) -> None:
    out = tmp_path / "labs"
    versions.generate(out=out)
    code = main(["grade", str(out / "student" / "00-introduccion.ipynb"), "--lab", "00", "--reports", str(tmp_path)])
    assert code == 1, "an unsolved notebook fails"
    exercises = report(tmp_path / "grade-00.json")["submissions"][0]["exercises"]
    for exercise in exercises:
        assert exercise["status"] == "not_attempted", exercise
        assert exercise["message"] == tags.PLACEHOLDER.format(id=exercise["id"]), exercise


@pytest.mark.slow
def test_broken_submissions_are_contained(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path) -> None:
    before = grading_containers(docker_engine)
    paths = [build(broken, tmp_path / "subs") for broken in BROKEN]
    started = time.monotonic()
    code = main(["grade", *map(str, paths), "--lab", "00", "--jobs", "2", *SHORT, "--reports", str(tmp_path)])
    elapsed = time.monotonic() - started
    assert code == 1, "broken submissions fail"
    assert grading_containers(docker_engine) == before, "grading left containers behind"
    data = report(tmp_path / "grade-00.json")
    by_name = {s["name"]: s for s in data["submissions"]}
    for broken in BROKEN:
        submission = by_name[broken.name]
        assert submission["status"] == "ok", f"{broken.name}: the grader must produce a result: {submission['message']}"
        # Each submission, even one that hangs at every turn, ends within the budget and host timeout.
        assert submission["time_s"] < 180, f"{broken.name} took {submission['time_s']} s"
        for exercise in submission["exercises"]:
            wanted = broken.all_status or broken.expected.get(exercise["id"], "passed")
            assert exercise["status"] == wanted, (
                f"{broken.name}: «{exercise['id']}» is {exercise['status']} ({exercise['message']}), expected {wanted}")
            assert exercise["message"] or wanted == "passed", f"{broken.name}: «{exercise['id']}» needs a message"
        assert len(submission["skipped_cells"]) == broken.skipped_cells, f"{broken.name}: {submission['skipped_cells']}"
        assert submission["output_truncated"] == broken.truncated, f"{broken.name}: output_truncated"
        executed = Path(submission["executed_notebook"]).read_text()
        assert CANARY not in executed, f"{broken.name}: the hidden tests leaked into the executed notebook"
    assert CANARY not in (tmp_path / "grade-00.json").read_text(), "the hidden tests leaked into the report"
    reading = nbformat.read(by_name["reads-hidden-tests"]["executed_notebook"], as_version=4)
    assert "pruebas encontradas: NO" in nbformat.writes(reading), "the hidden tests were readable from the notebook"
    assert elapsed < 600


def test_ctrl_c_removes_the_containers(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path) -> None:
    before = grading_containers(docker_engine)
    hanging = build(next(b for b in BROKEN if b.name == "hangs-in-cell"), tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "grade", str(hanging), "--lab", "00", "--reports", str(tmp_path)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while len(grading_containers(docker_engine)) <= len(before) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(grading_containers(docker_engine)) > len(before), "the grading container never started"
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, f"Ctrl-C exits 130, got {process.returncode}: {err.decode()[-500:]}"
    assert grading_containers(docker_engine) == before, "Ctrl-C left a grading container behind"
