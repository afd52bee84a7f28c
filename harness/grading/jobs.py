"""A grading job: one notebook of one lab, and the three files the judge receives for it."""

from __future__ import annotations

import io
import json
import secrets
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.config import facts
from harness.course.catalog import Lab
from harness.grading.results import Limits
from in_image.exercises.declared import declared_in

JOB_DIR = "/dl-lab-job"
SEED_LIMIT = 2**63  # seeds are non-negative integers below this


def new_seed() -> int:
    """A fresh seed for one grading run's hidden cases: inputs copied out of one run are useless in the next."""
    return secrets.randbelow(SEED_LIMIT)


@dataclass(frozen=True)
class GradingJob:
    lab: Lab
    notebook: Path
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)  # injected after the `parameters` cell; empty: none
    save_executed: Path | None = None  # where to keep the executed notebook
    seed: int | None = None  # the grading run's seed of the hidden cases (None: the hidden tests file's own)

    def exercises(self) -> list[dict[str, Any]]:
        return exercise_rows(self.lab)


def exercise_rows(lab: Lab) -> list[dict[str, Any]]:
    """The lab's exercises as report rows (id, title, max_score, checks_total), before any grading."""
    return [{"id": d.id, "title": d.title, "max_score": d.points, "checks_total": d.checks} for d in declared_in(lab.checks)]


def job_files(job: GradingJob, *, nonce: str, limits: Limits, container: bool, workdir: str,
              threads: int = 0) -> dict[str, bytes]:
    """The judge's three inputs: settings, hidden tests, the submission."""
    settings = {
        "lab": job.lab.id, "nonce": nonce, "cell_timeout_s": limits.cell_timeout_s,
        "exercise_timeout_s": limits.exercise_timeout_s, "budget_s": limits.budget_s,
        "output_limit_bytes": limits.output_limit_bytes, "parameters": job.parameters, "workdir": workdir,
        "kernel_user": [facts().nb_uid, facts().nb_gid] if container else None, "delete_inputs": container,
        "kill_user_processes": container, "threads": threads, "seed": job.seed,
    }
    return {
        "job.json": json.dumps(settings).encode(),
        "hidden.py": job.lab.hidden_tests.read_bytes(),
        "submission.ipynb": job.notebook.read_bytes(),
    }


def job_archive(files: dict[str, bytes]) -> bytes:
    """A tar of JOB_DIR's content: root-owned 0600 files in a root-owned 0700 folder (the notebook user reads none)."""
    buffer = io.BytesIO()
    now = int(time.time())
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(".")
        folder.type, folder.mode, folder.uid, folder.gid, folder.mtime = tarfile.DIRTYPE, 0o700, 0, 0, now
        tar.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o600, 0, 0, now
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()
