"""`harness gradebook` with its distribution plot drawn for real in the CPU lab image.

The three-lab course of tests/unit/test_lms_import.py, run as an instructor runs it; the PNG is
opened with Pillow and looked at: its size, the bars of the labs (blue) and of the course (red). The
drawing container carries the project's labels and is gone afterwards.
"""

from __future__ import annotations

from pathlib import Path

import docker
import pytest
from PIL import Image

from harness.engine.containers import project_filter
from harness.grading.distribution import COMPONENT
from tests.unit.test_lms_import import three_labs
from tests.utils.cli import HARNESS, run_to_end

pytestmark = [pytest.mark.docker]

LAB_BLUE, COURSE_RED = (0x2E, 0x86, 0xC1), (0xC0, 0x39, 0x2B)


def test_gradebook_draws_the_distribution_in_the_cpu_image(docker_engine: docker.DockerClient, cpu_image: str,
                                                           tmp_path: Path) -> None:
    course = three_labs(tmp_path)
    out = tmp_path / "gradebook"
    result = run_to_end([*HARNESS, "gradebook", str(course), "--reports", str(tmp_path), "--out", str(out)],
                        timeout_s=300)
    assert result.returncode == 0, result.stderr
    assert f"drew {out / 'distribution.png'}" in result.stderr, result.stderr
    with Image.open(out / "distribution.png") as picture:
        assert picture.format == "PNG" and picture.size == (1200, 640), picture.size  # 2 x 2 plots at 100 dpi
        colours = {colour for _, colour in picture.convert("RGB").getcolors(maxcolors=1 << 20) or []}
    assert LAB_BLUE in colours and COURSE_RED in colours, "no bars: the histograms are empty"
    left = docker_engine.containers.list(all=True, filters=project_filter(COMPONENT))
    assert not left, f"the drawing container was left behind: {[c.name for c in left]}"
    assert {p.name for p in out.iterdir()} == {"moodle.csv", "canvas.csv", "gradebook.csv", "statistics.csv",
                                               "not-imported.csv", "distribution.png"}


def test_without_the_image_the_plot_fails_in_one_line(tmp_path: Path) -> None:
    course = three_labs(tmp_path)
    result = run_to_end([*HARNESS, "gradebook", str(course), "--reports", str(tmp_path), "--out", str(tmp_path / "o")],
                        environment={"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, timeout_s=120)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and "--no-plot skips the plot" in lines[-1], result.stderr
    assert (tmp_path / "o" / "moodle.csv").is_file(), "the other files are written first"
