"""`harness smoke`: seconds-long checks that a GPU node (engine runtime, driver, image, torch) works.

--level 2 adds, in about two minutes, the GPU's health records (ECC, row remaps, Xids, throttling),
the PCIe link, a memory pattern test, device-memory bandwidth and a sustained GEMM.
Writes smoke.junit.xml and smoke.json into --reports (default reports/). Exit codes: 0 all good,
1 a check failed, 2 the harness could not run, 3 no GPU present.
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
from harness.engine.module_result import ModuleRun
from harness.engine.module_run import RUN_VARIANTS, default_variant, report_console, run_module
from in_image.smoke import codes
from in_image.smoke.cases import SCHEMA, CaseResult, with_verdict
from in_image.smoke.options import (
    DEFAULT_MEMORY_FRACTION,
    DEFAULT_MIN_COPY_GBPS,
    add_level_arguments,
    fraction,
    level_argv,
    positive,
)
from in_image.smoke.report import write_smoke_reports

OUTCOME_STYLE = {"passed": "green", "failed": "red", "error": "red", "skipped": "yellow"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("smoke", help="fast GPU node check with a JUnit report (exit 3: no GPU)", description=__doc__)
    parser.add_argument(
        "--variant",
        choices=RUN_VARIANTS,
        default=None,
        help="cpu or cuda image, or local (this Python); default: cuda when the engine has the NVIDIA runtime",
    )
    parser.add_argument("--reports", type=Path, default=REPORTS_DIR, metavar="DIR", help="report folder (default: reports/)")
    parser.add_argument(
        "--memory-fraction", type=fraction, default=DEFAULT_MEMORY_FRACTION,
        help="share of free GPU memory to allocate (default %(default)s)"
    )
    parser.add_argument("--min-copy-gbps", type=positive, default=DEFAULT_MIN_COPY_GBPS,
                        help="host<->device copy floor in GB/s (default %(default)s)")
    add_level_arguments(parser)
    parser.add_argument("--timeout", type=positive_int, default=None,
                        help="seconds before giving up (default: 300 at level 1, 600 + the GEMM's seconds at level 2)")
    parser.set_defaults(handler=handle)


def timeout_for(args: argparse.Namespace) -> int:
    if args.timeout is not None:
        return int(args.timeout)
    return 300 if args.level == 1 else 600 + int(args.gemm_seconds)


def handle(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    variant = args.variant or default_variant()
    arguments = ["--memory-fraction", str(args.memory_fraction), "--min-copy-gbps", str(args.min_copy_gbps)]
    if args.level >= 2:  # level 1's command line stays the one older images understand
        arguments += level_argv(args)
    console.print(f"[bold]smoke test[/] level {args.level} in the {variant} variant")
    result = run_module(
        "in_image.smoke", arguments, variant=variant, out=args.reports, component="smoke", timeout_s=timeout_for(args),
        console=console,
    )
    report = _module_report(args.reports / "smoke.json", result)
    cases = [runtime_case(variant, result), *(CaseResult.from_dict(case) for case in report["cases"])]
    if variant == "cuda" and result.no_gpu_reason is None and not report["gpu_found"]:
        cases = [granted_but_invisible(case, report) for case in cases]
    final = with_verdict(report, cases)
    paths = write_smoke_reports(final, args.reports)
    print_summary(final, console=report_console())
    console.print(f"reports: {paths['junit']}, {paths['json']}")
    code: int = final["exit_code"]
    return code


def _module_report(path: Path, result: ModuleRun) -> dict[str, Any]:
    """The module's report; when it crashed before writing one, a report with that crash as an error case."""
    if result.exit_code in codes.MEANING and result.exit_code != 2:
        try:
            report: dict[str, Any] = json.loads(path.read_text())
            return report
        except (OSError, ValueError):
            pass
    crash = CaseResult(
        "smoke_module",
        "error",
        f"python -m in_image.smoke ended with exit code {result.exit_code} and no report",
        0.0,
        {"traceback": result.output_tail},
    )
    return {
        "schema": SCHEMA,
        "created": "",
        "gpu_found": False,
        "gpu_absent_reason": result.no_gpu_reason,
        "environment": {},
        "options": {},
        "cases": [crash.as_dict()],
    }


def runtime_case(variant: str, result: ModuleRun) -> CaseResult:
    """The first check: does the engine give containers a GPU? Decided on the host, by the run itself."""
    if variant == "local":
        return CaseResult("nvidia_runtime", "skipped", "local variant: no container engine involved", 0.0)
    if variant == "cpu":
        return CaseResult("nvidia_runtime", "skipped", "cpu variant: no GPU requested", 0.0)
    from harness.engine.containers import docker_client  # noqa: PLC0415 (docker-py only for container variants)
    from harness.engine.module_container import engine_runtimes  # noqa: PLC0415 (likewise)

    runtimes = engine_runtimes(docker_client())
    if result.no_gpu_reason:
        return CaseResult("nvidia_runtime", "skipped", f"no GPU: {result.no_gpu_reason}", 0.0, {"runtimes": runtimes})
    return CaseResult(
        "nvidia_runtime",
        "passed",
        f"the engine accepted the GPU request (runtimes: {', '.join(runtimes)})",
        0.0,
        {"runtimes": runtimes},
    )


def granted_but_invisible(case: CaseResult, report: dict[str, Any]) -> CaseResult:
    """The engine accepted the GPU request yet torch sees no GPU: that is a broken node, not an absent GPU."""
    if case.name != "gpu_visible":
        return case
    message = f"the engine granted the container a GPU but it sees none: {report['gpu_absent_reason']}"
    return CaseResult(case.name, "failed", message, case.time_s, case.details)


def print_summary(report: dict[str, Any], *, console: Console) -> None:
    table = Table(title="GPU smoke test", title_justify="left")
    for column in ("check", "outcome", "time", "message"):
        table.add_column(column, justify="right" if column == "time" else "left", overflow="fold")
    for case in report["cases"]:
        style = OUTCOME_STYLE[case["outcome"]]
        # The no-GPU reason is long and the same for every skipped GPU check: shown once, below the table.
        message = "no GPU (reason below)" if case["message"].startswith("no GPU: ") else case["message"]
        table.add_row(escape(case["name"]), f"[{style}]{case['outcome']}[/]", f"{case['time_s']:.2f} s", escape(message))
    console.print(table)
    style = "green" if report["exit_code"] == codes.OK else "yellow" if report["exit_code"] == codes.NO_GPU else "red"
    console.print(f"[{style}]smoke: {report['verdict']} (exit {report['exit_code']})[/]")
    if report["gpu_absent_reason"]:
        console.print(f"no GPU because: {report['gpu_absent_reason']}", markup=False)
