"""`python -m in_image.compile_check`: torch.compile against eager on a device; compile.json and compile.junit.xml.

Exit codes: 0 every model compiled and matched eager, 1 one did not, 3 the device asked for is not there.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from in_image.compile_check import SCHEMA, run
from in_image.junit import JUnitCase, write_junit
from in_image.measure.system import gpu_absence_reason


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m in_image.compile_check", description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cuda", help="where to compile (default cuda)")
    parser.add_argument("--reports", type=Path, required=True, help="folder for compile.json and compile.junit.xml")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    args.reports.mkdir(parents=True, exist_ok=True)
    if args.device == "cuda" and (reason := gpu_absence_reason()):
        absent = {"schema": SCHEMA, "device": "cuda", "torch": torch.__version__, "passed": False, "no_gpu": reason,
                  "results": []}
        (args.reports / "compile.json").write_text(json.dumps(absent, indent=2) + "\n")
        logging.getLogger(__name__).info("no GPU: %s", reason)
        return 3
    report = run(torch.device(args.device))
    (args.reports / "compile.json").write_text(json.dumps(report, indent=2) + "\n")
    cases = [JUnitCase(name=f"compile[{r['model']}]", classname="compile", time_s=r["compile_s"],
                       outcome="passed" if r["passed"] else "failed", message=r["message"]) for r in report["results"]]
    write_junit(args.reports / "compile.junit.xml", "dl-lab torch.compile", cases)
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
