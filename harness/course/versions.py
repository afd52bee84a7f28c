"""The student and instructor versions of a lab, made from its one source notebook (`make labs`).

In the source's code cells, the lines between `# BEGIN SOLUCION` and `# END SOLUCION` are the
solution: the instructor version keeps them (without the markers), the student version replaces
each region by a `raise NotImplementedError(...)` that tells the student, in Spanish, what to write.
The solution cells carry the tag `ejercicio:<id>` (in_image.exercises.tags), so that the judge can
tell which exercise a placeholder belongs to. The hidden tests live apart, in labs/hidden/labNN.py:
nothing here reads them, so they can never reach a student notebook or the image.

Both versions are stored without outputs and with the kernelspec of the source.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from urllib.parse import urlparse

import nbformat
from nbformat import NotebookNode

from harness.course.catalog import all_labs, read_notebook
from harness.errors import HarnessError
from in_image.exercises.tags import EXERCISE_TAG, PLACEHOLDER, exercise_of

BEGIN = "# BEGIN SOLUCION"
END = "# END SOLUCION"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


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


# The first cell of a standalone notebook: install the student package from the course's URL, unless this
# Jupyter already has it (the course image, a second run). Its id marks it for the tests and the graders.
INSTALL_CELL_ID = "instalar-practica"
INSTALL_SOURCE = """\
# Instala el paquete de la asignatura (comprobar y los datos de cada práctica), si este Jupyter no lo tiene ya.
# Funciona en Colab, en Kaggle y en cualquier Jupyter con PyTorch; en la imagen del curso no hace nada.
import importlib
import importlib.util

if importlib.util.find_spec("practica") is None:
    %pip install --quiet {url}
    importlib.invalidate_caches()"""
_WHEEL_SCHEMES = ("https", "http", "file")


def check_wheel_url(url: str) -> str:
    """The URL of the published student wheel, or a one-line error that says what is expected."""
    parsed = urlparse(url.strip())
    if parsed.scheme not in _WHEEL_SCHEMES or not parsed.path.endswith(".whl") or any(c.isspace() for c in url.strip()):
        raise HarnessError(f"--standalone {url!r}: give the URL where you published the student wheel (make practica-wheel), "
                           f"e.g. https://curso.example.es/dl_lab_practica-VERSION-py3-none-any.whl")
    return url.strip()


def make_standalone(notebook: NotebookNode, *, url: str) -> NotebookNode:
    """A copy of a lab notebook whose first cell installs the student wheel from `url` (Colab, Kaggle, any Jupyter)."""
    standalone = copy.deepcopy(notebook)
    cell = nbformat.v4.new_code_cell(INSTALL_SOURCE.format(url=check_wheel_url(url)))  # type: ignore[no-untyped-call]
    cell.id = INSTALL_CELL_ID
    standalone.cells.insert(0, cell)
    standalone.metadata.setdefault("dl_lab", {})["practica_wheel"] = url.strip()
    return standalone


def generate_standalone(*, out: Path, url: str) -> None:
    """Write out/standalone/*.ipynb: the student notebooks with the cell that installs the wheel from `url`."""
    check_wheel_url(url)
    shutil.rmtree(out / "standalone", ignore_errors=True)
    (out / "standalone").mkdir(parents=True)
    for lab in all_labs().values():
        student = make_version(read_notebook(lab.source), student=True, origin=str(lab.source))
        notebook = make_standalone(student, url=url)
        nbformat.validate(notebook)
        nbformat.write(notebook, out / "standalone" / lab.notebook_name)  # type: ignore[no-untyped-call]


def generate(*, out: Path) -> None:
    """Write out/student/*.ipynb and out/instructor/*.ipynb for every lab source."""
    for version in ("student", "instructor"):
        shutil.rmtree(out / version, ignore_errors=True)
        (out / version).mkdir(parents=True)
    for lab in all_labs().values():
        source = read_notebook(lab.source)
        for version in ("student", "instructor"):
            notebook = make_version(source, student=version == "student", origin=str(lab.source))
            nbformat.validate(notebook)
            nbformat.write(notebook, out / version / lab.notebook_name)  # type: ignore[no-untyped-call]
