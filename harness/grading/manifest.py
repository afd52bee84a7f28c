"""A collection folder's manifest.json, read without Docker (for `harness export`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.engine.waiting import first_line
from harness.errors import HarnessError

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = "dl-lab.collect/1"


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of a collection folder, or None when the folder holds none."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise HarnessError(f"{path} is not a readable manifest ({first_line(error)}): collect again") from None
    if data.get("schema") != MANIFEST_SCHEMA:
        raise HarnessError(f"{path} is not a manifest of `harness collect` (schema {data.get('schema')!r})")
    return data
