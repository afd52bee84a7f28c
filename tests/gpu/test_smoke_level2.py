"""Smoke level 2 and `harness gpu-check` on a real GPU (skipped with the reason where there is none)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness.config import REPO_ROOT
from in_image.measure.system import gpu_absence_reason, gpus
from in_image.smoke import codes
from in_image.smoke.__main__ import main as smoke_main
from in_image.smoke.stress import memory_test

NO_GPU = gpu_absence_reason()
pytestmark = [pytest.mark.gpu, pytest.mark.skipif(NO_GPU is not None, reason=f"no GPU: {NO_GPU}")]
LEVEL2 = ("ecc_errors", "memory_repair", "pcie_link", "memtest", "hbm_bandwidth", "sustained_gemm", "clock_throttle")


def test_level2_passes_on_this_gpu(tmp_path: Path) -> None:
    code = smoke_main(["--reports", str(tmp_path), "--level", "2", "--gemm-seconds", "10"])
    report = json.loads((tmp_path / "smoke.json").read_text())
    bad = [(c["name"], c["message"]) for c in report["cases"] if c["outcome"] in ("failed", "error")]
    assert code == codes.OK, f"level 2 on a working GPU must exit 0, got {code}: {bad}"
    passed = {c["name"].split("[")[0] for c in report["cases"] if c["outcome"] == "passed"}
    missing = [name for name in LEVEL2 if name not in passed]
    assert not missing, f"level-2 checks that did not pass: {missing}"
    assert report["environment"]["health_source"], "the report says where the health readings came from"


def test_memory_test_on_the_gpu_finds_a_planted_fault() -> None:
    buffer = torch.empty(8 << 20, dtype=torch.int64, device=gpus()[0].device)

    def flip(written: torch.Tensor, pattern: str) -> None:
        if pattern == "address":
            written[123_457] ^= 1 << 40

    results = {r.pattern: r for r in memory_test(buffer, chunk_words=1 << 20, after_write=flip)}
    assert results["address"].mismatches == 1 and results["address"].first_bad_word == 123_457, results["address"]
    assert sum(r.mismatches for r in results.values()) == 1, results


@pytest.mark.slow
def test_gpu_check_passes_on_this_machine(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "harness", "gpu-check", "--reports", str(tmp_path), "--gemm-seconds", "20"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=900, check=False)
    report = json.loads((tmp_path / "gpu-check.json").read_text())
    failed = [(s["name"], s["message"]) for s in report["steps"] if s["outcome"] != "passed"]
    assert done.returncode == 0, f"gpu-check on a GPU machine must exit 0: {failed}"
    assert report["total_s"] < 480, f"gpu-check took {report['total_s']:.0f} s, over 8 minutes"
