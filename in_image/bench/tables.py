"""The benchmark report's tables and markdown: no torch, no matplotlib (the host imports this).

Its schema is schemas/bench-report.schema.json.
"""

from __future__ import annotations

import math
from typing import Any


def _fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _fmt_opt(value: float | None, pattern: str) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else pattern.format(value)


def table_rows(report: dict[str, Any]) -> list[list[str]]:
    """One row of display strings per result (shared by the markdown, the plain and the rich tables)."""
    rows = []
    for r in report["results"]:
        rows.append(
            [
                r["workload"],
                r["device"],
                r["precision"],
                r["size_label"],
                _fmt_time(r["median_s"]),
                f"±{100 * r['relative_iqr']:.0f} %",
                f"{r['throughput']:,.1f} {r['unit']}",
                _fmt_opt(r["fraction_of_peak"] and 100 * r["fraction_of_peak"], "{:.0f} %"),
                _fmt_opt(r["speedup_vs_cpu"], "{:.1f}x"),
            ]
        )
    return rows


TABLE_HEADER = ["workload", "device", "precision", "size", "median", "IQR", "throughput", "of peak", "GPU/CPU"]


def no_gpu_sentence(report: dict[str, Any]) -> str | None:
    reason = report["environment"]["gpu_absent_reason"]
    return f"No GPU was found, so only the CPU half ran. Why: {reason}." if reason else None


def plain_table(report: dict[str, Any]) -> str:
    """A fixed-width table for terminals without rich (inside the container)."""
    rows = [TABLE_HEADER, *table_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    if sentence := no_gpu_sentence(report):
        lines.append(sentence)
    return "\n".join(lines)


def markdown(report: dict[str, Any], *, image_name: str = "bench.png") -> str:
    env = report["environment"]
    cpu = env["cpu"]
    lines = [
        "# CPU vs GPU benchmark",
        "",
        f"Run {report['created']}{' (quick sizes)' if report['quick'] else ''}, {report.get('duration_s', '?')} s.",
        "",
        f"![speedup and throughput against size]({image_name})",
        "",
        "## Machine",
        "",
        f"- CPU: {cpu['model']}, {cpu['threads']} threads on {cpu['physical_cores']} cores, "
        f"{cpu['clock_ghz']} GHz ({cpu['clock_source']}), SIMD {', '.join(cpu['simd_flags']) or 'none'}, "
        f"torch kernels {cpu['torch_cpu_capability']}",
        f"- CPU peak: {cpu['peak_formula']}",
        f"- torch {env['torch']}, torchvision {env.get('torchvision', '–')}, CUDA build {env['torch_cuda'] or 'none'}, "
        f"cuDNN {env['cudnn'] or '–'}, "
        f"driver {env['driver'] or '–'}, Python {env['python']}{' (in a container)' if env['in_container'] else ''}",
        f"- precision settings: cuBLAS fp32 matmul `{env['precision']['cuda_matmul_fp32_precision']}` "
        f"(the benchmark sets `ieee` for fp32 and `tf32` for TF32), cuDNN conv "
        f"`{env['precision']['cudnn_conv_fp32_precision']}`, oneDNN matmul "
        f"`{env['precision']['mkldnn_matmul_fp32_precision']}` ({env['precision']['note']})",
    ]
    for gpu in env["gpus"]:
        peaks = gpu["peaks"]
        peak_text = (
            "peaks unknown (not in the table)"
            if peaks == "unknown"
            else f"peaks {peaks['fp32_tflops']} fp32 / {peaks['tf32_tflops'] or '–'} TF32 / "
            f"{peaks['bf16_tflops'] or '–'} bf16 TFLOP/s, {peaks['memory_gbps']} GB/s"
        )
        lines.append(
            f"- GPU {gpu['index']}: {gpu['name']}, compute capability {gpu['capability']}, {gpu['memory_gib']} GiB, {peak_text}"
        )
    if sentence := no_gpu_sentence(report):
        lines += ["", f"**{sentence}**"]
    lines += [
        "",
        "## Results",
        "",
        "Median time per call, interquartile range relative to the median, throughput, fraction of the "
        "device's peak and the GPU's speedup over the CPU on the same work.",
        "",
        "| " + " | ".join(TABLE_HEADER) + " |",
        "|" + "|".join("---" for _ in TABLE_HEADER) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(report)]
    lines += ["", "## Fidelity checks", ""]
    for check in report["fidelity"]:
        verdict = {True: "passed", False: "FAILED", None: "not measured"}[check["passed"]]
        detail = ", ".join(f"{k}={_short(v)}" for k, v in check.items() if k not in {"check", "passed"})
        lines.append(f"- `{check['check']}`: {verdict} ({detail})")
    return "\n".join(lines) + "\n"


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
