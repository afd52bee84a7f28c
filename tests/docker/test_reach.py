"""Nothing that computes an answer reaches the student's kernel: real containers of the CPU image.

From a kernel in the lab image (the notebook user, as `make lab` and the hub start it) and from the
student's kernel during grading, no module of the answer key (reference computations, data-set
rebuilders) imports, /opt/dl-lab-judge cannot be listed or read, no importable file defines a
reference computation, and neither the answer key's canary nor the hidden tests' is in any readable
file (tests/docker/checks/reach.py). The positive control: as root, the canary is there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import docker
import nbformat
import pytest

from harness.cli import main
from harness.config import REPO_ROOT, facts
from tests.answers.broken import CANARY as HIDDEN_CANARY
from tests.answers.notebooks import submission, write
from tests.utils.jupyter import run_in_image

pytestmark = pytest.mark.docker
CHECKS = Path(__file__).parent / "checks"
KEY_CANARY = "dl-lab-answer-key-" + "canary-3d9b"
JUDGE_ONLY = "/opt/dl-lab-judge/answer_key/__init__.py"
REVERSED = [KEY_CANARY[::-1], HIDDEN_CANARY[::-1]]


def _reach(printed: str) -> dict[str, Any]:
    assert "REACH " in printed, f"the check did not run in the kernel: {printed[-2000:]}"
    found: dict[str, Any] = json.loads(printed.split("REACH ", 1)[1].splitlines()[0])
    return found


def _assert_out_of_reach(found: dict[str, Any], where: str) -> None:
    assert found["uid"] == facts().nb_uid, f"{where}: the kernel runs as the notebook user: {found['uid']}"
    assert not found["judge_on_path"], f"{where}: the answer key's folder is on the kernel's sys.path"
    imported = [name for name, outcome in found["imports"].items() if outcome == "imported"]
    assert not imported, f"{where}: the kernel imports the answer key: {imported}"
    opened = [path for path, outcome in found["opens"].items() if outcome == "read"]
    assert not opened, f"{where}: the kernel reads the judge-only folder: {opened}"
    assert all(outcome == "PermissionError" for outcome in found["opens"].values()), found["opens"]
    assert not found["reference_definitions"], (
        f"{where}: modules the kernel can import compute answers: {found['reference_definitions']}")
    assert not found["canaries"], f"{where}: readable files hold a canary: {found['canaries']}"


def test_the_answer_key_is_in_the_image_for_root_only(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    """The positive control: the canary is really there, and root (the judge) reads it; the folder is 0700 root."""
    status, output = run_in_image(docker_engine, cpu_image, [f"stat -c '%a %U' /opt/dl-lab-judge && cat {JUDGE_ONLY}"],
                                  entrypoint=["sh", "-c"], user="0", network_disabled=True)
    assert status == 0, output
    assert output.splitlines()[0] == "700 root", f"the judge-only folder must be 0700 root: {output.splitlines()[0]}"
    assert KEY_CANARY in output, "the canary must be in the answer key (else the reach checks prove nothing)"


def test_a_lab_kernel_cannot_reach_the_answer_key(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    status, output = run_in_image(docker_engine, cpu_image, ["/checks/in_kernel.py", *REVERSED],
                                  entrypoint=["/opt/venv/bin/python"], network_disabled=True,
                                  volumes={str(CHECKS): {"bind": "/checks", "mode": "ro"}})
    assert status == 0, output[-3000:]
    _assert_out_of_reach(_reach(output), "lab kernel")


def test_the_kernel_being_graded_cannot_reach_the_answer_key(cpu_image: str, tmp_path: Path) -> None:
    check = (CHECKS / "reach.py").read_text()
    cell = f"CANARIES = tuple(c[::-1] for c in {json.dumps(REVERSED)})\n{check}"
    notebook = write(submission("01", solved=False, insert=(cell,)), tmp_path / "alcance.ipynb")
    assert main(["grade", str(notebook), "--lab", "01", "--reports", str(tmp_path / "reports")]) in (0, 1)
    report = json.loads((tmp_path / "reports" / "grade-01.json").read_text())
    row = report["submissions"][0]
    assert row["status"] == "ok", row["message"]
    assert row["score"] == 0, "a blank notebook earns nothing"
    executed = nbformat.read(row["executed_notebook"], as_version=4)
    printed = "".join(o.get("text", "") for c in executed.cells if c.cell_type == "code" for o in c.outputs)
    _assert_out_of_reach(_reach(printed), "graded kernel")
    assert KEY_CANARY not in (tmp_path / "reports" / "grade-01.json").read_text()


def test_the_repository_plants_the_canary_where_the_control_reads_it() -> None:
    assert KEY_CANARY in (REPO_ROOT / "labs" / "answer_key" / "__init__.py").read_text()
