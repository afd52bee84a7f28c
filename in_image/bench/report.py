"""Write the benchmark report: bench.json (schema in in_image.bench.tables), bench.md and bench.png."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from in_image.bench.plot import plot
from in_image.bench.tables import markdown

log = logging.getLogger(__name__)


def write_bench_reports(report: dict[str, Any], out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "bench.json", "md": out / "bench.md", "png": out / "bench.png"}
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    paths["md"].write_text(markdown(report, image_name=paths["png"].name))
    plot(report, paths["png"])
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
