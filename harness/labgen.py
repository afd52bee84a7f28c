"""The labs: one instructor source notebook per lab, and the student/instructor notebooks made from it.

labs/source/NN-name.ipynb is the single source of lab NN. In its code cells, the lines between
`# BEGIN SOLUCION` and `# END SOLUCION` are the solution: the instructor version keeps them (without
the markers), the student version replaces each region by a `raise NotImplementedError(...)` that
tells the student, in Spanish, what to write. The solution cells carry the tag `ejercicio:<id>`, so
that the grader can tell which exercise a placeholder belongs to. The hidden tests live apart, in
labs/hidden/labNN.py: nothing here reads them, so they can never reach a student notebook or the image.

Both versions are stored without outputs and with the kernelspec of the source.
"""

from __future__ import annotations

import copy
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from harness.config import REPO_ROOT
from harness.errors import HarnessError

SOURCE_DIR = REPO_ROOT / "labs" / "source"
HIDDEN_DIR = REPO_ROOT / "labs" / "hidden"
BEGIN = "# BEGIN SOLUCION"
END = "# END SOLUCION"
EXERCISE_TAG = "ejercicio:"
# The student's placeholder; `pendiente` (pending) is what the grader and the tests look for.
PLACEHOLDER = "PENDIENTE: escribe tu solución del ejercicio «{id}» en lugar de esta línea"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
_LAB_FILE = re.compile(r"^(\d\d)-[a-z0-9-]+\.ipynb$")


@dataclass(frozen=True)
class Lab:
    id: str  # "00"
    name: str  # "00-introduccion"
    title: str
    source: Path
    ci_parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def hidden_tests(self) -> Path:
        return HIDDEN_DIR / f"lab{self.id}.py"

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"


def labs() -> dict[str, Lab]:
    """The labs of labs/source, by id ("00", "01", ...)."""
    found: dict[str, Lab] = {}
    for path in sorted(SOURCE_DIR.glob("*.ipynb")):
        match = _LAB_FILE.match(path.name)
        if not match:
            raise HarnessError(f"{path}: lab sources are named NN-nombre.ipynb (two digits, then the name)")
        meta = read_notebook(path).metadata.get("dl_lab", {})
        found[match.group(1)] = Lab(
            id=match.group(1), name=path.stem, title=str(meta.get("titulo", path.stem)), source=path,
            ci_parameters=dict(meta.get("ci_parameters", {})),
        )
    return found


def find_lab(key: str) -> Lab:
    """A lab by id ("00", "0", "lab00") or name ("00-introduccion"); a one-line error otherwise."""
    known = labs()
    wanted = key.strip().removeprefix("lab").removesuffix(".ipynb")
    for lab in known.values():
        if wanted in (lab.id, lab.name) or (wanted.isdigit() and int(wanted) == int(lab.id)):
            return lab
    names = ", ".join(f"{lab.id} ({lab.name})" for lab in known.values())
    raise HarnessError(f"unknown lab {key!r}: the labs are {names}")


def read_notebook(path: Path) -> NotebookNode:
    """A notebook (format 4), or a one-line error that says what is wrong with the file."""
    if not path.exists():
        raise HarnessError(f"{path}: no such file")
    if path.is_dir() or path.suffix != ".ipynb":
        raise HarnessError(f"{path}: not a notebook (expected a .ipynb file)")
    try:
        notebook = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    except Exception as error:  # nbformat raises JSON, validation and encoding errors alike
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise HarnessError(f"{path}: not a valid notebook ({message})") from None
    if not isinstance(notebook.get("cells"), list):
        raise HarnessError(f"{path}: not a valid notebook (no list of cells)")
    result: NotebookNode = notebook
    return result


def exercise_of(cell: NotebookNode) -> str | None:
    for tag in cell.get("metadata", {}).get("tags", []):
        if isinstance(tag, str) and tag.startswith(EXERCISE_TAG):
            return tag.removeprefix(EXERCISE_TAG)
    return None


def exercise_ids(notebook: NotebookNode) -> list[str]:
    ids: list[str] = []
    for cell in notebook.cells:
        exercise = exercise_of(cell)
        if exercise and exercise not in ids:
            ids.append(exercise)
    return ids


def _rewrite(source: str, *, exercise: str | None, keep_solution: bool, where: str) -> str:
    out: list[str] = []
    inside = False
    for line in source.split("\n"):
        marker = line.strip()
        if marker == BEGIN:
            if inside:
                raise HarnessError(f"{where}: '{BEGIN}' inside a solution region")
            if exercise is None:
                raise HarnessError(f"{where}: a solution region in a cell without an '{EXERCISE_TAG}<id>' tag")
            inside = True
            if not keep_solution:
                indent = line[: len(line) - len(line.lstrip())]
                out.append(f"{indent}raise NotImplementedError({PLACEHOLDER.format(id=exercise)!r})")
        elif marker == END:
            if not inside:
                raise HarnessError(f"{where}: '{END}' without '{BEGIN}'")
            inside = False
        elif not inside or keep_solution:
            out.append(line)
    if inside:
        raise HarnessError(f"{where}: '{BEGIN}' without '{END}'")
    return "\n".join(out)


def make_version(source: NotebookNode, *, student: bool, origin: str) -> NotebookNode:
    """The student (solutions replaced) or instructor (markers removed) version, without outputs."""
    notebook = copy.deepcopy(source)
    notebook.metadata["kernelspec"] = dict(source.metadata.get("kernelspec") or KERNELSPEC)
    notebook.metadata.setdefault("dl_lab", {})["version"] = "alumno" if student else "profesor"
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        cell.source = _rewrite(cell.source, exercise=exercise_of(cell), keep_solution=not student,
                               where=f"{origin} cell {index}")
        cell.outputs = []
        cell.execution_count = None
    return notebook


def generate(*, out: Path) -> None:
    """Write out/student/*.ipynb and out/instructor/*.ipynb for every lab source."""
    for version in ("student", "instructor"):
        shutil.rmtree(out / version, ignore_errors=True)
        (out / version).mkdir(parents=True)
    for lab in labs().values():
        source = read_notebook(lab.source)
        for version in ("student", "instructor"):
            notebook = make_version(source, student=version == "student", origin=str(lab.source))
            nbformat.validate(notebook)
            nbformat.write(notebook, out / version / lab.notebook_name)  # type: ignore[no-untyped-call]
