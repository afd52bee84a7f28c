"""The measuring commands of docs/measurements.md for real, at small sizes: make bench-harness, bench-hub and bench-image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.config import BUILD_DIR, REPORTS_DIR
from harness.course import catalog

pytestmark = pytest.mark.docker


def test_grading_figures(cpu_image: str) -> None:
    assert main(["figures", "grading", "--repeat", "1", "--submissions", "2", "--jobs", "1", "2"]) == 0
    figures = json.loads((BUILD_DIR / "bench" / "harness.json").read_text())
    assert figures["run"]["repeat"] == 1 and 0 < figures["run"]["total_s"] < 120, figures["run"]
    assert [(row["jobs"], row["graded"], row["containers_left"]) for row in figures["grading"]] == [(1, 2, 0), (2, 2, 0)]


def test_hub_spawn_figures(cpu_image: str) -> None:
    assert main(["figures", "hub", "--students", "1"]) == 0
    result = json.loads((REPORTS_DIR / "bench-hub.json").read_text())["results"][0]
    assert result["students"] == 1 and 0 < result["all_ready_s"] < 300, result


def test_image_figures_leave_the_notebook_as_it_was(cpu_image: str) -> None:
    source = catalog.find_lab("00").source
    before = Path(source).read_bytes()
    assert main(["figures", "images"]) == 0
    figures = json.loads((REPORTS_DIR / "bench-image.json").read_text())
    assert figures["images"]["cpu"]["size_gb"] <= figures["images"]["cpu"]["budget_gb"], figures["images"]["cpu"]
    assert 0 < figures["start_to_api_s"]["median"] < 60 and figures["rebuild"]["rebuild_after_edit_s"] > 0, figures
    assert Path(source).read_bytes() == before, "the edited notebook must be put back"
