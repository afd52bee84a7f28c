"""Run the harness's command line as a user would, to its end, and check its refusals."""

from __future__ import annotations

import os
import subprocess
import sys

from harness.config import REPO_ROOT

HARNESS = [sys.executable, "-m", "harness"]


def run_to_end(command: list[str], *, timeout_s: float = 120, stdin: str | None = None,
               environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run command from the repository's root (environment on top of this process's) and capture its output."""
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout_s, check=False,
                          input=stdin, env={**os.environ, **(environment or {})})


def assert_one_error_line(result: subprocess.CompletedProcess[str], message: str, *, what: str = "the command",
                          prefix: str = "") -> None:
    """The command failed as bad input does: exit 2 and one stderr line, which starts with prefix and says message."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith(prefix) and message in lines[0], (
        f"{what} should fail (exit 2) with one {prefix!r} line saying {message!r}: "
        f"exit {result.returncode}, {result.stderr!r}"
    )
