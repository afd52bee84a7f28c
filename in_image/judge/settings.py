"""What the host tells the judge about one grading job (job.json), and reading the job's inputs."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_FILE, HIDDEN_FILE, SUBMISSION_FILE = "job.json", "hidden.py", "submission.ipynb"
RESULT_FILE, EXECUTED_FILE = "result.json", "executed.ipynb"


@dataclass(frozen=True)
class JudgeSettings:
    """Every limit comes from the host (harness.grading.results.Limits, the one place of their defaults)."""

    lab: str
    nonce: str
    cell_timeout_s: float
    exercise_timeout_s: float
    budget_s: float
    output_limit_bytes: int
    parameters: dict[str, Any] = field(default_factory=dict)  # injected after the `parameters` cell; empty: none
    kernel_user: list[int] | None = None  # [uid, gid]: the kernel runs as this user (in the container)
    workdir: str = ""  # the kernel's working folder (empty: a fresh temporary one)
    delete_inputs: bool = False  # delete the job's files once read (in the container)
    kill_user_processes: bool = False  # kill every process but the judge between kernel attempts (in the container)
    threads: int = 0  # torch threads in the kernel (0: torch's default)
    seed: int | None = None  # the grading run's seed of the hidden cases (None: the hidden tests file's SEED)


@dataclass(frozen=True)
class JobInputs:
    settings: JudgeSettings
    hidden_source: str
    submission: str


def read_job(job_dir: Path) -> JobInputs:
    """The three inputs, read into memory; deleted from disk at once when the settings say so."""
    if os.geteuid() == 0:
        os.chmod(job_dir, 0o700)  # the notebook user may not even list the judge's folder
    settings = JudgeSettings(**json.loads((job_dir / JOB_FILE).read_text()))
    inputs = JobInputs(settings, (job_dir / HIDDEN_FILE).read_text(), (job_dir / SUBMISSION_FILE).read_text())
    if settings.delete_inputs:
        for name in (JOB_FILE, HIDDEN_FILE, SUBMISSION_FILE):
            (job_dir / name).unlink()
    return inputs
