"""The product's import graph, read from the source (every import, at module level or inside a function)."""

from __future__ import annotations

import ast
from pathlib import Path

from harness.config import REPO_ROOT

# Where each top-level package lives: the host's harness, the image's in_image, the labs' practica and hidden tests.
PACKAGE_ROOTS = {"harness": REPO_ROOT, "in_image": REPO_ROOT, "practica": REPO_ROOT / "labs"}
HIDDEN_TESTS = REPO_ROOT / "labs" / "hidden"
HOST_SIDE = ("harness",)
IMAGE_SIDE = ("in_image", "practica", "hidden")


def module_files() -> dict[str, Path]:
    """Every product module by its dotted name (labs/hidden/labNN.py as hidden.labNN)."""
    found: dict[str, Path] = {}
    for package, root in PACKAGE_ROOTS.items():
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    for path in sorted(HIDDEN_TESTS.glob("*.py")):
        found[f"hidden.{path.stem}"] = path
    return found


def _imported(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        anchor = module.split(".")
        anchor = anchor if is_package else anchor[:-1]
        anchor = anchor[: len(anchor) - (node.level - 1)]
        base = ".".join([*anchor, *([base] if base else [])])
    return [base, *(f"{base}.{alias.name}" for alias in node.names)]


def import_graph() -> dict[str, set[str]]:
    """module -> the product modules it imports (a name imported from a module counts as the module)."""
    files = module_files()
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = _imported(node, module, path.name == "__init__.py")
                targets |= {name for name in names if name in files and name != module}
        graph[module] = targets
    return graph


def side(module: str) -> str:
    top = module.split(".", maxsplit=1)[0]
    return "host" if top in HOST_SIDE else "image" if top in IMAGE_SIDE else "other"


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = list(graph.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules on a circle, grouped: each group's modules all reach one another."""
    reach = {node: reachable(graph, node) for node in graph}
    groups = {tuple(sorted({node} | {other for other in reach[node] if node in reach.get(other, ())}))
              for node in graph if node in reach[node]}
    return sorted(list(group) for group in groups)
