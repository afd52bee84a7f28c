"""`python -m in_image.bench`: run the benchmark in this Python (inside the image or --variant local)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from in_image.bench.report import write_bench_reports
from in_image.bench.runner import run
from in_image.bench.tables import plain_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m in_image.bench", description=__doc__)
    parser.add_argument("--reports", type=Path, required=True, help="folder for bench.json, bench.md and bench.png")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (seconds; for tests)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: every CPU this process may use)")
    parser.add_argument("--no-gpu-hint", default=None, help="why the caller expects no GPU (shown in the report)")
    parser.add_argument("--table", action="store_true", help="print a plain table to stdout at the end")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    report = run(quick=args.quick, threads=args.threads, no_gpu_hint=args.no_gpu_hint)
    write_bench_reports(report, args.reports)
    if args.table:
        print(plain_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
