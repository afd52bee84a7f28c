"""The class similarity report: notebooks that share cells the lab did not give them.

Each code cell is normalised: comments, whitespace and string literals dropped, identifiers renamed
canonically in order of appearance (v0, v1, ...; builtins and attribute names kept), IPython's `%`
and `!` lines reduced to their command. The lines the lab's own student notebook holds (its
template, after the same normalisation) are left out of each cell; what is left is the student's own
code, and a cell whose own code is shorter than MIN_TOKENS tokens is not compared (one-line answers
converge honestly). Cells whose own code normalises to the same text are shared: "identical" when
their text matched before normalisation too (whitespace aside), "normalised" otherwise.

Notebooks that share the same cells form a group; the report lists each group with its cells, where
each sits in each notebook and a short preview. Pure host code: notebooks are read as JSON (any
encoding, invalid ones skipped), cells capped at MAX_CELL_CHARS, parse failures (syntax errors,
deep nesting) fall back to a token-level normalisation.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
import io
import json
import keyword
import logging
import re
import tokenize
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MAX_CELL_CHARS = 20_000
MAX_NOTEBOOK_BYTES = 20_000_000
MIN_TOKENS = 12
MAX_GROUPS = 200
MAX_PREVIEW = 80
IDENTICAL, NORMALISED = "identical", "normalised"
_KEPT_NAMES = frozenset(dir(builtins)) | {"self", "cls", "get_ipython"}
_TOKENS = re.compile(r"\w+|[^\s\w]")
_MAGIC = re.compile(r"^(\s*)([%!]{1,2})(\S*).*$", re.MULTILINE)


@dataclass(frozen=True)
class NotebookCells:
    name: str
    cells: list[tuple[int, str]]  # (cell index, source) of each code cell


@dataclass(frozen=True)
class SharedCell:
    preview: str
    match: str  # IDENTICAL or NORMALISED
    where: dict[str, int]  # notebook name -> cell index

    def as_dict(self) -> dict[str, Any]:
        return {"preview": self.preview, "match": self.match,
                "cells": [{"notebook": name, "cell": index} for name, index in self.where.items()]}


@dataclass(frozen=True)
class SimilarityGroup:
    notebooks: tuple[str, ...]
    cells: list[SharedCell] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"notebooks": list(self.notebooks), "cells": [c.as_dict() for c in self.cells]}


# ---- reading ------------------------------------------------------------------------------------------
def _source(cell: Any) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    text = "".join(map(str, source)) if isinstance(source, list) else str(source)
    return text[:MAX_CELL_CHARS]


def code_cells(notebook: Any) -> list[tuple[int, str]]:
    """(index, source) of the code cells of a notebook read as JSON (anything else: none)."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return []
    return [(index, _source(cell)) for index, cell in enumerate(cells)
            if isinstance(cell, dict) and cell.get("cell_type") == "code"]


def read_cells(path: Path, name: str) -> NotebookCells:
    """A notebook's code cells; none (and a log line) when the file cannot be read as a notebook."""
    try:
        with path.open("rb") as file:
            data = file.read(MAX_NOTEBOOK_BYTES + 1)
        if len(data) > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES} bytes")
        notebook = json.loads(data.decode("utf-8", errors="replace"))
    except (OSError, ValueError, RecursionError) as error:
        log.info("similarity: %s left out (%s)", path, error)
        return NotebookCells(name, [])
    return NotebookCells(name, code_cells(notebook))


# ---- normalising --------------------------------------------------------------------------------------
class _Canonical(ast.NodeTransformer):
    """Identifiers renamed v0, v1... in order of appearance; strings replaced by one constant, docstrings dropped."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def rename(self, name: str) -> str:
        if name in _KEPT_NAMES:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.rename(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self.rename(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self.rename(node.name)
        return self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> ast.AST:
        node.name = self.rename(node.name)
        return self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        node.name = self.rename(node.name)
        return self.generic_visit(node)

    def visit_alias(self, node: ast.alias) -> ast.alias:
        if node.asname:
            node.asname = self.rename(node.asname)
        else:
            self.names.setdefault(node.name.split(".")[0], node.name.split(".")[0])
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST | None:
        """A bare string (a docstring) is a comment: dropped."""
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return None
        return self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str | bytes):
            node.value = "S"
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.Constant:
        return ast.Constant("S")


def _magic_call(match: re.Match[str]) -> str:
    command = re.sub(r"\W", "_", match.group(3))
    return f"{match.group(1)}_magic_{command}()"


def _without_magics(source: str) -> str:
    """Each `%` and `!` line as a call naming its command (a statement Python can parse)."""
    return _MAGIC.sub(_magic_call, source)


def _tokens_fallback(source: str) -> list[str]:
    """A cell Python cannot parse: its lines of tokens, comments dropped, names and strings canonical."""
    names: dict[str, str] = {}
    lines: dict[int, list[str]] = defaultdict(list)
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.NAME and not keyword.iskeyword(token.string) and token.string not in _KEPT_NAMES:
                text = names.setdefault(token.string, f"v{len(names)}")
            elif token.type == tokenize.STRING:
                text = "S"
            elif token.type in (tokenize.OP, tokenize.NUMBER, tokenize.NAME):
                text = token.string
            else:
                continue
            lines[token.start[0]].append(text)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        pass  # what was read so far stands
    return [" ".join(parts) for _, parts in sorted(lines.items())]


def normalised_lines(source: str) -> list[str]:
    """The cell as canonical lines (one per simple statement or block header)."""
    text = _without_magics(source)
    try:
        tree = _Canonical().visit(ast.parse(text))
        return [line.strip() for line in ast.unparse(tree).splitlines() if line.strip()]
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return [line for line in _tokens_fallback(text) if line]


def _plain(source: str) -> str:
    return " ".join(source.split())


def _preview(source: str) -> str:
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            shown = "".join(c if c.isprintable() else "?" for c in stripped)
            return shown if len(shown) <= MAX_PREVIEW else shown[: MAX_PREVIEW - 1] + "…"
    return ""


# ---- comparing ----------------------------------------------------------------------------------------
@dataclass
class _Seen:
    preview: str
    plain: str
    where: dict[str, int] = field(default_factory=dict)
    plains: set[str] = field(default_factory=set)


class _Template:
    """The lab's own cells: their sources (skipped at once) and normalised lines (left out of each cell)."""

    def __init__(self, cells: Iterable[str]) -> None:
        sources = list(cells)
        self.plain = {_plain(s) for s in sources}
        self.lines = {line for s in sources for line in normalised_lines(s)}
        self.cache: dict[str, str | None] = {}

    def own_key(self, source: str) -> str | None:
        """A digest of the cell's own normalised code, or None when it is the template's or too short."""
        if source in self.cache:
            return self.cache[source]
        key = None
        if _plain(source) not in self.plain:
            own = [line for line in normalised_lines(source) if line not in self.lines]
            text = "\n".join(own)
            if len(_TOKENS.findall(text)) >= MIN_TOKENS:
                key = hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
        self.cache[source] = key
        return key


def similarity_groups(notebooks: Sequence[NotebookCells], *, template: Iterable[str]) -> list[SimilarityGroup]:
    """Groups of notebooks sharing non-template cells, the largest first (at most MAX_GROUPS)."""
    lab = _Template(template)
    seen: dict[str, _Seen] = {}
    for notebook in notebooks:
        for index, source in notebook.cells:
            key = lab.own_key(source)
            if key is None:
                continue
            entry = seen.setdefault(key, _Seen(preview=_preview(source), plain=_plain(source)))
            entry.where.setdefault(notebook.name, index)
            entry.plains.add(_plain(source))
    by_notebooks: dict[tuple[str, ...], list[SharedCell]] = defaultdict(list)
    for entry in seen.values():
        if len(entry.where) < 2:
            continue
        match = IDENTICAL if len(entry.plains) == 1 else NORMALISED
        by_notebooks[tuple(sorted(entry.where))].append(SharedCell(entry.preview, match, dict(sorted(entry.where.items()))))
    groups = [SimilarityGroup(names, cells) for names, cells in by_notebooks.items()]
    groups.sort(key=lambda g: (-len(g.notebooks), -len(g.cells), g.notebooks))
    return groups[:MAX_GROUPS]


def similarity_section(groups: list[SimilarityGroup]) -> dict[str, Any]:
    """The report's `similarity` section."""
    return {"min_tokens": MIN_TOKENS, "groups": [g.as_dict() for g in groups]}


def class_similarity(submissions: Sequence[tuple[Path, str]], *, template: Iterable[str]) -> dict[str, Any]:
    """The `similarity` section for (notebook path, display name) pairs against the lab's template cells."""
    notebooks = [read_cells(path, name) for path, name in submissions]
    return similarity_section(similarity_groups(notebooks, template=template))


# ---- the CSV of `harness export` ----------------------------------------------------------------------
SIMILARITY_COLUMNS = ("group", "notebooks", "students", "match", "cells", "preview")


def similarity_rows(section: Any) -> list[list[str | int]]:
    """One row per shared cell of each group of a report's `similarity` section (bad entries skipped)."""
    groups = section.get("groups") if isinstance(section, dict) else None
    rows: list[list[str | int]] = []
    for number, group in enumerate(groups if isinstance(groups, list) else [], start=1):
        if not isinstance(group, dict) or not isinstance(group.get("notebooks"), list):
            continue
        names = [str(n) for n in group["notebooks"]]
        for cell in group.get("cells") or []:
            if not isinstance(cell, dict):
                continue
            places = "; ".join(f"{c.get('notebook')}: {c.get('cell')}" for c in cell.get("cells") or [] if isinstance(c, dict))
            rows.append([number, len(names), ", ".join(names), str(cell.get("match", "")), places,
                         str(cell.get("preview", ""))])
    return rows
