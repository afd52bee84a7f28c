"""The GPU paths of `harness smoke` and `harness bench`: run only where a GPU is visible (skipped with the reason elsewhere)."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest
import torch

from harness.cli import main as cli_main
from harness.engine.gpu import gpu_decision
from in_image.bench.runner import run as bench_run
from in_image.measure.system import gpu_absence_reason, gpus
from in_image.measure.timing import TimingPolicy, measure
from in_image.smoke import codes
from in_image.smoke.__main__ import main as smoke_main

NO_GPU = gpu_absence_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(NO_GPU is not None, reason=f"no GPU: {NO_GPU}")]


def test_smoke_passes_on_this_gpu(tmp_path: Path) -> None:
    code = smoke_main(["--reports", str(tmp_path), "--memory-fraction", "0.3"])
    report = json.loads((tmp_path / "smoke.json").read_text())
    bad = [case for case in report["cases"] if case["outcome"] in ("failed", "error")]
    assert code == codes.OK, f"smoke on a working GPU must exit 0, got {code}: {bad}"
    ran = {case["name"] for case in report["cases"] if case["outcome"] == "passed"}
    for name in ("gpu_visible", "nvidia_smi", "torch_cuda_build", "matmul_fp32[cuda:0]", "gradcheck_float64[cuda:0]"):
        assert name in ran, f"{name} must run and pass on a GPU machine: {sorted(ran)}"


def test_gpu_timing_waits_for_the_kernel() -> None:
    """A 10-million-cycle sleep kernel takes milliseconds; timing only its launch would give microseconds."""
    device = gpus()[0].device
    with torch.cuda.device(device):
        summary = measure(lambda: torch.cuda._sleep(10_000_000), device=device, policy=TimingPolicy.quick())
    assert summary.median_s > 1e-3, f"GPU timing must include the kernel's run time, got {summary.median_s * 1e6:.0f} µs"


def test_quick_bench_measures_every_gpu_precision() -> None:
    report = bench_run(quick=True, threads=1)
    gpu_rows = [r for r in report["results"] if r["device"].startswith("cuda")]
    precisions = {r["precision"] for r in gpu_rows if r["workload"] == "matmul"}
    expected = {"fp32", "tf32", "bf16"} if gpus()[0].capability >= (8, 0) else {"fp32"}
    assert precisions == expected, f"GPU matmul precisions: {precisions}"
    assert {"copy_h2d", "copy_d2h"} <= {r["workload"] for r in gpu_rows}, "copy bandwidth in both directions"
    assert all(r["speedup_vs_cpu"] for r in gpu_rows if r["workload"] == "matmul" and r["size"] in (64, 256)), "speedups"
    assert report["environment"]["gpu_absent_reason"] is None and report["environment"]["driver"], report["environment"]


@pytest.mark.docker
def test_smoke_in_the_cuda_image_passes(docker_engine: docker.DockerClient, cuda_image: str, tmp_path: Path) -> None:
    if not gpu_decision(docker_engine).use_gpu:
        pytest.skip("the engine gives containers no GPU here")
    code = cli_main(["smoke", "--variant", "cuda", "--reports", str(tmp_path), "--memory-fraction", "0.3"])
    report = json.loads((tmp_path / "smoke.json").read_text())
    assert code == codes.OK, f"smoke in {cuda_image} must pass on a GPU node: {report['verdict']}"
