"""`harness smoke` in containers: the CPU image (and the CUDA image on an engine without the NVIDIA runtime) exit "no GPU"."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import docker
import pytest

from harness.cli import main as cli_main
from harness.engine.gpu import gpu_decision
from in_image.smoke import codes

pytestmark = pytest.mark.docker


def _run(variant: str, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object], ET.Element, str]:
    code = cli_main(["smoke", "--variant", variant, "--reports", str(out)])
    captured = capsys.readouterr()
    report = json.loads((out / "smoke.json").read_text())
    suite = ET.parse(out / "smoke.junit.xml").getroot()
    return code, report, suite, captured.out + captured.err


def test_smoke_in_the_cpu_image_exits_no_gpu(cpu_image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, report, suite, output = _run("cpu", tmp_path, capsys)
    assert code == codes.NO_GPU, f"the CPU image has no GPU: expected exit {codes.NO_GPU}, got {code}\n{output[-3000:]}"
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert next(iter(cases)) == "nvidia_runtime", "the engine's runtime is the first check"
    assert cases["nvidia_runtime"].find("skipped") is not None
    assert cases["matmul_fp32[cpu]"].find("*") is None, "the CPU matmul check must pass in the image"
    assert suite.get("failures") == "0" and suite.get("errors") == "0", ET.tostring(suite, encoding="unicode")[:3000]
    assert "CPU-only build" in str(report["gpu_absent_reason"])
    assert "no GPU present" in output, "the terminal summary says why it exited 3"


def test_smoke_in_the_cuda_image_without_nvidia_runtime(
    docker_engine: docker.DockerClient, cuda_image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if gpu_decision(docker_engine).use_gpu:
        pytest.skip("this engine gives containers a GPU: that path is covered by tests/test_smoke_gpu.py")
    code, report, suite, output = _run("cuda", tmp_path, capsys)
    assert code == codes.NO_GPU, f"no NVIDIA runtime must mean 'no GPU' (exit {codes.NO_GPU}), got {code}\n{output[-3000:]}"
    runtime = suite.find("testcase[@name='nvidia_runtime']/skipped")
    assert runtime is not None and "no NVIDIA runtime" in runtime.get("message", ""), "the runtime check says what is missing"
    assert "no NVIDIA runtime" in str(report["gpu_absent_reason"]), report["gpu_absent_reason"]
    assert suite.get("failures") == "0" and suite.get("errors") == "0", "the CPU checks still pass in the CUDA image"
