"""`harness bench` in a container of the CPU image: the reports come back, owned by the caller."""

from __future__ import annotations

import json
import os
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main as cli_main
from tests.utils.schemas import schema

pytestmark = pytest.mark.docker


def test_bench_in_the_cpu_image(cpu_image: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "reports"
    code = cli_main(["bench", "--variant", "cpu", "--quick", "--reports", str(out)])
    captured = capsys.readouterr()
    assert code == 0, f"harness bench --variant cpu failed:\n{captured.err[-3000:]}"
    files = {p.name: p for p in out.iterdir()}
    assert set(files) >= {"bench.json", "bench.md", "bench.png"}, f"reports missing: {sorted(files)}"
    owners = {name: p.stat().st_uid for name, p in files.items()}
    assert set(owners.values()) == {os.getuid()}, f"the container must write as the caller (uid {os.getuid()}): {owners}"
    report = json.loads(files["bench.json"].read_text())
    jsonschema.validate(report, schema("bench-report"))
    env = report["environment"]
    assert env["in_container"], "the figures must come from inside the image"
    assert env["torch_cuda"] is None and env["gpus"] == [], "the CPU image has a CPU-only torch"
    assert "cpu variant" in env["gpu_absent_reason"] and "CPU-only build" in env["gpu_absent_reason"], env["gpu_absent_reason"]
    assert "CPU vs GPU" in captured.out and "No GPU was found" in captured.out, "the terminal table and the no-GPU sentence"
