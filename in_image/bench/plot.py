"""bench.png: the figure a student looks at instead of the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only: there is no display in a container or on CI
import matplotlib.pyplot as plt

from in_image.bench.tables import no_gpu_sentence


def plot(report: dict[str, Any], path: Path) -> Path:
    """Three panels a student can read at a glance: throughput and speedup of matmul against size, other workloads."""
    results = report["results"]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(17, 5.2), layout="constrained")
    series = _matmul_series(results)
    _matmul_panels(left, middle, series)
    _peak_lines(left, report["environment"])
    for axis, title, ylabel in (
        (left, "Matrix multiply: throughput", "GFLOP/s"),
        (middle, "Matrix multiply: GPU speedup over CPU fp32", "times faster than the CPU"),
    ):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("matrix size n (n x n)")
        axis.set_ylabel(ylabel)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)
    sentence = no_gpu_sentence(report)
    if series and any(device != "cpu" for device, _ in series):
        middle.axhline(1, color="red", linewidth=1, label="same speed")
        middle.legend(fontsize=8)
    else:
        middle.set_axis_off()  # an empty log grid would suggest data; the reason takes its place
        middle.text(0.5, 0.5, _wrap(sentence or "no GPU results"), ha="center", va="center", transform=middle.transAxes)
    _other_workloads(right, results, sentence)
    figure.suptitle("CPU vs GPU: how much faster is the GPU?")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _matmul_series(results: list[dict[str, Any]]) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """The matmul rows by (device, precision), each sorted by size."""
    series: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        if r["workload"] == "matmul":
            series.setdefault((r["device"], r["precision"]), []).append(r)
    for points in series.values():
        points.sort(key=lambda r: r["size"])
    return series


def _matmul_panels(left: Any, middle: Any, series: dict[tuple[str, str], list[dict[str, Any]]]) -> None:
    """Throughput of every series on the left; the GPU series' speedups over the CPU in the middle."""
    for (device, precision), points in sorted(series.items()):
        label = f"{device} {precision}"
        left.plot([r["size"] for r in points], [r["throughput"] for r in points], marker="o", label=label)
        paired = [r for r in points if r["speedup_vs_cpu"]] if device != "cpu" else []
        if paired:
            middle.plot([r["size"] for r in paired], [r["speedup_vs_cpu"] for r in paired], marker="o", label=label)


def _peak_lines(axis: Any, environment: dict[str, Any]) -> None:
    """Dashed lines at the CPU's fp32 peak and each known GPU's bf16 peak."""
    cpu_peak = environment["cpu"]["peak_fp32_gflops"]
    if cpu_peak:
        axis.axhline(cpu_peak, color="grey", linestyle="--", linewidth=1, label=f"CPU fp32 peak {cpu_peak:.0f}")
    for gpu in environment["gpus"]:
        if gpu["peaks"] != "unknown" and gpu["peaks"]["bf16_tflops"]:
            peak = gpu["peaks"]["bf16_tflops"] * 1000
            axis.axhline(peak, color="black", linestyle=":", linewidth=1, label=f"cuda:{gpu['index']} bf16 peak")


def _other_workloads(axis: Any, results: list[dict[str, Any]], sentence: str | None) -> None:
    others = [r for r in results if r["workload"] != "matmul" and r["speedup_vs_cpu"]]
    if others:
        labels = [f"{r['workload']} {r['size_label']}\n{r['device']} {r['precision']}" for r in others]
        values = [r["speedup_vs_cpu"] for r in others]
        axis.barh(labels, values, color=["tab:green" if v >= 1 else "tab:red" for v in values])
        axis.axvline(1, color="black", linewidth=1)
        axis.set_xscale("log")
        axis.set_xlabel("GPU speedup over CPU (log; left of 1 = CPU faster)")
        axis.set_title("Other workloads: GPU speedup")
        axis.tick_params(axis="y", labelsize=7)
    else:
        cpu = [r for r in results if r["workload"] != "matmul"]
        axis.barh([f"{r['workload']} {r['size_label']}" for r in cpu], [r["throughput"] for r in cpu])
        for index, r in enumerate(cpu):
            axis.text(r["throughput"], index, f" {r['throughput']:,.1f} {r['unit']}", va="center", fontsize=8)
        axis.set_xscale("log")
        axis.set_title("Other workloads on the CPU (no GPU to compare)")
        axis.tick_params(axis="y", labelsize=8)


def _wrap(text: str, width: int = 40) -> str:
    words, lines, current = text.split(), [], ""
    for word in words:
        if len(current) + len(word) + 1 > width and current:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return "\n".join(lines)
