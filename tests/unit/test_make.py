"""The Makefile and the README agree, and every target calls the harness verb the README says (dry runs, no side effects).

The harness verbs themselves run for real in the tests the README's table names (`tested by`); the
targets whose verb needs hardware this machine lacks say so there.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from harness.config import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
HARNESS = ".venv/bin/python -m harness"


def make_targets() -> set[str]:
    """Every target `make help` lists."""
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=REPO_ROOT, capture_output=True, text=True,
                           timeout=60, check=True).stdout
    return set(re.findall(r"^  make ([a-z][a-z0-9-]*)", re.sub(r"\x1b\[[0-9;]*m", "", shown), flags=re.M))


def readme_table_targets() -> set[str]:
    """The targets named in the first column of the README's Make targets table."""
    section = README.split("## Make targets", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `make")]
    return {name for row in rows for name in re.findall(r"`make (?:[A-Z_]+=\S+ )*([a-z][a-z0-9-]*)", row.split("|")[1])}


def test_the_readme_table_lists_every_target_and_no_other() -> None:
    targets, documented = make_targets(), readme_table_targets()
    assert targets - documented == set(), f"targets missing from the README's table: {sorted(targets - documented)}"
    assert documented - targets == set(), f"the README documents targets make does not have: {sorted(documented - targets)}"


def dry_run(*arguments: str) -> str:
    done = subprocess.run(["make", "--no-print-directory", "-n", *arguments], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, f"make -n {' '.join(arguments)} failed: {done.stderr}"
    return re.sub(r"[ \t]+", " ", done.stdout)


@pytest.mark.parametrize(("arguments", "command"), [
    (["lab", "VARIANT=cpu", "PORT=8890"], f"{HARNESS} lab --variant cpu --port 8890"),
    (["images"], f"{HARNESS} build cpu cuda"),
    (["image-cpu"], f"{HARNESS} build cpu"),
    (["image-cuda"], f"{HARNESS} build cuda"),
    (["base"], f"{HARNESS} build base"),
    (["wheels-cpu"], f"{HARNESS} wheels fetch cpu"),
    (["wheels-cuda"], f"{HARNESS} wheels fetch cuda"),
    (["lock"], f"{HARNESS} wheels lock cpu cuda"),
    (["labs"], f"{HARNESS} labs"),
    (["labs", "STANDALONE=https://curso.example.es/p.whl"], f"{HARNESS} labs --standalone 'https://curso.example.es/p.whl'"),
    (["practica-wheel"], f"{HARNESS} practica-wheel"),
    (["check"], f"{HARNESS} check"),
    (["grade", "LAB=01", "SUBMISSIONS=a.ipynb b.ipynb", "JOBS=2"], f"{HARNESS} grade a.ipynb b.ipynb --lab 01 --jobs 2"),
    (["collect", "LAB=00", "DEADLINE=2026-12-01T23:59"], f"{HARNESS} collect 00 --deadline '2026-12-01T23:59'"),
    (["collect", "LAB=01", "ROSTER=clase.csv", "JOBS=2"], f"{HARNESS} collect 01 --roster 'clase.csv' --jobs 2"),
    (["collect", "LAB=00", "HUB_NAME=otro-hub"], f"{HARNESS} collect 00 --hub 'otro-hub'"),
    (["export", "LAB=00"], f"{HARNESS} export 00"),
    (["export", "LAB=00", "ROSTER=roster.csv"], f"{HARNESS} export 00 --roster 'roster.csv'"),
    (["gradebook"], f"{HARNESS} gradebook 'course.toml'"),
    (["gradebook", "COURSE=curso.toml", "ROSTER=clase.csv"], f"{HARNESS} gradebook 'curso.toml' --roster 'clase.csv'"),
    (["bench-harness"], f"{HARNESS} figures grading"),
    (["bench", "VARIANT=cpu"], f"{HARNESS} bench --variant cpu"),
    (["smoke", "VARIANT=cpu"], f"{HARNESS} smoke --variant cpu"),
    (["bench-image"], f"{HARNESS} figures images"),
    (["hub"], f"{HARNESS} hub up"),
    (["hub-down"], f"{HARNESS} hub down"),
    (["hub-backup"], f"{HARNESS} hub backup"),
    (["hub-lock"], f"{HARNESS} hub lock"),
    (["bench-hub"], f"{HARNESS} figures hub"),
    (["sif", "VARIANT=cuda"], f"{HARNESS} sif --variant cuda"),
    (["clean"], f"{HARNESS} clean"),
    (["gpu-check"], "-m harness gpu-check"),
    (["gpu-check", "STEPS=labs,compile"], "-m harness gpu-check --steps labs,compile"),
], ids=lambda value: "-".join(value) if isinstance(value, list) else "")
def test_each_target_calls_its_harness_verb(arguments: list[str], command: str) -> None:
    recipe = dry_run(*arguments)
    assert command in recipe, f"make {' '.join(arguments)} should run `{command}`; it runs:\n{recipe}"


def test_grade_without_submissions_says_how_in_one_line() -> None:
    done = subprocess.run(["make", "--no-print-directory", "grade"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode != 0 and "usage: make grade LAB=00 SUBMISSIONS=" in done.stderr, done.stderr
