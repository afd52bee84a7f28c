"""The layout's rules, read from the tree: lint reads every product file, and no output folder hides one."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from harness.config import REPO_ROOT

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())


def output_folders() -> list[str]:
    """The folders .gitignore anchors to the root: what the tools write (build/, reports/...)."""
    lines = (REPO_ROOT / ".gitignore").read_text().splitlines()
    return [line.strip("/") for line in lines if re.fullmatch(r"/[\w.-]+/", line)]


def product_folders() -> set[str]:
    return {path.name for top in ("harness", "in_image", "labs", "deploy", "docker", "tests")
            for path in (REPO_ROOT / top).rglob("*") if path.is_dir() and "__pycache__" not in path.parts}


def test_output_folders_are_known() -> None:
    assert "build" in output_folders(), output_folders()


def test_no_product_folder_is_named_like_an_output_folder() -> None:
    shared = product_folders() & set(output_folders())
    assert not shared, f"product folders named like output folders (lint exclusions would skip them): {sorted(shared)}"


def test_lint_exclusions_are_anchored_to_the_root() -> None:
    excluded = PYPROJECT["tool"]["ruff"]["extend-exclude"]
    unanchored = [pattern for pattern in excluded if not pattern.startswith("/")]
    assert not unanchored, f"ruff exclusions must start with '/' (else they match any folder of that name): {unanchored}"
    mypy_excluded = PYPROJECT["tool"]["mypy"]["exclude"]
    assert all(pattern.startswith("^") for pattern in mypy_excluded), mypy_excluded


def test_make_lint_runs_ruff_over_the_whole_tree() -> None:
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (REPO_ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None, "the Makefile has no lint target"
    commands = recipe.group(1)
    assert re.search(r"ruff check \.$", commands, re.MULTILINE), f"make lint must run `ruff check .`:\n{commands}"
    mypy = re.search(r"mypy (.*)$", commands, re.MULTILINE)
    assert mypy is not None, commands
    assert {"harness", "in_image"} <= set(mypy.group(1).split()), commands


def test_notebooks_have_their_own_explicit_rules() -> None:
    ignores = PYPROJECT["tool"]["ruff"]["lint"]["per-file-ignores"]
    assert "*.ipynb" in ignores, "the labs' notebooks are linted with rules of their own"
    assert len(ignores["*.ipynb"]) <= 6, f"notebooks skip a few named rules, not whole families: {ignores['*.ipynb']}"
    assert all(re.fullmatch(r"[A-Z]+\d+", rule) for rule in ignores["*.ipynb"]), ignores["*.ipynb"]


def test_ruff_reads_the_notebooks_and_the_image_builders() -> None:
    shown = subprocess.run([str(Path(sys.executable).parent / "ruff"), "check", "--show-files", "."], cwd=REPO_ROOT,
                           capture_output=True, text=True, check=True).stdout
    files = {Path(line).resolve() for line in shown.splitlines() if line.strip()}
    notebooks = sorted((REPO_ROOT / "labs" / "source").glob("*.ipynb"))
    assert notebooks, "no notebooks in labs/source"
    expected = [*notebooks, *(REPO_ROOT / "harness" / "images").glob("*.py")]
    missed = [str(path.relative_to(REPO_ROOT)) for path in expected if path.resolve() not in files]
    assert not missed, f"`ruff check .` skips {missed}"
    assert not [path for path in files if (REPO_ROOT / "build") in path.parents], "ruff reads the build/ output folder"
