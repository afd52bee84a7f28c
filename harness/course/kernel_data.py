"""The students' package's data on the host: labs/practica/data, written by the answer key for local runs.

The lab image writes it at build time (docker/Dockerfile); a kernel in the host's Python (--variant
local, the unit tests) reads the labs folder's own copy, rewritten here whenever a lab's criteria or
its answer key is newer than it. The answer key runs in a child Python: the harness never imports it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from harness.config import REPO_ROOT, labs_dir
from harness.errors import HarnessError

log = logging.getLogger(__name__)


def _newest(paths: list[Path]) -> float:
    return max((p.stat().st_mtime for p in paths), default=0.0)


def ensure_kernel_data(*, labs: Path | None = None) -> Path:
    """labs/practica/data, written again when it is older than the criteria or the answer key that make it."""
    root = labs or labs_dir()
    folder = root / "practica" / "data"
    key = root / "answer_key"
    if not key.is_dir():
        return folder
    sources = [*key.glob("*.py"), *(root / "practica").glob("lab*_checks.py"), REPO_ROOT / "in_image" / "exercises" / "wire.py"]
    written = list(folder.glob("lab*.json"))
    if written and len(written) >= len(list(key.glob("lab[0-9][0-9].py"))) and _newest(written) >= _newest(sources):
        return folder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), str(REPO_ROOT)])}
    log.info("writing the kernel's data into %s", folder)
    done = subprocess.run([sys.executable, "-m", "answer_key.kernel_data", str(folder)], env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode and "No module named 'numpy'" in done.stderr:
        raise HarnessError(f"the answer key needs numpy to write {folder}: run `make venv-test` (or pip install numpy)")
    if done.returncode:
        raise HarnessError(f"the answer key could not write {folder}: {done.stderr.strip().splitlines()[-1:]}")
    return folder
