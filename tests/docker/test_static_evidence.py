"""The judge's reading of the source and the class similarity report, through the real grader (CPU image).

Three lab 00 student notebooks graded with `harness grade`: one installs an IPython hook, two share a pasted
cell. The hook is in the report's `static_evidence` with its cell and in `harness export`'s evidence.csv (never
in the student's feedback); the two that share a cell form the one similarity group, in the JSON and in similarity.csv; the
report follows the schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from harness.cli import main
from tests.answers.forgery import POST_RUN_HOOK
from tests.answers.notebooks import submission, write
from tests.utils.schemas import schema

pytestmark = pytest.mark.docker

SHARED = '''
def media_movil(valores, ventana=3):
    salida = []
    for i in range(len(valores) - ventana + 1):
        salida.append(sum(valores[i:i + ventana]) / ventana)
    return salida
print(media_movil([1, 2, 3, 4, 5]))
'''


@pytest.fixture(scope="module")
def graded(cpu_image: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("evidencia")
    paths = [write(submission("00", solved=False, insert=[POST_RUN_HOOK]), folder / "carla.ipynb"),
             write(submission("00", solved=False, insert=[SHARED]), folder / "ana.ipynb"),
             write(submission("00", solved=False, insert=[SHARED.replace("valores", "datos")]), folder / "bea.ipynb")]
    reports = folder / "reports"
    code = main(["grade", *map(str, paths), "--lab", "00", "--jobs", "2", "--cell-timeout", "20",
                 "--exercise-timeout", "20", "--reports", str(reports), "--ci-parameters"])
    assert code == 1, "nothing is solved: exit 1"
    return json.loads((reports / "grade-00.json").read_text()), reports


def test_the_hook_is_in_the_report_with_its_cell(graded: tuple[dict[str, Any], Path]) -> None:
    report, _ = graded
    rows = {row["name"]: row for row in report["submissions"]}
    notebook = submission("00", solved=False, insert=[POST_RUN_HOOK])
    cell = next(i for i, c in enumerate(notebook.cells) if c.source == POST_RUN_HOOK)
    kinds = {e["kind"]: e for e in rows["carla"]["static_evidence"]}
    assert "gancho" in kinds and kinds["gancho"]["cells"] == [cell], rows["carla"]["static_evidence"]
    assert rows["carla"]["score"] == 0
    assert rows["ana"]["static_evidence"] == rows["bea"]["static_evidence"] == [], "honest cells scan clean"
    jsonschema.validate(report, schema("grading-report"))


def test_the_shared_cell_groups_exactly_the_two(graded: tuple[dict[str, Any], Path]) -> None:
    report, _ = graded
    groups = report["similarity"]["groups"]
    assert [g["notebooks"] for g in groups] == [["ana", "bea"]], groups
    assert [c["match"] for c in groups[0]["cells"]] == ["normalised"]


def test_export_gives_the_instructor_both(graded: tuple[dict[str, Any], Path]) -> None:
    _, reports = graded
    assert main(["export", "00", "--reports", str(reports), "--excel", "plain"]) == 0
    out = reports / "export-00"
    assert "carla,source,gancho," in (out / "evidence.csv").read_text(encoding="utf-8-sig")
    assert "ana, bea" in (out / "similarity.csv").read_text(encoding="utf-8-sig")
    for name in ("carla.md", "carla.html"):
        feedback = (out / "feedback" / name).read_text()
        assert "gancho" not in feedback and "IPython" not in feedback, "the student's feedback never shows the evidence"
