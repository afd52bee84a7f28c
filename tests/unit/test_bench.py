"""Unit tests of the benchmark's pieces: statistics, peaks, speedups and the report writers (no Docker)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
import torch

from in_image.bench.report import write_bench_reports
from in_image.bench.runner import add_speedups
from in_image.bench.tables import markdown, plain_table
from in_image.bench.workloads import Result
from in_image.measure.peaks import CpuInfo, cpu_info, cpu_peak, gpu_peak, gpu_peak_for, parse_cpuinfo, simd_bits
from in_image.measure.stats import Summary, quantile, summarize
from in_image.measure.timing import TimingPolicy, measure
from tests.utils.schemas import schema


@pytest.mark.parametrize(
    "values",
    [[1.0], [3.0, 1.0], [1.0, 2.0, 3.0, 4.0], [5.0, 1.0, 4.0, 2.0, 3.0, 100.0], list(np.linspace(0.1, 2.0, 11))],
)
@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_quantile_matches_numpy(values: list[float], q: float) -> None:
    expected = float(np.quantile(values, q))
    assert quantile(values, q) == pytest.approx(expected), f"quantile({values}, {q}) should equal numpy's {expected}"


@pytest.mark.parametrize(
    ("values", "median", "iqr"),
    [
        ([2.0, 2.0, 2.0], 2.0, 0.0),
        ([1.0, 2.0, 3.0, 4.0, 5.0], 3.0, 2.0),
        ([1.0, 1.0, 1.0, 1.0, 50.0], 1.0, 0.0),  # one preempted run moves neither median nor IQR
    ],
)
def test_summarize_median_and_iqr(values: list[float], median: float, iqr: float) -> None:
    summary = summarize(values, calls_per_block=4)
    assert summary.median_s == pytest.approx(median), f"summary of {values}: {summary}"
    assert summary.iqr_s == pytest.approx(iqr), f"summary of {values}: {summary}"
    assert summary.repeats == len(values) and summary.calls_per_block == 4


@pytest.mark.parametrize("bad", [[], [1.0, -1.0], [float("nan")]])
def test_summarize_rejects_bad_timings(bad: list[float]) -> None:
    with pytest.raises(ValueError, match=r"timings|empty"):
        summarize(bad)


def test_measure_times_blocks_on_the_cpu() -> None:
    policy = TimingPolicy(warmup_calls=1, repeats=3, min_block_s=0.001)
    calls = []
    summary = measure(lambda: calls.append(1), device=torch.device("cpu"), policy=policy)
    assert summary.repeats == 3, "one median per timed block"
    assert summary.calls_per_block > 1, "a call this short must be repeated within a block to beat the timer's resolution"
    assert len(calls) >= 1 + 3 * summary.calls_per_block, "warm-up and every block call the function"


CPUINFO = """\
processor\t: 0
vendor_id\t: {vendor}
cpu family\t: {family}
model name\t: Test CPU
physical id\t: 0
core id\t: 0
cpu MHz\t\t: 2500.000
flags\t\t: {flags}

processor\t: 1
vendor_id\t: {vendor}
cpu family\t: {family}
model name\t: Test CPU
physical id\t: 0
core id\t: {second_core}
cpu MHz\t\t: 2500.000
flags\t\t: {flags}
"""


@pytest.mark.parametrize(
    ("vendor", "family", "flags", "second_core", "cores", "bits", "peak"),
    [
        # 2 cores x 2.5 GHz x 16 lanes x 2 (FMA) x 2 pipes
        ("GenuineIntel", 6, "sse sse2 avx avx2 fma avx512f", 1, 2, 512, 320.0),
        ("GenuineIntel", 6, "sse sse2 avx avx2 fma", 1, 2, 256, 160.0),
        ("GenuineIntel", 6, "sse sse2", 1, 2, 128, 40.0),  # no FMA: one FLOP per lane and pipe
        ("AuthenticAMD", 25, "sse avx avx2 fma avx512f", 1, 2, 256, 160.0),  # Zen 4: AVX-512 on 256-bit units
        ("AuthenticAMD", 26, "sse avx avx2 fma avx512f", 1, 2, 512, 320.0),  # Zen 5: full width
        ("GenuineIntel", 6, "sse avx avx2 fma", 0, 1, 256, 80.0),  # SMT siblings share one core
    ],
)
def test_cpu_peak_from_cpuinfo(  # noqa: PLR0917  (one parameter per table column)
    vendor: str, family: int, flags: str, second_core: int, cores: int, bits: int, peak: float
) -> None:
    text = CPUINFO.format(vendor=vendor, family=family, flags=flags, second_core=second_core)
    info = cpu_info(cpuinfo_text=text, allowed={0, 1})
    assert info.physical_cores == cores, f"physical cores of {flags!r} with second core id {second_core}"
    assert simd_bits(info) == bits
    result = cpu_peak(info, threads=8)
    assert result.fp32_gflops == pytest.approx(peak), result.formula
    assert f"{cores} cores" in result.formula


def test_cpu_peak_uses_only_the_threads_asked_for() -> None:
    info = CpuInfo("x", "GenuineIntel", 6, frozenset({"avx2", "fma"}), 8, 8, 2.0, "test")
    assert cpu_peak(info, threads=1).fp32_gflops == pytest.approx(cpu_peak(info, threads=8).fp32_gflops / 8)


def test_cpu_info_of_this_machine_is_read() -> None:
    info = cpu_info()
    assert info.logical_cpus >= 1 and info.clock_ghz > 0, f"/proc/cpuinfo should give CPUs and a clock: {info}"
    assert parse_cpuinfo("processor : 0\nflags : a b\n") == [{"processor": "0", "flags": "a b"}]


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA H100 NVL", "H100 NVL"),
        ("NVIDIA H200", "H200 SXM"),
        ("NVIDIA H200 NVL", "H200 NVL"),
        ("NVIDIA A100-SXM4-80GB", "A100 SXM4 80GB"),
        ("NVIDIA A100-SXM4-40GB", "A100 40GB"),
        ("NVIDIA A100 80GB PCIe", "A100 PCIe 80GB"),
        ("NVIDIA L4", "L4"),
        ("Tesla T4", "T4"),
        ("Tesla V100-SXM2-16GB", "V100 SXM2"),
        ("Tesla V100-PCIE-32GB", "V100 PCIe"),
        ("NVIDIA GeForce RTX 3060 Ti", "GeForce RTX 3060 Ti"),
        ("NVIDIA GeForce RTX 3090", "GeForce RTX 3090"),
        ("NVIDIA GeForce RTX 4070 Ti", "GeForce RTX 4070 Ti"),
        ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
    ],
)
def test_gpu_peak_table(name: str, label: str) -> None:
    peak = gpu_peak(name)
    assert peak is not None and peak.label == label, f"{name!r} should map to {label}, got {peak}"
    assert peak.fp32_tflops > 0 and peak.memory_gbps > 0


@pytest.mark.parametrize("name", ["NVIDIA GeForce RTX 4090 Laptop GPU", "NVIDIA B200", "AMD Instinct MI300X", ""])
def test_unknown_gpus_have_no_peak(name: str) -> None:
    assert gpu_peak(name) is None, f"{name!r} is not in the table: its fraction of peak must be 'unknown'"


@pytest.mark.parametrize(
    ("name", "kind", "expected"),
    [
        ("NVIDIA H100 80GB HBM3", "bf16", 989_400.0),
        ("NVIDIA H100 80GB HBM3", "memory", 3352.0),
        ("Tesla T4", "tf32", None),  # Turing has no TF32 tensor cores
        ("Tesla V100-SXM2-16GB", "bf16", None),
        ("NVIDIA L4", "fp32", 30_300.0),
    ],
)
def test_gpu_peak_in_report_units(name: str, kind: str, expected: float | None) -> None:
    assert gpu_peak_for(gpu_peak(name), kind) == (pytest.approx(expected) if expected else None)


def _result(device: str, workload: str, size: int, median_s: float, precision: str = "fp32") -> Result:
    summary = Summary(median_s, median_s * 0.1, median_s * 0.95, median_s * 1.05, median_s * 0.9, median_s * 1.2, 5, 2)
    return Result(
        workload=workload,
        device=device,
        device_name="NVIDIA H100 80GB HBM3" if device != "cpu" else "Test CPU",
        precision=precision,
        size=size,
        size_label=f"{size}x{size}",
        unit="GFLOP/s",
        work_per_call=2.0 * size**3,
        summary=summary,
        throughput=2.0 * size**3 / median_s / 1e9,
        peak=989_400.0 if device != "cpu" else 166.0,
        peak_kind=precision,
        fraction_of_peak=0.5,
    )


def test_speedup_is_cpu_time_over_gpu_time_of_the_same_work() -> None:
    results = [
        _result("cpu", "matmul", 512, 0.010),
        _result("cuda:0", "matmul", 512, 0.001),
        _result("cuda:0", "matmul", 512, 0.0005, precision="bf16"),
        _result("cuda:0", "matmul", 8192, 0.002),  # no CPU run at this size: no speedup
    ]
    add_speedups(results)
    speedups = [r.speedup_vs_cpu for r in results]
    assert speedups[0] is None, "the CPU is the baseline"
    assert speedups[1:3] == [pytest.approx(10.0), pytest.approx(20.0)]
    assert speedups[3] is None, "a size the CPU did not run has no speedup"


def synthetic_report(*, with_gpu: bool) -> dict[str, Any]:
    results = [_result("cpu", "matmul", n, 1e-9 * n**3) for n in (64, 256)]
    if with_gpu:
        results += [_result("cuda:0", "matmul", n, 1e-12 * n**3, precision=p) for p in ("fp32", "bf16") for n in (64, 256, 8192)]
        results += [_result("cpu", "conv2d_fwd_bwd", 16, 0.2), _result("cuda:0", "conv2d_fwd_bwd", 16, 0.002, "tf32")]
    add_speedups(results)
    gpus = [
        {
            "index": 0,
            "name": "NVIDIA H100 80GB HBM3",
            "capability": "9.0",
            "memory_gib": 79.1,
            "multiprocessors": 132,
            "peaks": {"fp32_tflops": 66.9, "tf32_tflops": 494.7, "bf16_tflops": 989.4, "memory_gbps": 3352, "host_link_gbps": 64},
        }
    ]
    return {
        "schema": "dl-lab.bench/1",
        "created": "2026-11-01T00:00:00+00:00",
        "quick": True,
        "duration_s": 1.0,
        "timing": {"warmup_calls": 1, "repeats": 5, "min_block_s": 0.01},
        "environment": {
            "python": "3.11",
            "platform": "Linux",
            "in_container": False,
            "torch": "2.13.0",
            "torch_cuda": "13.0" if with_gpu else None,
            "cudnn": 91000 if with_gpu else None,
            "driver": "580.1" if with_gpu else None,
            "cpu": {
                "model": "Test CPU",
                "vendor": "x",
                "logical_cpus": 2,
                "physical_cores": 2,
                "clock_ghz": 2.6,
                "clock_source": "test",
                "simd_flags": ["avx2"],
                "torch_cpu_capability": "AVX2",
                "threads": 2,
                "interop_threads": 2,
                "peak_fp32_gflops": 166.0,
                "peak_formula": "2 cores x ...",
            },
            "precision": {
                "cuda_matmul_fp32_precision": "none",
                "cudnn_conv_fp32_precision": "tf32",
                "mkldnn_matmul_fp32_precision": "none",
                "note": "n",
            },
            "gpus": gpus if with_gpu else [],
            "gpu_absent_reason": None if with_gpu else "no CUDA build: test",
        },
        "results": [r.as_dict() for r in results],
        "fidelity": [{"check": "cpu_matmul_vs_torch_benchmark", "passed": True, "ratio": 0.98}],
    }


def _written(tmp_path: Path, *, with_gpu: bool) -> tuple[dict[str, Any], str]:
    report = synthetic_report(with_gpu=with_gpu)
    jsonschema.validate(report, schema("bench-report"))
    paths = write_bench_reports(report, tmp_path)
    assert json.loads(paths["json"].read_text()) == report, "bench.json must round-trip the report"
    assert paths["png"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "bench.png must be a PNG"
    text = paths["md"].read_text()
    assert "| matmul | cpu | fp32 | 64x64 |" in text, f"the markdown table lists every result:\n{text}"
    return report, text


def test_report_without_a_gpu_says_why(tmp_path: Path) -> None:
    report, text = _written(tmp_path, with_gpu=False)
    assert "No GPU was found" in text, f"the report must say there is no GPU:\n{text}"
    assert "no CUDA build: test" in text and "no CUDA build: test" in plain_table(report)


def test_report_with_a_gpu_shows_speedups(tmp_path: Path) -> None:
    _, text = _written(tmp_path, with_gpu=True)
    assert "No GPU was found" not in text, f"a report with a GPU must not say there is none:\n{text}"
    assert "H100" in text and "x |" in text, "GPU rows carry a speedup"


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda r: r["results"][0].update(device="gpu0"), "device"),
        (lambda r: r["results"][0].update(median_s=0), "median_s"),
        (lambda r: r["environment"].pop("gpu_absent_reason"), "gpu_absent_reason"),
        (lambda r: r.update(results=[]), "results"),
    ],
)
def test_schema_rejects_malformed_reports(change: Any, path: str) -> None:
    report = synthetic_report(with_gpu=False)
    change(report)
    with pytest.raises(jsonschema.ValidationError) as rejected:
        jsonschema.validate(report, schema("bench-report"))
    where = [str(part) for part in rejected.value.absolute_path]
    assert path in where or path in rejected.value.message, f"the schema should reject {path!r}, not: {rejected.value.message}"


def test_markdown_marks_failed_fidelity() -> None:
    report = synthetic_report(with_gpu=False)
    report["fidelity"] = [{"check": "cpu_matmul_vs_torch_benchmark", "passed": False, "ratio": 0.5}]
    assert "FAILED" in markdown(report)
