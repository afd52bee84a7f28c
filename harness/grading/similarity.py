"""The class similarity report: notebooks that share cells the lab did not give them.

Each code cell is normalised: comments, whitespace and string literals dropped, identifiers renamed
canonically in order of appearance (v0, v1, ...; builtins and attribute names kept), IPython's `%`
and `!` lines reduced to their command. The lines the lab's own student notebook holds (its
template, after the same normalisation) are left out of each cell; what is left is the student's own
code, and a cell whose own code is shorter than MIN_TOKENS tokens is not compared (one-line answers
converge honestly). Cells whose own code normalises to the same text are shared: "identical" when
their text matched before normalisation too (whitespace aside), "normalised" otherwise. String literals
longer than LONG_STRING are not normalised away but replaced by their digest (before the cell's cap), so
a pasted blob is compared exactly.

Beyond single cells (scope "cell"): each notebook's whole own code (its cells' own lines in order, short
cells included: scope "notebook") and each long literal (scope "string") are compared too; and cells
and notebooks whose significant lines overlap by NEAR_JACCARD or more (names renamed within each line,
so an added line does not shift them) are "near" matches, found by prefix filtering (no all-pairs loop).

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
import math
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
IDENTICAL, NORMALISED, NEAR = "identical", "normalised", "near"
CELL, NOTEBOOK, STRING = "cell", "notebook", "string"  # what a match is about: one cell, a notebook's own code, a literal
LONG_STRING = 2_000  # a string literal longer than this is kept as its digest, not normalised away
MAX_TOKENIZED = 300_000  # larger cells are searched for long literals by a regular expression (Python's tokenizer: ~2 s/MB)
NEAR_JACCARD = 0.8  # near match: the sets of significant lines overlap this much (|A ∩ B| / |A ∪ B|)
MIN_NEAR_LINES = 4  # ... and each has at least this many distinct significant lines
MIN_LINE_TOKENS = 4  # a line with fewer tokens (pass, return x, else:) is not significant
_LONG_MARK = "__long_literal_"
_BODY = "{" + str(LONG_STRING) + ",}"
_LONG_LITERAL = re.compile(
    r"[rRbBuUfF]{0,2}(?:"
    + r"'''(?:(?!''')[^\\]|\\.)" + _BODY + r"'''"
    + r'|"""(?:(?!""")[^\\]|\\.)' + _BODY + r'"""'
    + r"|'(?:[^'\\\n]|\\.)" + _BODY + r"'"
    + r'|"(?:[^"\\\n]|\\.)' + _BODY + r'")', re.DOTALL)
_CANONICAL_NAME = re.compile(r"\bv\d+\b")
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
    match: str  # IDENTICAL, NORMALISED or NEAR
    where: dict[str, int]  # notebook name -> cell index (for a notebook's own code: its first own cell)
    scope: str = CELL  # CELL, NOTEBOOK (all of a notebook's own code) or STRING (a long literal)

    def as_dict(self) -> dict[str, Any]:
        return {"preview": self.preview, "match": self.match, "scope": self.scope,
                "cells": [{"notebook": name, "cell": index} for name, index in self.where.items()]}


@dataclass(frozen=True)
class SimilarityGroup:
    notebooks: tuple[str, ...]
    cells: list[SharedCell] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"notebooks": list(self.notebooks), "cells": [c.as_dict() for c in self.cells]}


# ---- reading ------------------------------------------------------------------------------------------
def _long_literal_text(literal: str) -> str:
    digest = hashlib.blake2b(literal.encode(errors="replace"), digest_size=8).hexdigest()
    return f"'{_LONG_MARK}{digest}_{len(literal)}'"


def _long_tokens(text: str) -> list[tuple[int, int]]:
    """The (start, end) offsets of the string tokens longer than LONG_STRING (Python's tokenizer: exact)."""
    starts = [0]
    for line in text.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))
    spans = []
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.STRING and len(token.string) > LONG_STRING:
            spans.append((starts[token.start[0] - 1] + token.start[1], starts[token.end[0] - 1] + token.end[1]))
    return spans


def hash_long_literals(text: str) -> str:
    """Each string literal longer than LONG_STRING replaced by a short one holding its digest and length. Python's
    tokenizer finds them (a quote in a comment is no string) in cells up to MAX_TOKENIZED characters; a larger cell,
    or one it cannot read, is searched with a regular expression."""
    if len(text) <= LONG_STRING or not _LONG_LITERAL.search(text):
        return text
    if len(text) <= MAX_TOKENIZED:
        try:
            spans = _long_tokens(text)
        except (tokenize.TokenError, SyntaxError, IndentationError):
            pass
        else:
            pieces, last = [], 0
            for start, end in spans:
                pieces += [text[last:start], _long_literal_text(text[start:end])]
                last = end
            return "".join(pieces) + text[last:]
    return _LONG_LITERAL.sub(lambda m: _long_literal_text(m.group(0)), text)


def _source(cell: Any) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    text = "".join(map(str, source)) if isinstance(source, list) else str(source)
    return hash_long_literals(text[: MAX_NOTEBOOK_BYTES // 4])[:MAX_CELL_CHARS]


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
        if isinstance(node.value, bytes) or (isinstance(node.value, str) and not node.value.startswith(_LONG_MARK)):
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
                text = token.string if _LONG_MARK in token.string else "S"
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
def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(errors="replace"), digest_size=16).hexdigest()


def _line_feature(line: str) -> str | None:
    """A significant line (MIN_LINE_TOKENS tokens or more) with its names renamed in order within the line, so
    that a line added above (which shifts the cell's canonical names) leaves the others alike; None otherwise."""
    if len(_TOKENS.findall(line)) < MIN_LINE_TOKENS:
        return None
    names: dict[str, str] = {}
    return _CANONICAL_NAME.sub(lambda m: names.setdefault(m.group(0), f"n{len(names)}"), line)


def _long_literals(lines: Iterable[str]) -> list[str]:
    return [m for line in lines for m in re.findall(_LONG_MARK + r"\w+", line)]


@dataclass(frozen=True)
class _Own:
    """A cell's own code: its normalised lines that are not the lab's."""

    lines: tuple[str, ...]
    tokens: int
    comparable: bool  # MIN_TOKENS tokens or more, or a long literal


@dataclass
class _Seen:
    preview: str
    scope: str
    lines: tuple[str, ...]
    where: dict[str, int] = field(default_factory=dict)
    plains: set[str] = field(default_factory=set)
    short_cells: bool = False  # (a notebook's own code) some of its cells are too short to be compared alone

    def record(self, notebook: str, index: int, plain: str) -> None:
        self.where.setdefault(notebook, index)
        self.plains.add(plain)


class _Template:
    """The lab's own cells: their sources (skipped at once) and normalised lines (left out of each cell)."""

    def __init__(self, cells: Iterable[str]) -> None:
        sources = list(cells)
        self.plain = {_plain(s) for s in sources}
        self.lines = {line for s in sources for line in normalised_lines(s)}
        self.features = {f for f in map(_line_feature, self.lines) if f}
        self.cache: dict[str, _Own | None] = {}
        self.line_features: dict[str, str | None] = {}

    def own(self, source: str) -> _Own | None:
        """The cell's own code, or None when it is the template's or has no line of its own."""
        if source in self.cache:
            return self.cache[source]
        own = None
        if _plain(source) not in self.plain:
            lines = tuple(line for line in normalised_lines(source) if line not in self.lines)
            if lines:
                text = "\n".join(lines)
                tokens = len(_TOKENS.findall(text))
                own = _Own(lines, tokens, tokens >= MIN_TOKENS or _LONG_MARK in text)
        self.cache[source] = own
        return own

    def features_of(self, lines: Iterable[str]) -> frozenset[str]:
        """The significant lines of some own code that are not the lab's."""
        found = set()
        for line in lines:
            if line not in self.line_features:
                self.line_features[line] = _line_feature(line)
            feature = self.line_features[line]
            if feature and feature not in self.features:
                found.add(feature)
        return frozenset(found)


class _Comparison:
    """Every cell, every notebook's own code and every long literal, keyed by their exact digests."""

    def __init__(self, template: Iterable[str]) -> None:
        self.lab = _Template(template)
        self.cells: dict[str, _Seen] = {}
        self.notebooks: dict[str, _Seen] = {}
        self.strings: dict[str, _Seen] = {}

    def add(self, notebook: NotebookCells) -> None:
        lines: list[str] = []
        plains: list[str] = []
        first: tuple[int, str] | None = None
        own_cells, tokens, short_cells, long_literal = 0, 0, False, False
        for index, source in notebook.cells:
            own = self.lab.own(source)
            if own is None:
                continue
            own_cells, tokens = own_cells + 1, tokens + own.tokens
            short_cells = short_cells or not own.comparable
            first = first or (index, source)
            lines.extend(own.lines)
            plains.append(_plain(source))
            if own.comparable:
                self._seen(self.cells, "\n".join(own.lines), CELL, own.lines, source).record(notebook.name, index,
                                                                                            plains[-1])
            for literal in _long_literals(own.lines):
                long_literal = True
                self._seen(self.strings, literal, STRING, (), source).record(notebook.name, index, literal)
        if first and own_cells >= 2 and (tokens >= MIN_TOKENS or long_literal):
            entry = self._seen(self.notebooks, "\n".join(lines), NOTEBOOK, lines, first[1])
            entry.record(notebook.name, first[0], "\n".join(plains))
            entry.short_cells = entry.short_cells or short_cells

    def _seen(self, table: dict[str, _Seen], text: str, scope: str, lines: Iterable[str], source: str) -> _Seen:
        key = _digest(text)
        if key not in table:
            table[key] = _Seen(preview=_preview(source), scope=scope, lines=tuple(lines))
        return table[key]

    def shared(self) -> list[SharedCell]:
        """The exact matches (cells, notebooks' own code, long literals) and the near ones."""
        found: list[SharedCell] = []
        for table in (self.cells, self.notebooks, self.strings):
            for entry in table.values():
                if len(entry.where) >= 2 and (entry.scope != NOTEBOOK or entry.short_cells):
                    match = IDENTICAL if len(entry.plains) == 1 else NORMALISED
                    found.append(SharedCell(entry.preview, match, dict(sorted(entry.where.items())), entry.scope))
        cells = {tuple(c.where.items()) for c in found if c.scope == CELL}
        found = [c for c in found if c.scope != STRING or tuple(c.where.items()) not in cells]  # said once
        return found + _near(self.cells, self.lab) + _near(self.notebooks, self.lab)


def _near(table: dict[str, _Seen], lab: _Template) -> list[SharedCell]:
    """Entries whose significant lines overlap by NEAR_JACCARD or more, chained, as NEAR matches: only those
    that bring together notebooks the exact matches do not."""
    features = {key: lab.features_of(entry.lines) for key, entry in table.items()}
    features = {key: values for key, values in features.items() if len(values) >= MIN_NEAR_LINES}
    shared = []
    for cluster in _near_clusters(features):
        where: dict[str, int] = {}
        for key in cluster:
            for name, index in table[key].where.items():
                where.setdefault(name, index)
        if len(where) > max(len(table[key].where) for key in cluster):
            first = table[cluster[0]]
            shared.append(SharedCell(first.preview, NEAR, dict(sorted(where.items())), first.scope))
    return shared


def _near_clusters(features: dict[str, frozenset[str]]) -> list[list[str]]:
    """Keys linked by a Jaccard similarity of NEAR_JACCARD or more, chained (union-find). Candidates come from
    prefix filtering: with the features of each set in one global order (rarest first), two sets that similar
    share a feature among the first |s| - ceil(t |s|) + 1 of each."""
    frequency: dict[str, int] = defaultdict(int)
    for values in features.values():
        for feature in values:
            frequency[feature] += 1
    parent = {key: key for key in features}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    index: dict[str, list[str]] = defaultdict(list)
    for key in sorted(features, key=lambda k: (len(features[k]), k)):
        mine = features[key]
        prefix = sorted(mine, key=lambda f: (frequency[f], f))[: len(mine) - math.ceil(NEAR_JACCARD * len(mine)) + 1]
        for other in {o for feature in prefix for o in index[feature]}:
            theirs = features[other]  # never larger than mine: keys come by size
            common = len(mine & theirs)
            if len(theirs) >= NEAR_JACCARD * len(mine) and common >= NEAR_JACCARD * (len(mine) + len(theirs) - common):
                parent[root(other)] = root(key)
        for feature in prefix:
            index[feature].append(key)
    clusters: dict[str, list[str]] = defaultdict(list)
    for key in sorted(features):
        clusters[root(key)].append(key)
    return [keys for keys in clusters.values() if len(keys) >= 2]


def similarity_groups(notebooks: Sequence[NotebookCells], *, template: Iterable[str]) -> list[SimilarityGroup]:
    """Groups of notebooks sharing non-template code (cells, their whole own code or long literals, exactly or
    nearly), the largest first (at most MAX_GROUPS)."""
    comparison = _Comparison(template)
    for notebook in notebooks:
        comparison.add(notebook)
    by_notebooks: dict[tuple[str, ...], list[SharedCell]] = defaultdict(list)
    for shared in comparison.shared():
        by_notebooks[tuple(shared.where)].append(shared)
    groups = [SimilarityGroup(names, cells) for names, cells in by_notebooks.items()]
    groups.sort(key=lambda g: (-len(g.notebooks), -len(g.cells), g.notebooks))
    return groups[:MAX_GROUPS]


def similarity_section(groups: list[SimilarityGroup]) -> dict[str, Any]:
    """The report's `similarity` section."""
    return {"min_tokens": MIN_TOKENS, "near_jaccard": NEAR_JACCARD, "groups": [g.as_dict() for g in groups]}


def class_similarity(submissions: Sequence[tuple[Path, str]], *, template: Iterable[str]) -> dict[str, Any]:
    """The `similarity` section for (notebook path, display name) pairs against the lab's template cells."""
    notebooks = [read_cells(path, name) for path, name in submissions]
    return similarity_section(similarity_groups(notebooks, template=template))


# ---- the CSV of `harness export` ----------------------------------------------------------------------
SIMILARITY_COLUMNS = ("group", "notebooks", "students", "match", "cells", "preview", "scope")


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
                         str(cell.get("preview", "")), str(cell.get("scope", CELL))])
    return rows
