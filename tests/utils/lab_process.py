"""Run `harness lab` as a user would: a subprocess whose one stdout line is the URL, stopped with Ctrl-C."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from harness.config import REPO_ROOT
from harness.engine.waiting import port_is_free
from tests.utils.cli import HARNESS

START_TIMEOUT_S = 180  # the image may be built first


@dataclass
class LabProcess:
    process: subprocess.Popen[str]
    url: str


PORTS_PER_WORKER = 500
_handed_out: set[int] = set()


def free_port() -> int:
    """A free port that no other pytest-xdist worker hands out: each worker owns a range below the ephemeral ports.

    (A port the OS picks and the test then closes could go to another worker before the lab binds it.)
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = 20000 + int(worker or 0) * PORTS_PER_WORKER
    for port in range(base, base + PORTS_PER_WORKER):
        if port not in _handed_out and port_is_free(port):
            _handed_out.add(port)
            return port
    raise RuntimeError(f"no free port left in {base}-{base + PORTS_PER_WORKER - 1}")


def stop(process: subprocess.Popen[Any], signum: int, *, timeout_s: float) -> None:
    """Send signum to a process still running, wait timeout_s for it, then kill it."""
    if process.poll() is not None:
        return
    process.send_signal(signum)
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def read_line(stream: IO[str], *, timeout_s: float) -> str:
    """The next line of a process's output, or "" when none comes within timeout_s (never blocks for ever)."""
    ready, _, _ = select.select([stream], [], [], timeout_s)
    return stream.readline() if ready else ""


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def lab_command(work: Path, *extra: str) -> list[str]:
    return [*HARNESS, "lab", "--no-browser", "--variant", "cpu", "--work", str(work), *extra]


@contextmanager
def lab_process(work: Path, *extra: str) -> Iterator[LabProcess]:
    """Start `harness lab` like a terminal would, read its one stdout line, Ctrl-C it at the end."""
    process = subprocess.Popen(
        lab_command(work, *extra), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = read_line(process.stdout, timeout_s=START_TIMEOUT_S).strip()
        assert url, f"harness lab printed no URL; stderr: {process.stderr.read() if process.stderr else ''}"
        yield LabProcess(process, url)
    finally:
        stop(process, signal.SIGINT, timeout_s=60)
