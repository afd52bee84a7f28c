"""Write smoke.json and smoke.junit.xml, and a plain summary for terminals without rich."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from in_image.junit import write_junit
from in_image.smoke.cases import SUITE, CaseResult

JSON_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["schema", "created", "exit_code", "verdict", "gpu_found", "gpu_absent_reason", "environment", "cases"],
    "properties": {
        "schema": {"const": "dl-lab.smoke/1"},
        "exit_code": {"enum": [0, 1, 3]},
        "gpu_found": {"type": "boolean"},
        "gpu_absent_reason": {"type": ["string", "null"]},
        "cases": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "outcome", "message", "time_s"],
                "properties": {
                    "name": {"type": "string"},
                    "outcome": {"enum": ["passed", "failed", "error", "skipped"]},
                    "message": {"type": "string"},
                    "time_s": {"type": "number", "minimum": 0},
                },
            },
        },
    },
}


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
