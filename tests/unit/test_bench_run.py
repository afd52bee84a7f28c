"""The benchmark run for real, in this Python, at quick sizes: the report it writes and what it says without a GPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch

from in_image.bench.__main__ import main as bench_main
from tests.utils.schemas import schema


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("bench")
    assert bench_main(["--reports", str(out), "--quick", "--threads", "1"]) == 0, "python -m in_image.bench should succeed"
    return out, json.loads((out / "bench.json").read_text())


def test_report_follows_the_schema(quick_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = quick_run
    jsonschema.validate(report, schema("bench-report"))
    assert {p.name for p in out.iterdir()} >= {"bench.json", "bench.md", "bench.png"}


@pytest.mark.parametrize("workload", ["matmul", "elementwise_add", "conv2d_fwd_bwd", "mlp_train_step"])
def test_every_workload_runs_on_the_cpu(quick_run: tuple[Path, dict[str, Any]], workload: str) -> None:
    _, report = quick_run
    rows = [r for r in report["results"] if r["workload"] == workload and r["device"] == "cpu"]
    assert rows, f"no CPU result for {workload}"
    assert all(r["throughput"] > 0 and r["iqr_s"] >= 0 for r in rows), rows


def test_settings_and_versions_are_recorded(quick_run: tuple[Path, dict[str, Any]]) -> None:
    _, report = quick_run
    env = report["environment"]
    assert env["torch"] == torch.__version__
    assert env["cpu"]["threads"] == 1, "--threads 1 must be applied and recorded"
    assert env["cpu"]["peak_fp32_gflops"] > 0 and "cores" in env["cpu"]["peak_formula"]
    assert env["precision"]["cudnn_conv_fp32_precision"] in {"tf32", "ieee", "none"}
    assert report["timing"]["repeats"] >= 3


def test_fidelity_check_is_reported(quick_run: tuple[Path, dict[str, Any]]) -> None:
    _, report = quick_run
    check = report["fidelity"][0]
    # Whether it passes is a measurement (see `make bench`), not a test: here only that it was taken.
    assert check["check"] == "cpu_matmul_vs_torch_benchmark" and check["torch_benchmark_gflops"] > 0, check


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the no-GPU report does not apply")
def test_without_gpu_the_report_says_why(quick_run: tuple[Path, dict[str, Any]]) -> None:
    out, report = quick_run
    reason = report["environment"]["gpu_absent_reason"]
    assert reason, "with no GPU the report must give the reason"
    assert not [r for r in report["results"] if r["device"] != "cpu"], "no GPU rows without a GPU"
    assert reason in (out / "bench.md").read_text()
