"""Placeholder until the lab generator lands: copies labs/*.ipynb to build/labs/student."""

from __future__ import annotations

import shutil
from pathlib import Path

from harness.config import REPO_ROOT


def generate(*, out: Path) -> None:
    student = out / "student"
    shutil.rmtree(student, ignore_errors=True)
    student.mkdir(parents=True)
    for notebook in sorted((REPO_ROOT / "labs").glob("*.ipynb")):
        shutil.copy2(notebook, student / notebook.name)
