"""The docs by audience: the README a front door, each page's shell commands run by a named test or marked as
needing hardware, every relative link resolves, no paragraph written twice, and CI told how to get the harness's
own exit codes (which `make` hides), checked for real."""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from harness.cli import build_parser
from harness.config import REPO_ROOT
from in_image.measure.system import gpu_absence_reason
from tests.unit.test_make import make_targets

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
AUDIENCES = ("estudiantes", "instructors", "admins", "architecture", "measurements")
PAGES = [README, *sorted(DOCS.glob("*.md"))]
DEPLOY_PAGES = sorted((REPO_ROOT / "deploy").glob("*/README.md"))
FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
MARKER = re.compile(r"<!-- (tested by: [^;>]+?|needs: [^;>]+?)(?:; (tested by: [^;>]+?|needs: [^;>]+?))? -->\s*$")
SHELL = ("bash", "sh", "shell", "console")


def relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


# ---- the pages -------------------------------------------------------------------------------------------
def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, f"the README has {len(lines)} lines: move what one audience reads into docs/"
    text = README.read_text()
    for audience in AUDIENCES:
        assert f"(docs/{audience}.md)" in text, f"the README does not send its readers to docs/{audience}.md"
    assert "make lab" in text and "make test" in text, "the README shows the two commands"


def test_the_students_guide_is_in_spanish() -> None:
    text = (DOCS / "estudiantes.md").read_text()
    for words in ("práctica", "tu portátil", "hub", "Colab", "comprobar", "GPU", "cuaderno"):
        assert words in text, f"docs/estudiantes.md does not speak of {words!r}"
    english = [word for word in (" the ", " your ", " you ") if word in text]
    assert not english, f"docs/estudiantes.md reads as English: {english}"


def test_measurements_carry_their_dates() -> None:
    text = (DOCS / "measurements.md").read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    assert sections, "docs/measurements.md has no section"
    undated = [section.splitlines()[0] for section in sections if not re.search(r"\b20\d\d-\d\d-\d\d\b", section)]
    assert not undated, f"measurements without their date: {undated}"


# ---- links -----------------------------------------------------------------------------------------------
def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(match) for match in re.findall(r"^#+ (.*)$", text, flags=re.MULTILINE)}


def test_slugs_are_githubs() -> None:
    loop = "the-instructors-loop-collect-grade-export-hand-back"
    assert slug("The instructor's loop: collect, grade, export, hand back") == loop
    assert slug("The whole test suite (`bash .ci/run`)") == "the-whole-test-suite-bash-cirun"


@pytest.mark.parametrize("page", [*PAGES, *DEPLOY_PAGES], ids=relative)
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", FENCE.sub("", page.read_text())):
        if re.match(r"[a-z]+:", target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (page.parent / file_part).resolve() if file_part else page
        if not linked.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{relative(page)}: broken links {broken}"


# ---- no text twice ---------------------------------------------------------------------------------------
def test_no_paragraph_is_written_twice() -> None:
    seen: dict[str, list[str]] = defaultdict(list)
    for page in [*PAGES, *DEPLOY_PAGES]:
        for paragraph in re.split(r"\n\s*\n", FENCE.sub("", page.read_text())):
            text = " ".join(paragraph.split())
            if len(text) >= 100 and not text.startswith(("|", "<!--")):
                seen[text].append(relative(page))
    twice = {text[:80]: pages for text, pages in seen.items() if len(pages) > 1}
    assert not twice, f"paragraphs written in more than one place (link instead): {twice}"


# ---- the shell commands ----------------------------------------------------------------------------------
def shell_blocks(page: Path) -> list[tuple[int, str, str]]:
    """(line, the marker line above the block, the block) for each fenced shell block of the page."""
    text = page.read_text()
    blocks = []
    for match in FENCE.finditer(text):
        if match.group(1) not in SHELL:
            continue
        line = text[: match.start()].count("\n") + 1
        above = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        blocks.append((line, above, match.group(2)))
    return blocks


def commands(block: str) -> list[list[str]]:
    """Each command of a block: comments dropped, continuation lines joined, `&&` chains split."""
    joined = re.sub(r"\\\n\s*", " ", block)
    found = []
    for line in joined.splitlines():
        words = shlex.split(line, comments=True) if line.strip() else []
        while words:
            cut = words.index("&&") if "&&" in words else len(words)
            found.append(words[:cut])
            words = words[cut + 1:]
    return found


ALL_BLOCKS = [(page, *block) for page in PAGES for block in shell_blocks(page)]


def test_the_docs_show_shell_blocks() -> None:
    assert len(ALL_BLOCKS) >= 8, f"the reader finds the docs' shell blocks: {len(ALL_BLOCKS)}"


@pytest.mark.parametrize(("page", "line", "above", "block"), ALL_BLOCKS,
                         ids=[f"{relative(page)}:{line}" for page, line, _, _ in ALL_BLOCKS])
def test_each_shell_block_names_its_test_or_the_hardware_it_needs(page: Path, line: int, above: str, block: str) -> None:
    marker = MARKER.search(above)
    assert marker, (f"{relative(page)}:{line}: put `<!-- tested by: tests/...py[::test_name], ... -->` or "
                    f"`<!-- needs: what this machine lacks -->` on the line above the block")
    for part in filter(None, marker.groups()):
        if not part.startswith("tested by: "):
            continue
        for reference in part.removeprefix("tested by: ").split(", "):
            file_name, _, test_name = reference.partition("::")
            path = REPO_ROOT / file_name
            assert path.is_file(), f"{relative(page)}:{line}: {file_name} does not exist"
            if test_name:
                assert re.search(rf"^def {re.escape(test_name)}\(", path.read_text(), re.MULTILINE), (
                    f"{relative(page)}:{line}: {file_name} has no test {test_name}")


def harness_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize(("page", "line", "above", "block"), ALL_BLOCKS,
                         ids=[f"{relative(page)}:{line}" for page, line, _, _ in ALL_BLOCKS])
def test_each_make_and_harness_command_exists(page: Path, line: int, above: str, block: str) -> None:
    """Every `make TARGET` is a target, every `harness VERB` a verb with the options it is shown with."""
    targets, verbs = make_targets(), harness_parsers()
    for words in commands(block):
        where = f"{relative(page)}:{line}: `{' '.join(words)}`"
        if words[0] == "make":
            named = [word for word in words[1:] if "=" not in word and not word.startswith(("-", "["))]
            assert named and set(named) <= targets, f"{where}: no such make target {sorted(set(named) - targets)}"
        elif words[0].endswith("harness"):
            verb = words[1]
            assert verb in verbs, f"{where}: no harness verb {verb!r}"
            known = {option for action in verbs[verb]._actions for option in action.option_strings}
            subverbs = next((a.choices for a in verbs[verb]._actions if isinstance(a, argparse._SubParsersAction)), {})
            if len(words) > 2 and words[2] in subverbs:
                known |= {o for a in subverbs[words[2]]._actions for o in a.option_strings}
            shown = {word.strip("[").split("=")[0].rstrip("]") for word in words[2:] if word.lstrip("[").startswith("--")}
            assert shown <= known, f"{where}: {verb} has no option {sorted(shown - known)}"


def test_the_command_reader_splits_chains_and_comments() -> None:
    block = "make images && make hub   # a comment\n.venv/bin/harness export 00 \\\n    --roster r.csv\n"
    assert commands(block) == [["make", "images"], ["make", "hub"], [".venv/bin/harness", "export", "00", "--roster", "r.csv"]]


# ---- exit codes in CI ------------------------------------------------------------------------------------
def ci_commands() -> list[list[str]]:
    admins = DOCS / "admins.md"
    blocks = [block for _, above, block in shell_blocks(admins) if "test_ci_gets_the_harness_exit_codes" in above]
    assert len(blocks) == 1, "docs/admins.md shows CI one block of harness calls for the exit codes"
    return commands(blocks[0])


def test_the_workflows_call_the_harness_for_exit_codes() -> None:
    shown = [" ".join(words) for words in ci_commands()]
    assert [command for command in shown if command.startswith(".venv/bin/harness smoke")], shown
    for workflow in sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml")):
        text = workflow.read_text()
        assert not re.search(r"run: make (smoke|gpu-check)\b", text), (
            f"{relative(workflow)} runs make smoke or make gpu-check, whose exit code is always 2 on failure")
        assert "harness smoke" in text, f"{relative(workflow)} does not run the smoke test"


@pytest.mark.skipif(gpu_absence_reason() is None, reason="a GPU is visible here: the codes for a GPU are tested in tests/gpu")
def test_ci_gets_the_harness_exit_codes(tmp_path: Path) -> None:
    """Without a GPU each documented call exits 3, while `make smoke` turns the same 3 into its own 2."""
    env = {**os.environ, "PATH": f"{REPO_ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    for words in ci_commands():
        done = subprocess.run([*words, "--reports", str(tmp_path / words[1])], cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=300, check=False, env=env)
        assert done.returncode == 3, f"`{' '.join(words)}` exited {done.returncode}, not 3 (no GPU): {done.stderr[-800:]}"
    done = subprocess.run(["make", "--no-print-directory", "smoke", "VARIANT=local"], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, check=False, env=env)
    assert done.returncode == 2, f"make smoke exited {done.returncode}: {done.stderr[-800:]}"
    assert "Error 3" in done.stderr, f"make should report smoke's 3 as its Error 3: {done.stderr[-800:]}"
