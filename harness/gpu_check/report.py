"""The gpu-check's reports: this machine's facts, gpu-check.json, .md and .junit.xml, the table, the archive."""

from __future__ import annotations

import json
import logging
import platform
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.config import REPO_ROOT, facts
from harness.errors import HarnessError
from harness.gpu_check.steps import NO_GPU, OK
from in_image.junit import JUnitCase, write_junit

log = logging.getLogger(__name__)
SCHEMA = "dl-lab.gpu-check/1"


def machine_facts() -> dict[str, Any]:
    """This Python's torch, CUDA, driver and GPUs, read in a child process (the harness keeps no CUDA context)."""
    try:
        result = subprocess.run([sys.executable, "-m", "in_image.measure"], cwd=REPO_ROOT, capture_output=True, text=True,
                                timeout=120, check=False)
    except subprocess.TimeoutExpired:
        raise HarnessError("reading this machine's facts (python -m in_image.measure) took over 120 s") from None
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines()
        raise HarnessError(f"this Python ({sys.executable}) cannot run the GPU checks: {lines[-1] if lines else 'no output'}"
                           " (it needs torch: pip install -e '.[local]')")
    facts: dict[str, Any] = json.loads(result.stdout)
    return facts


def image_pins() -> dict[str, str]:
    """The images' torch and CUDA line (docker/versions.env, or an exported CUDA_LINE): the versions the course ships."""
    return {"torch": facts().torch_version, "cuda": facts().cuda_line_name}


def summary_markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    lines = [
        "# gpu-check", "",
        f"- created: {report['created']}; verdict: **{report['verdict']}** (exit {report['exit_code']})",
        f"- GPUs: {', '.join(env['gpus']) or 'none'}; driver {env['driver']}",
        f"- torch on this machine: {env['torch']} (CUDA {env['torch_cuda']}); in the images: "
        f"{env['image_torch']} (CUDA {env['image_cuda']})",
        f"- Python {env['python']} at {env['python_executable']}; {env['platform']}",
    ]
    if env["gpu_absent_reason"]:
        lines.append(f"- no GPU: {env['gpu_absent_reason']}")
    lines += ["", "| step | what | outcome | seconds | message |", "|---|---|---|---|---|"]
    for step in report["steps"]:
        message = step["message"].replace("|", "\\|")
        lines.append(f"| {step['name']} | {step['what']} | {step['outcome']} | {step['seconds']:.1f} | {message} |")
    lines.append(f"\ntotal: {report['total_s']:.1f} s (budget {report['budget_s']:.0f} s)")
    return "\n".join(lines) + "\n"


def write_reports(report: dict[str, Any], reports: Path) -> list[Path]:
    reports.mkdir(parents=True, exist_ok=True)
    paths = [reports / "gpu-check.json", reports / "gpu-check.md", reports / "gpu-check.junit.xml"]
    paths[0].write_text(json.dumps(report, indent=2) + "\n")
    paths[1].write_text(summary_markdown(report))
    outcome = {"passed": "passed", "skipped": "skipped", "failed": "failed", "timeout": "failed"}
    cases = [JUnitCase(name=s["name"], classname="gpu_check", time_s=s["seconds"], outcome=outcome[s["outcome"]],  # type: ignore[arg-type]
                       message=s["message"], details=s["log"]) for s in report["steps"]]
    write_junit(paths[2], "dl-lab gpu-check", cases)
    return paths


def merge_recorded_tables(folder: Path, published: Path) -> dict[str, Any]:
    """The labs' GPU tables recorded in folder (labNN.json each) as one file to publish; {} when none was recorded."""
    tables: dict[str, Any] = {}
    for path in sorted(folder.glob("lab*.json")) if folder.is_dir() else []:
        try:
            tables.update(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError) as error:
            log.warning("a recorded GPU table cannot be read (%s): %s", path, error)
    if tables:
        published.write_text(json.dumps(tables, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return tables


def pack(reports: Path, archive: Path) -> Path:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(reports, arcname=reports.name)
    return archive


def environment(facts: dict[str, Any]) -> dict[str, Any]:
    pins = image_pins()
    return {
        "python": platform.python_version(), "python_executable": sys.executable, "platform": platform.platform(),
        "torch": facts.get("torch"), "torch_cuda": facts.get("torch_cuda"), "driver": facts.get("driver"),
        "image_torch": pins["torch"], "image_cuda": pins["cuda"],
        "gpus": [f"cuda:{g['index']} {g['name']}" for g in facts.get("gpus", [])],
        "gpu_absent_reason": facts.get("gpu_absent_reason"), "machine": facts,
    }


def print_table(report: dict[str, Any], *, console: Console) -> None:
    table = Table(title="gpu-check", title_justify="left")
    for column in ("step", "outcome", "time", "message"):
        table.add_column(column, justify="right" if column == "time" else "left", overflow="fold")
    for step in report["steps"]:
        style = {"passed": "green", "skipped": "yellow"}.get(step["outcome"], "red")
        table.add_row(step["name"], f"[{style}]{step['outcome']}[/]", f"{step['seconds']:.1f} s", escape(step["message"]))
    console.print(table)
    style = {OK: "green", NO_GPU: "yellow"}.get(report["exit_code"], "red")
    console.print(f"[{style}]gpu-check: {report['verdict']} (exit {report['exit_code']})[/]")
