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
from harness.course import catalog, versions
from harness.engine.containers import remove_project_resources
from harness.engine.gpu import gpu_decision
from harness.engine.waiting import wait_until
from harness.grading.container import COMPONENT, owner_label
from harness.grading.results import Limits
from in_image.exercises import tags
from tests.answers.broken import BROKEN, CANARY, SANDBOX, build
from tests.answers.notebooks import submission, write
from tests.utils.jupyter import run_in_image

pytestmark = pytest.mark.docker
# Short limits so that the hanging submissions cost seconds, not minutes.
SHORT = ["--cell-timeout", "8", "--exercise-timeout", "8", "--budget", "120"]


def grading_containers(client: docker.DockerClient, owner: int | None = None) -> list[str]:
    """The grading containers (and job volumes) started by process `owner` (default: this one, not a concurrent run)."""
    filters = {"label": [f"{owner_label()}={owner or os.getpid()}"]}
    return ([c.name for c in client.containers.list(all=True, filters=filters)]
            + [v.name for v in client.volumes.list(filters=filters)])


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_image_holds_no_hidden_tests(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    # The positive control: a file planted with the canary must be the one hit (grep read the whole file system).
    control = "/tmp/canary-control.txt"
    status, output = run_in_image(docker_engine, cpu_image, [f"printf '%s' '{CANARY}' > {control} && "
                                                             f"grep -rl '{CANARY}' / --include='*' 2>/dev/null "
                                                             "--exclude-dir=proc --exclude-dir=sys || true"],
                                  entrypoint=["sh", "-c"], network_disabled=True)
    assert status == 0, f"the search did not run (exit {status}): {output}"
    assert control in output.split(), f"the search missed the planted canary, so it proves nothing: {output}"
    assert output.split() == [control], f"the hidden tests reached the image: {output}"


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
    support = gpu_decision(docker_engine)
    if support.use_gpu:
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
    assert {graded["lab"] for graded in data["submissions"]} == set(catalog.all_labs()), "harness run covers every lab"
    for graded in data["submissions"]:
        assert graded["torch_version"].startswith(facts().torch_version), graded["torch_version"]
        assert graded["device"] == "cpu" and graded["startup_s"] is not None
        assert all(e["status"] == "passed" for e in graded["exercises"]), graded["exercises"]
        unexpected = [e for e in graded["cell_errors"] if not e["expected"]]
        assert not unexpected, f"{graded['name']}: no cell may fail, the GPU cells included: {unexpected}"
        executed = Path(graded["executed_notebook"]).read_text()
        if graded["lab"] in ("00", "01"):
            assert "No hay GPU en esta máquina" in executed and "GPU: no hay" in executed, (
                f"{graded['name']}: without a GPU, the timing cells say so and measure the CPU only")
        if graded["lab"] == "03":
            assert "No hay GPU en esta máquina" in executed and "no se inventa ninguna" in executed, (
                f"{graded['name']}: without a GPU, the GPU sections say so and show no invented GPU figure")


def test_grade_student_version_fails_every_exercise_with_its_placeholder(cpu_image: str, tmp_path: Path) -> None:
    """The student version: every exercise not attempted. Beside it, files that are no notebook (not JSON, not
    UTF-8, text) are each their student's `error` with a one-line reason, and the class is still graded."""
    out = tmp_path / "labs"
    versions.generate(out=out)
    entregas = tmp_path / "entregas"
    entregas.mkdir()
    shutil.copy(out / "student" / "00-introduccion.ipynb", entregas / "ana.ipynb")
    (entregas / "berta.ipynb").write_text('{"cells": [')
    (entregas / "carla.ipynb").write_bytes(b"\xff\xfe\x00 no es UTF-8")
    (entregas / "dani.txt").write_text("hola")
    code = main(["grade", *sorted(map(str, entregas.iterdir())), "--lab", "00", "--reports", str(tmp_path)])
    assert code == 1, "an unsolved notebook fails"
    students = {s["name"]: s for s in report(tmp_path / "grade-00.json")["submissions"]}
    assert set(students) == {"ana", "berta", "carla", "dani"}
    for exercise in students["ana"]["exercises"]:
        assert exercise["status"] == "not_attempted", exercise
        assert exercise["message"] == tags.PLACEHOLDER.format(id=exercise["id"]), exercise
    for name in ("berta", "carla", "dani"):
        assert students[name]["status"] == "error" and students[name]["score"] == 0, students[name]
        assert "no es un cuaderno" in students[name]["message"] and "\n" not in students[name]["message"], students[name]


@pytest.mark.slow
def test_broken_submissions_are_contained(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path) -> None:
    paths = [build(broken, tmp_path / "subs") for broken in BROKEN]
    started = time.monotonic()
    code = main(["grade", *map(str, paths), "--lab", "00", "--jobs", "2", *SHORT, "--reports", str(tmp_path)])
    elapsed = time.monotonic() - started
    assert code == 1, "broken submissions fail"
    assert not grading_containers(docker_engine), "grading left containers or volumes behind"
    data = report(tmp_path / "grade-00.json")
    by_name = {s["name"]: s for s in data["submissions"]}
    for broken in BROKEN:
        submission = by_name[broken.name]
        assert submission["status"] == "ok", f"{broken.name}: the grader must produce a result: {submission['message']}"
        # Each submission, even one that hangs at every turn, ends within the budget and host timeout.
        assert submission["time_s"] < 180, f"{broken.name} took {submission['time_s']} s"
        for exercise in submission["exercises"]:
            wanted = broken.expected.get(exercise["id"], "passed")
            assert exercise["status"] == wanted, (
                f"{broken.name}: «{exercise['id']}» is {exercise['status']} ({exercise['message']}), expected {wanted}")
            assert exercise["message"] or wanted == "passed", f"{broken.name}: «{exercise['id']}» needs a message"
        assert len(submission["skipped_cells"]) == broken.skipped_cells, f"{broken.name}: {submission['skipped_cells']}"
        assert submission["output_truncated"] == broken.truncated, f"{broken.name}: output_truncated"
        assert not broken.evidence or any(broken.evidence in item for item in submission["evidence"]), (
            f"{broken.name}: the evidence should mention {broken.evidence!r}: {submission['evidence']}")
        executed = Path(submission["executed_notebook"]).read_text()
        assert CANARY not in executed, f"{broken.name}: the hidden tests leaked into the executed notebook"
    assert CANARY not in (tmp_path / "grade-00.json").read_text(), "the hidden tests leaked into the report"
    reading = nbformat.read(by_name["reads-hidden-tests"]["executed_notebook"], as_version=4)
    assert "pruebas encontradas: NO" in nbformat.writes(reading), "the hidden tests were readable from the notebook"
    assert elapsed < 600


def test_student_code_runs_in_a_locked_sandbox(cpu_image: str, tmp_path: Path) -> None:
    notebook = write(submission("00", insert=(SANDBOX,)), tmp_path / "sandbox.ipynb")
    assert main(["grade", str(notebook), "--lab", "00", "--reports", str(tmp_path)]) == 0
    executed = nbformat.read(report(tmp_path / "grade-00.json")["submissions"][0]["executed_notebook"], as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    found = json.loads(printed.split("SANDBOX ", 1)[1].splitlines()[0])
    limits = Limits()
    assert found["uid"] == facts().nb_uid, f"the kernel runs as the notebook user: {found}"
    assert found["nofile"] == limits.open_files, found
    assert found["core"] == 0, found
    assert found["fsize"] == limits.file_size_bytes, found
    assert found["/etc/escrito"] == found["/opt/dl-lab/escrito"] == "OSError", f"the root filesystem is read-only: {found}"
    assert found["/tmp/escrito"] == found["/var/tmp/escrito"] == found["escrito"] == "escrito", f"tmpfs are writable: {found}"
    assert found["job"] == "PermissionError", f"the judge's folder is closed to the notebook: {found}"
    assert found["grande"] == "OSError", f"a file past the size limit fails: {found}"
    assert found["red"] == "OSError", f"no network: {found}"


def test_ctrl_c_removes_the_containers(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path) -> None:
    hanging = build(next(b for b in BROKEN if b.name == "hangs-in-cell"), tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "harness", "grade", str(hanging), "--lab", "00", "--reports", str(tmp_path)],
        cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_until(lambda: grading_containers(docker_engine, process.pid), timeout_s=60, interval_s=0.2,
                   what="the grading container to start")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
            # a failed run's container must not outlive it
            remove_project_resources(component=COMPONENT, labels={owner_label(): str(process.pid)})
    assert process.returncode == 130, f"Ctrl-C exits 130, got {process.returncode}: {err.decode()[-500:]}"
    assert not grading_containers(docker_engine, process.pid), "Ctrl-C left a grading container or volume behind"
