"""Submissions built at test time from a lab's source: solutions or placeholders, with cells replaced or added.

Built from labs/source, so they never drift from the lab.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from harness.course import catalog, versions
from in_image.exercises import tags


def submission(lab_id: str, *, solved: bool = True, replace: Mapping[str, str] | None = None,
               insert: Sequence[str] = (), parameters: Mapping[str, object] | None = None) -> NotebookNode:
    """The lab's instructor (solved) or student version, each `replace[exercise]` as that exercise's solution
    cell, `insert` cells added after the first code cell (the imports), and parameters set in the `parameters` cell."""
    lab = catalog.find_lab(lab_id)
    notebook = versions.make_version(catalog.read_notebook(lab.source), student=not solved, origin=str(lab.source))
    for cell in notebook.cells:
        exercise = tags.exercise_of(cell)
        if exercise is not None and replace and exercise in replace:
            cell.source = replace[exercise]
        if parameters and "parameters" in cell.get("metadata", {}).get("tags", []):
            cell.source += "\n" + "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    for offset, source in enumerate(insert, start=1):
        notebook.cells.insert(first_code + offset, nbformat.v4.new_code_cell(source))
    return notebook


def write(notebook: NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path


VERDICT_MARKS = ("✅", "❌", "⏳", "⚠️")  # how comprobar's lines start (practica.comprobacion)


def comprobar_output(executed: NotebookNode, exercise: str) -> str:
    """What `comprobar("exercise")` printed in an executed notebook: its cell's stdout from the verdict's first line on
    (what the student's code printed while comprobar ran it comes before; torch's warnings go to stderr)."""
    for cell in executed.cells:
        if cell.cell_type == "code" and f'comprobar("{exercise}")' in cell.source:
            printed = "".join(o.get("text", "") for o in cell.get("outputs", [])
                              if o.get("output_type") == "stream" and o.get("name") == "stdout")
            lines = printed.splitlines(keepends=True)
            first = next((i for i, line in enumerate(lines) if line.startswith(VERDICT_MARKS)), 0)
            return "".join(lines[first:])
    raise AssertionError(f"the notebook has no comprobar(\"{exercise}\") cell")
