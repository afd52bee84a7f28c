"""`python -m harness.bench`: run the benchmark in this Python (inside the image or --variant local)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from harness.bench.report import write_reports
from harness.bench.runner import run
from harness.bench.tables import plain_table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__)
    parser.add_argument("--out", type=Path, required=True, help="folder for bench.json, bench.md and bench.png")
    parser.add_argument("--quick", action="store_true", help="small sizes and few repeats (seconds; for tests)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: every CPU this process may use)")
    parser.add_argument("--no-gpu-hint", default=None, help="why the caller expects no GPU (shown in the report)")
    parser.add_argument("--table", action="store_true", help="print a plain table to stdout at the end")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    report = run(quick=args.quick, threads=args.threads, no_gpu_hint=args.no_gpu_hint)
    write_reports(report, args.out)
    if args.table:
        print(plain_table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
