"""Grading in the host's Python (--variant local): the same judge, no container, no isolation.

For the course's own notebooks (`harness run --variant local`, a GPU host without Docker); never for
students' submissions, whose code would run with the caller's rights.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from harness.config import REPO_ROOT, labs_dir
from harness.course.kernel_data import ensure_kernel_data
from harness.grading.jobs import GradingJob, job_files
from harness.grading.pool import interpret, timed_out
from harness.grading.results import Limits, SubmissionResult


class LocalExecutor:
    """Run the judge in the host's Python, in a new process session that Ctrl-C and timeouts kill whole."""

    description = "local Python"

    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        ensure_kernel_data()  # the kernel runs in this Python, on the labs folder's practica
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._cancelled = False

    def run(self, job: GradingJob) -> SubmissionResult:
        started = time.monotonic()
        nonce = secrets.token_hex(16)
        with tempfile.TemporaryDirectory(prefix="dl-lab-job-") as tmp:
            folder = Path(tmp)
            for name, data in job_files(job, nonce=nonce, limits=self.limits, container=False,
                                        workdir=str(folder / "work")).items():
                (folder / name).write_bytes(data)
            created_at = time.time()
            failure, stderr = self._judge(folder)
            raw, executed = _read_outputs(folder)
        failure_status = "timeout" if failure else "crashed"
        if raw is None and not failure:
            failure = f"el calificador terminó sin resultado: {stderr[-300:]}"
        return interpret(raw, job=job, nonce=nonce, started=started, created_at=created_at, failure=failure,
                         failure_status=failure_status, executed=executed)

    def _judge(self, folder: Path) -> tuple[str, str]:
        """Run the judge on folder; (the timeout message or "", its stderr)."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(labs_dir()), str(REPO_ROOT)])}
        process = subprocess.Popen([sys.executable, "-m", "in_image.judge", str(folder)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        with self._lock:  # registered, or killed at once when cancel_all came first
            self._processes.add(process)
            if self._cancelled:
                self._kill(process)
        failure = ""
        try:
            _, stderr = process.communicate(timeout=self.limits.host_timeout_s)
        except subprocess.TimeoutExpired:
            self._kill(process)
            _, stderr = process.communicate()
            failure = timed_out(self.limits)
        finally:
            with self._lock:
                self._processes.discard(process)
        return failure, stderr.decode(errors="replace").strip()

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def cancel_all(self) -> None:
        with self._lock:
            self._cancelled = True
            processes = list(self._processes)
        for process in processes:
            self._kill(process)


def _read_outputs(folder: Path) -> tuple[dict[str, Any] | None, bytes | None]:
    result, executed = folder / "result.json", folder / "executed.ipynb"
    if not result.exists():
        return None, None
    try:
        raw: dict[str, Any] = json.loads(result.read_text())
    except ValueError:
        return {"malformed": True}, None  # not the judge's: its nonce is missing, so the notebook is `error`
    return raw, executed.read_bytes() if executed.exists() else None
