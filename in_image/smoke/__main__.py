"""`python -m in_image.smoke`: the GPU smoke checks in this Python (inside the image or --variant local).

Exit codes: 0 all passed, 1 a check failed, 3 no GPU present (see in_image.smoke.codes).
--level 2 adds the checks of in_image.smoke.deep (about two minutes on a GPU).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from in_image.smoke.checks import Options
from in_image.smoke.options import add_level_arguments, fraction, positive
from in_image.smoke.report import plain_summary, write_smoke_reports
from in_image.smoke.runner import run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m in_image.smoke", description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, required=True, help="folder for smoke.json and smoke.junit.xml")
    parser.add_argument(
        "--memory-fraction", type=fraction, default=Options.memory_fraction, help="share of free GPU memory to allocate"
    )
    parser.add_argument("--min-copy-gbps", type=positive, default=Options.min_copy_gbps, help="copy bandwidth floor in GB/s")
    add_level_arguments(parser)
    parser.add_argument("--no-gpu-hint", default=None, help="why the caller expects no GPU (shown in the report)")
    parser.add_argument("--summary", action="store_true", help="print a plain summary to stdout at the end")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    options = Options(
        memory_fraction=args.memory_fraction,
        min_copy_gbps=args.min_copy_gbps,
        level=args.level,
        gemm_seconds=args.gemm_seconds,
        memtest_fraction=args.memtest_fraction,
        min_pcie_fraction=args.min_pcie_fraction,
        min_hbm_fraction=args.min_hbm_fraction,
    )
    report = run(options=options, no_gpu_hint=args.no_gpu_hint)
    write_smoke_reports(report, args.reports)
    if args.summary:
        print(plain_summary(report))
    code: int = report["exit_code"]
    return code


if __name__ == "__main__":
    sys.exit(main())
