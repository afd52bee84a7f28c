"""The labs' runner wheels for a GPU machine that reaches no package index (`harness gpu-check --fetch-wheels`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from rich.console import Console

from harness.config import REPO_ROOT
from harness.errors import HarnessError
from harness.gpu_check.steps import OK

# What the labs' runner needs beyond torch (pinned as in pyproject.toml's `local` extra), for --fetch-wheels.
# docker-py comes along because `harness run` imports the grading executors, which import it, even for --variant local.
LAB_RUNNER_PACKAGES = ("nbformat", "nbclient", "ipykernel")

WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
                   "manylinux1_x86_64")


def pinned_requirements() -> list[str]:
    """LAB_RUNNER_PACKAGES with the versions pyproject.toml pins."""
    import tomllib  # noqa: PLC0415 (only for --fetch-wheels)

    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    pins = [*project["dependencies"], *project["optional-dependencies"]["local"]]
    by_name = {pin.split("==")[0].lower(): pin for pin in pins}
    return [by_name.get(name, name) for name in LAB_RUNNER_PACKAGES]


def fetch_wheels(dest: Path, *, python_version: str, console: Console) -> int:
    """The labs' runner and what it needs, as wheels for the GPU machine's Python (x86-64 Linux)."""
    requirements = pinned_requirements()
    command = [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "--python-version", python_version,
               "--implementation", "cp", *[f"--platform={p}" for p in WHEEL_PLATFORMS], "--dest", str(dest),
               "--disable-pip-version-check", "--quiet", *requirements]
    console.print(f"downloading {' '.join(requirements)} and what they need for Python {python_version} into {dest}")
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise HarnessError(f"pip download failed (exit {result.returncode}): is a package index reachable?")
    wheels = sorted(dest.glob("*.whl"))
    size = sum(w.stat().st_size for w in wheels)
    console.print(f"{len(wheels)} wheels, {size / 2**20:.1f} MiB in {dest}")
    return OK
