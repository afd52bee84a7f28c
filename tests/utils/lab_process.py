"""Run `harness lab` as a user would: a subprocess whose one stdout line is the URL, stopped with Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.config import REPO_ROOT

HARNESS = [sys.executable, "-m", "harness"]


@dataclass
class LabProcess:
    process: subprocess.Popen[str]
    url: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def lab_command(work: Path, *extra: str) -> list[str]:
    return [*HARNESS, "lab", "--no-browser", "--variant", "cpu", "--work", str(work), *extra]


def run_to_end(command: list[str], *, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(environment or {})})


@contextmanager
def lab_process(work: Path, *extra: str) -> Iterator[LabProcess]:
    """Start `harness lab` like a terminal would, read its one stdout line, Ctrl-C it at the end."""
    process = subprocess.Popen(
        lab_command(work, *extra), cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url, f"harness lab printed no URL; stderr: {process.stderr.read() if process.stderr else ''}"
        yield LabProcess(process, url)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
