"""`harness bench`: CPU vs GPU benchmark inside the lab image (or the host's Python), with a report.

Writes bench.json, bench.md and bench.png into --reports (default reports/) and prints a table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.commands.options import positive_int
from harness.config import REPORTS_DIR
from harness.engine.module_run import RUN_VARIANTS, default_variant, report_console, run_module
from harness.errors import HarnessError
from in_image.bench.tables import TABLE_HEADER, no_gpu_sentence, table_rows


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="CPU vs GPU benchmark (matmul sweep, memory-bound op, conv, MLP step, copies) with a report",
        description=__doc__,
    )
    parser.add_argument(
        "--variant",
        choices=RUN_VARIANTS,
        default=None,
        help="cpu or cuda image, or local (this Python); default: cuda when the engine has the NVIDIA runtime",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats: seconds (for tests)")
    parser.add_argument("--threads", type=positive_int, default=None, help="CPU threads (default: all usable CPUs)")
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR", help="report folder (default: reports/)")
    parser.add_argument("--timeout", type=positive_int, default=1800, help="seconds before giving up (default 1800)")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    variant = args.variant or default_variant()
    arguments = [*(["--quick"] if args.quick else []), *(["--threads", str(args.threads)] if args.threads else [])]
    console.print(f"[bold]benchmark[/] in the {variant} variant{' (quick)' if args.quick else ''}")
    result = run_module(
        "in_image.bench", arguments, variant=variant, out=args.reports, component="bench", timeout_s=args.timeout, console=console
    )
    if result.exit_code != 0:
        raise HarnessError(f"the benchmark failed (exit {result.exit_code}): {_last_line(result.output_tail)}")
    report_path = args.reports / "bench.json"
    try:
        report = json.loads(report_path.read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(f"the benchmark wrote no readable {report_path}: {error}") from None
    print_report(report, console=report_console())
    console.print(f"reports: {args.reports / 'bench.md'}, {args.reports / 'bench.png'}, {report_path}")
    return 0


def _last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def print_report(report: dict[str, Any], *, console: Console) -> None:
    table = Table(title="CPU vs GPU", title_justify="left")
    for column in TABLE_HEADER:
        table.add_column(column, justify="right" if column in {"median", "IQR", "throughput", "of peak", "GPU/CPU"} else "left")
    for row in table_rows(report):
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)
    cpu = report["environment"]["cpu"]
    console.print(f"CPU peak: {cpu['peak_formula']}")
    for gpu in report["environment"]["gpus"]:
        console.print(f"GPU {gpu['index']}: {gpu['name']} (compute capability {gpu['capability']})")
    if sentence := no_gpu_sentence(report):
        console.print(f"[yellow]{escape(sentence)}[/]")
    for check in report["fidelity"]:
        verdict = {True: "[green]passed[/]", False: "[red]FAILED[/]", None: "[dim]not measured[/]"}[check["passed"]]
        console.print(f"fidelity {check['check']}: {verdict}" + (f" (ratio {check['ratio']:.3f})" if "ratio" in check else ""))
