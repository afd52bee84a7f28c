"""The class similarity report's time for 200 notebooks (pytest-benchmark; `make bench-pytest`).

Lab 01's notebooks (its largest), half solved and half not, each with two cells of its own and one of
five cells passed around the class: what `harness grade` and `harness collect` add to a class run.
The bound is 5 s on the project's 2-core machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from harness.course import catalog
from harness.grading.session import template_cells
from harness.grading.similarity import class_similarity
from tests.answers.notebooks import submission, write

pytestmark = pytest.mark.slow

STUDENTS = 200
BOUND_S = 5.0


def _own_cell(number: int) -> str:
    return (f"def experimento_{number}(datos, pasos={number % 7 + 1}):\n"
            f"    total = {number}\n"
            "    for paso in range(pasos):\n"
            f"        total += sum(x * {number} for x in datos[:paso]) - {number % 11}\n"
            f"    return total / {number + 1}\n"
            f"print(experimento_{number}(list(range({number % 13 + 5}))))")


@pytest.fixture(scope="module")
def class_of_200(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, str]]:
    folder = tmp_path_factory.mktemp("clase")
    shared = [_own_cell(1000 + k).replace("experimento", f"copiado_{k}") for k in range(5)]
    solved = submission("01", solved=True)
    blank = submission("01", solved=False)
    written = []
    for number in range(STUDENTS):
        notebook = (solved if number % 2 else blank).copy()
        notebook.cells = list(notebook.cells)
        for offset, source in enumerate((_own_cell(number), shared[number % 5], _own_cell(number + STUDENTS))):
            notebook.cells.insert(3 + offset, nbformat.v4.new_code_cell(source))
        written.append((write(notebook, folder / f"alumno{number:03d}.ipynb"), f"alumno{number:03d}"))
    return written


def test_similarity_of_200_notebooks(benchmark: Any, class_of_200: list[tuple[Path, str]]) -> None:
    lab = catalog.find_lab("01")

    def report() -> dict[str, Any]:
        return class_similarity(class_of_200, template=template_cells(lab))

    section = benchmark.pedantic(report, rounds=3, iterations=1)
    sizes = sorted(len(g["notebooks"]) for g in section["groups"])
    assert sizes == [STUDENTS // 5] * 5 + [STUDENTS // 2], "the five pasted cells, and the solutions the solved half share"
    benchmark.extra_info.update({"notebooks": STUDENTS, "groups": len(section["groups"])})
    assert benchmark.stats.stats.median < BOUND_S, f"{benchmark.stats.stats.median:.2f} s for {STUDENTS} notebooks"
