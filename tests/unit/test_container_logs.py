"""The log scan of the containers the tests start (tests/utils/jupyter.py): what it flags and what it lets by."""

from __future__ import annotations

import pytest

from tests.utils.jupyter import unexpected_log_lines


@pytest.mark.parametrize(
    "line",
    [
        "[W 2026-12-06 23:40:01.123 ServerApp] No web browser found",
        "[E 2026-12-06 23:40:01.123 ServerApp] Uncaught exception GET /api/contents",
        "[C 2026-12-06 23:40:01.123 ServerApp] Running as root is not recommended",
        "[start.sh] warning: NB_USER=alicia needs the container started as root to rename the user; running as jovyan",
        "[run-hooks] warning: /usr/local/bin/start-notebook.d/40-fails.sh failed with status 3; continuing",
        "/opt/venv/lib/python3.11/site-packages/torch/cuda/__init__.py:61: UserWarning: CUDA initialization failed",
        "WARNING: the kernel did not answer",
        "ERROR harness: no such lab",
        "Traceback (most recent call last):",
    ],
)
def test_warnings_and_errors_are_flagged(line: str) -> None:
    log = f"[I 2026-12-06 23:40:00.000 ServerApp] Jupyter Server is running\n{line}\nhola\n"
    assert unexpected_log_lines(log) == [line]


@pytest.mark.parametrize(
    "line",
    [
        "[I 2026-12-06 23:40:00.000 ServerApp] Serving notebooks from local directory: /home/jovyan",
        "[start.sh] executing: jupyter lab",
        "[run-hooks] running hooks in /usr/local/bin/start-notebook.d as uid 1000, gid 100",
        "warnings are shown with -W",  # the word alone, without the colon of a message
        "compiled with gcc",
    ],
)
def test_ordinary_lines_pass(line: str) -> None:
    assert unexpected_log_lines(line) == []


def test_expected_lines_are_let_by_and_only_they() -> None:
    log = ("[run-hooks] warning: /x/40-fails.sh failed with status 3; continuing\n"
           "[run-hooks] warning: /x/50-other.sh failed with status 1; continuing\n")
    left = unexpected_log_lines(log, expected=[r"40-fails\.sh failed with status 3"])
    assert left == ["[run-hooks] warning: /x/50-other.sh failed with status 1; continuing"]
