"""The lab notebooks and their generator (no Docker): storage rules, student/instructor versions, exercise ids."""

from __future__ import annotations

import importlib
from pathlib import Path

import nbformat
import pytest

from harness.config import labs_dir
from harness.course import catalog, versions
from harness.errors import HarnessError
from in_image.exercises import tags
from in_image.exercises.declared import declared_in
from tests.answers.broken import CANARY

LABS = catalog.all_labs()
MIN_EXERCISES = {"00": 15, "01": 9, "02": 8, "03": 12}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labs")
    versions.generate(out=out)
    return out


def all_notebooks(generated: Path) -> list[Path]:
    return [lab.source for lab in LABS.values()] + sorted(generated.glob("*/*.ipynb"))


def test_every_lab_in_labs_source_is_in_the_catalog() -> None:
    """The catalog is labs/source: a lab added there (docs/instructors.md, adding a lab) is a lab, with no list to edit."""
    sources = sorted(path.name for path in labs_dir().joinpath("source").glob("*.ipynb"))
    assert sources, "labs/source holds no notebook"
    assert sorted(lab.source.name for lab in LABS.values()) == sources, f"labs/source holds {sources}, the catalog {sorted(LABS)}"
    assert {"00", "01", "02", "03"} <= set(LABS), f"the course's first labs are missing: {sorted(LABS)}"


def test_notebooks_are_stored_without_outputs_and_with_a_kernelspec(generated: Path) -> None:
    for path in all_notebooks(generated):
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        spec = notebook.metadata.get("kernelspec", {})
        assert spec.get("name") == "python3" and spec.get("display_name") and spec.get("language") == "python", (
            f"{path}: the kernelspec must name python3 with a display name and language, got {spec}")
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path} cell {index} is stored with outputs"


@pytest.mark.parametrize("lab_id", sorted(LABS))
def test_exercise_ids_agree_between_notebook_criteria_and_probes(lab_id: str) -> None:
    lab = LABS[lab_id]
    in_notebook = versions.exercise_ids(catalog.read_notebook(lab.source))
    criteria = [d.id for d in declared_in(lab.checks)]
    probes = list(importlib.import_module(f"practica.lab{lab_id}").PROBES)
    assert len(in_notebook) >= MIN_EXERCISES[lab_id], f"lab {lab_id} needs at least {MIN_EXERCISES[lab_id]} exercises"
    assert in_notebook == criteria == probes, (
        f"lab {lab_id}: the notebook's exercise tags {in_notebook}, the criteria {criteria} and comprobar's probes "
        f"{probes} must name the same exercises in the same order")
    source = catalog.read_notebook(lab.source)
    for exercise in in_notebook:
        assert any(f'comprobar("{exercise}")' in cell.source for cell in source.cells), (
            f"lab {lab_id}: no comprobar(\"{exercise}\") cell after the exercise")


@pytest.mark.parametrize("lab_id", sorted(LABS))
def test_student_version_has_placeholders_and_no_solutions(generated: Path, lab_id: str) -> None:
    lab = LABS[lab_id]
    student = nbformat.read(generated / "student" / lab.notebook_name, as_version=4)
    instructor = nbformat.read(generated / "instructor" / lab.notebook_name, as_version=4)
    text = nbformat.writes(student)
    assert versions.BEGIN not in text and versions.END not in text, "markers must not reach the student version"
    assert CANARY not in text and "def cases(" not in text, "hidden tests must never reach the student version"
    assert versions.BEGIN not in nbformat.writes(instructor), "the instructor version drops the markers"
    source = catalog.read_notebook(lab.source)
    for s_cell, i_cell, o_cell in zip(student.cells, instructor.cells, source.cells, strict=True):
        exercise = tags.exercise_of(s_cell)
        if exercise and versions.BEGIN in o_cell.source:
            placeholder = tags.PLACEHOLDER.format(id=exercise)
            assert placeholder in s_cell.source, f"lab {lab_id} «{exercise}»: no placeholder in the student cell"
            assert s_cell.source != i_cell.source, f"lab {lab_id} «{exercise}»: the solution was not removed"
        else:
            assert s_cell.source == i_cell.source, "cells without an exercise must be the same in both versions"


def test_lab_01_has_a_parameters_cell_and_ci_parameters() -> None:
    lab = LABS["01"]
    source = catalog.read_notebook(lab.source)
    tagged = [c for c in source.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "EPOCAS" in tagged[0].source, "lab 01 needs one cell tagged `parameters` with EPOCAS"
    assert lab.ci_parameters.get("EPOCAS", 99) < 20, "CI should run lab 01 with fewer epochs"


@pytest.mark.parametrize(("source", "problem"), [
    ("# BEGIN SOLUCION\nx = 1", "without"),
    ("x = 1\n# END SOLUCION", "without"),
    ("# BEGIN SOLUCION\n# BEGIN SOLUCION\n# END SOLUCION", "inside"),
])
def test_unbalanced_solution_markers_are_reported(source: str, problem: str) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, metadata={"tags": ["ejercicio:x"]})])
    with pytest.raises(HarnessError, match=problem):
        versions.make_version(notebook, student=True, origin="prueba.ipynb")


def test_a_solution_region_needs_an_exercise_tag() -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# BEGIN SOLUCION\nx = 1\n# END SOLUCION")])
    with pytest.raises(HarnessError, match="ejercicio:"):
        versions.make_version(notebook, student=True, origin="prueba.ipynb")


@pytest.mark.parametrize(("key", "expected"), [("00", "00"), ("0", "00"), ("lab01", "01"), ("01-perceptron-multicapa", "01")])
def test_find_lab_accepts_ids_and_names(key: str, expected: str) -> None:
    assert catalog.find_lab(key).id == expected


def test_unknown_lab_is_a_clear_error() -> None:
    with pytest.raises(HarnessError, match=r"unknown lab '07'.*00 \(00-introduccion\)"):
        catalog.find_lab("07")
