"""Write smoke.json and smoke.junit.xml, and a plain summary for terminals without rich."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from in_image.junit import write_junit
from in_image.smoke.cases import SUITE, CaseResult


def write_smoke_reports(report: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "smoke.json", "junit": out / "smoke.junit.xml"}
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    write_junit(paths["junit"], SUITE, [CaseResult.from_dict(case).junit() for case in report["cases"]])
    return paths


def plain_summary(report: dict[str, Any]) -> str:
    lines = [
        f"{case['outcome'].upper():8} {case['name']:30} {case['time_s']:7.2f} s  {case['message']}" for case in report["cases"]
    ]
    lines.append(f"smoke: {report['verdict']} (exit {report['exit_code']})")
    return "\n".join(lines)
