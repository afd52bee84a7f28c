"""The layout's rules, read from the tree: lint reads every product file, names are unique, argparse stays in the
commands, and the import graph has no arrow from the image side to the host side and no circle."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from harness.config import REPO_ROOT
from tests.unit.import_graph import cycles, import_graph, side

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
    assert {"harness", "in_image", "deploy/jupyterhub/dl_lab_hub"} <= set(mypy.group(1).split()), commands


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


# ---- names -----------------------------------------------------------------------------------------
PRODUCT_ROOTS = ("harness", "in_image", "labs", "docker", "deploy")


def product_classes() -> dict[str, list[str]]:
    """Every class defined in product code: name -> the files that define one."""
    classes: dict[str, list[str]] = {}
    for root in PRODUCT_ROOTS:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.ClassDef):
                    classes.setdefault(node.name, []).append(str(path.relative_to(REPO_ROOT)))
    return classes


def test_no_two_product_classes_share_a_name() -> None:
    classes = product_classes()
    assert {"GpuDecision", "CheckOutcome", "Limits"} <= set(classes), "the reader finds the product's classes"
    shared = {name: files for name, files in classes.items() if len(files) > 1}
    assert not shared, f"classes defined more than once: {shared}"


def test_judge_means_the_grading_judge_only() -> None:
    """engine/gpu assesses GPUs; "judge" names the judge that grades exercises."""
    tree = ast.parse((REPO_ROOT / "harness" / "engine" / "gpu.py").read_text())
    names = [node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.ClassDef)]
    assert "assess_gpus" in names, names
    assert not [name for name in names if "judge" in name.lower()], names


# ---- where argparse is -----------------------------------------------------------------------------
def command_modules() -> list[str]:
    from harness.cli import COMMAND_MODULES  # noqa: PLC0415

    return list(COMMAND_MODULES)


def test_argparse_stays_in_the_commands() -> None:
    outside = [str(path.relative_to(REPO_ROOT)) for path in sorted((REPO_ROOT / "harness").rglob("*.py"))
               if "commands" not in path.parts and path.name != "cli.py" and re.search(r"^\s*import argparse|argparse\.",
                                                                                      path.read_text(), re.MULTILINE)]
    assert not outside, f"library modules that read argparse (take keyword arguments instead): {outside}"


def test_no_command_imports_another_command() -> None:
    graph = import_graph()
    commands = set(command_modules())
    assert "harness.commands.grade" in commands and "harness.commands.gpu_check" in commands, commands
    assert "harness.grading.session" in graph["harness.commands.grade"], "the reader sees the commands' imports"
    crossing = {command: sorted(graph[command] & commands) for command in commands if graph[command] & commands}
    assert not crossing, f"commands that import other commands (move the shared code to a library module): {crossing}"


def test_commands_are_thin() -> None:
    """A command parses its options and calls the library: a whole subsystem lives outside harness/commands."""
    sizes = {path.name: len(path.read_text().splitlines()) for path in (REPO_ROOT / "harness" / "commands").glob("*.py")}
    large = {name: lines for name, lines in sizes.items() if lines > 200}
    assert not large, f"command modules over 200 lines: {large}"


# ---- the import graph ------------------------------------------------------------------------------
def test_the_graph_reader_sees_imports_of_every_kind() -> None:
    graph = import_graph()
    assert "harness.engine.module_container" in graph["harness.engine.module_run"], "an import inside a function"
    assert "practica.lab01_checks" in graph["hidden.lab01"], "the hidden tests' imports"
    assert "in_image.junit" in graph["harness.gpu_check.report"], "the host's imports of the shared modules"
    assert {side("harness.cli"), side("in_image.junit"), side("practica.comprobacion")} == {"host", "image"}


def test_no_arrow_from_the_image_side_to_the_host_side() -> None:
    graph = import_graph()
    arrows = sorted((module, target) for module, targets in graph.items() for target in targets
                    if side(module) == "image" and side(target) == "host")
    assert not arrows, f"the image's code imports the host's (it runs where harness/ is not installed): {arrows}"


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_circle() -> None:
    found = cycles(import_graph())
    assert not found, f"modules that import each other (directly or around a circle): {found}"


# ---- the tests themselves ----------------------------------------------------------------------------
def tuple_packed_asserts(source: str) -> list[int]:
    """Lines of `assert (a, b) == (x, y)`: a failure would not say which half differs."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Assert) and isinstance(node.test, ast.Compare) and isinstance(node.test.left, ast.Tuple)
            and all(isinstance(op, ast.Eq) for op in node.test.ops)]


def test_the_packed_assert_finder_finds_one() -> None:
    assert tuple_packed_asserts("assert (a, b) == (1, 2)\nassert a == 1\nassert (a, b) == pair\n") == [1, 3]


def test_no_test_packs_its_asserts_into_tuples() -> None:
    found = {str(path.relative_to(REPO_ROOT)): lines for path in sorted((REPO_ROOT / "tests").rglob("*.py"))
             if (lines := tuple_packed_asserts(path.read_text()))}
    assert not found, f"split these asserts, one comparison each: {found}"
