"""The course's labs: labs/source/NN-name.ipynb, one instructor source notebook per lab, and its hidden tests.

labs/source/NN-name.ipynb is the single source of lab NN (its metadata `dl_lab` holds the title and
the CI parameters); labs/hidden/labNN.py holds the instructors' hidden tests. harness.course.versions
makes the student and instructor notebooks from the source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from harness.config import labs_dir
from harness.errors import HarnessError

_LAB_FILE = re.compile(r"^(\d\d)-[a-z0-9-]+\.ipynb$")


@dataclass(frozen=True)
class Lab:
    id: str  # "00"
    name: str  # "00-introduccion"
    title: str
    source: Path
    ci_parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def root(self) -> Path:
        """The labs folder this lab belongs to (source/, practica/, hidden/)."""
        return self.source.parent.parent

    @property
    def hidden_tests(self) -> Path:
        return self.root / "hidden" / f"lab{self.id}.py"

    @property
    def checks(self) -> Path:
        """The exercises' criteria, points and public cases (in the image, with the students' package)."""
        return self.root / "practica" / f"lab{self.id}_checks.py"

    @property
    def notebook_name(self) -> str:
        return f"{self.name}.ipynb"


def all_labs() -> dict[str, Lab]:
    """The labs of labs/source, by id ("00", "01", ...)."""
    found: dict[str, Lab] = {}
    for path in sorted((labs_dir() / "source").glob("*.ipynb")):
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
    known = all_labs()
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


def lab_title(lab_id: str) -> str:
    """The title the LMS and the feedback show: "Práctica 00: <title>", or "Práctica 00" for an unknown lab."""
    try:
        lab = find_lab(lab_id)
    except HarnessError:
        return f"Práctica {lab_id}"
    return f"Práctica {lab.id}: {lab.title}"
