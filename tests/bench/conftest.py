"""pytest-benchmark suite: CPU and GPU throughput, for CI history (`make bench-pytest`).

Not part of the default `pytest` run (it measures, it does not test, and takes a minute): it is
collected only with DL_LAB_BENCH=1 (what `make bench-pytest` sets) or when tests/bench is named
on the command line. The timer synchronises the GPU, and every benchmark records the device facts
in extra_info so `--benchmark-compare` compares like with like.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import torch

from in_image.measure.system import environment, gpus
from in_image.measure.timing import synchronized_clock

HERE = Path(__file__).resolve().parent


def _named_explicitly(config: pytest.Config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if os.environ.get("DL_LAB_BENCH") == "1" or _named_explicitly(config):
        return None
    return True


def devices() -> list[Any]:
    """CPU always; each visible GPU too, or one GPU parameter skipped with the reason."""
    params: list[Any] = [pytest.param(torch.device("cpu"), id="cpu")]
    found = gpus()
    if found:
        params += [pytest.param(g.device, id=f"cuda{g.index}") for g in found]
    else:
        reason = environment(threads=torch.get_num_threads())["gpu_absent_reason"]
        params.append(pytest.param(None, id="cuda", marks=pytest.mark.skip(reason=f"no GPU: {reason}")))
    return params


@pytest.fixture(scope="session")
def device_facts() -> dict[str, Any]:
    env = environment(threads=torch.get_num_threads())
    return {
        "torch": env["torch"],
        "torch_cuda": env["torch_cuda"],
        "driver": env["driver"],
        "cpu": env["cpu"]["model"],
        "cpu_threads": env["cpu"]["threads"],
        "cpu_peak_gflops": env["cpu"]["peak_fp32_gflops"],
        "gpus": [g["name"] for g in env["gpus"]],
        "precision": env["precision"],
    }


@pytest.fixture
def sync_benchmark(benchmark: Any, device_facts: dict[str, Any]) -> Any:
    """pytest-benchmark's fixture with a GPU-synchronising timer and the machine's facts in extra_info."""
    # pytest-benchmark times with its `_timer` (set from --benchmark-timer); without a synchronize
    # a GPU benchmark would time kernel launches only. Set here so `pytest tests/bench` is right too.
    benchmark._timer = synchronized_clock
    benchmark.extra_info.update(device_facts)
    return benchmark
