"""The JSON schemas of the reports, from schemas/ (the one place they are written)."""

from __future__ import annotations

import json
from typing import Any

from harness.config import REPO_ROOT

SCHEMAS = REPO_ROOT / "schemas"


def schema(name: str) -> dict[str, Any]:
    """schemas/<name>.schema.json: "grading-report", "bench-report" or "smoke-report"."""
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return loaded
