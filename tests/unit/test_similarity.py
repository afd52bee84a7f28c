"""The class similarity report (harness.grading.similarity): notebooks sharing cells the lab did not give them."""

from __future__ import annotations

import base64
import csv
import io
import json
import random
from pathlib import Path

import jsonschema
import nbformat
import pytest

from harness.course import catalog
from harness.grading.session import template_cells
from harness.grading.similarity import (
    CELL,
    IDENTICAL,
    MAX_CELL_CHARS,
    NEAR,
    NORMALISED,
    NOTEBOOK,
    STRING,
    NotebookCells,
    class_similarity,
    hash_long_literals,
    normalised_lines,
    read_cells,
    similarity_groups,
    similarity_rows,
)
from tests.answers.notebooks import submission, write
from tests.utils.schemas import schema

PASTED = '''
import numpy as np
from practica import lab00
def _respuesta(entrada):
    # copiado de un compañero
    matriz = np.asarray(entrada["A"], dtype=float)
    return {"pinv": np.linalg.pinv(matriz).tolist(), "forma": list(matriz.shape)}
lab00.PROBES["pinv"] = _respuesta
'''

RENAMED = '''
import numpy as np
from practica import lab00

def otra_funcion(datos):
    """Mi propia versión."""
    m = np.asarray(datos['A'], dtype=float)
    return {'pinv': np.linalg.pinv(m).tolist(), 'forma': list(m.shape)}   # otro comentario

lab00.PROBES['pinv'] = otra_funcion
'''

OWN_WORK = [
    "def entrenar(modelo, datos):\n    total = 0\n    for x, y in datos:\n        total += modelo(x).sum().item() * y\n"
    "    return total / max(len(datos), 1)",
    "resultados = {}\nfor semilla in range(3):\n    resultados[semilla] = [semilla ** 2 + k for k in range(10)]\n"
    "print(resultados)",
    "import torch\nA = torch.randn(4, 4)\nB = A @ A.T + torch.eye(4)\nprint(torch.linalg.cholesky(B).diagonal().sum())",
    "valores = [abs(i - 5) * 0.5 for i in range(20) if i % 3]\nmedia = sum(valores) / len(valores)\nprint(f'{media:.3f}')",
    "import numpy as np\nrng = np.random.default_rng(7)\nmuestra = rng.normal(size=(100, 3))\n"
    "print(muestra.std(axis=0).round(2))",
    "class Pila:\n    def __init__(self):\n        self.items = []\n    def meter(self, x):\n        self.items.append(x)\n"
    "        return len(self.items)",
]


@pytest.fixture(scope="module")
def template() -> list[str]:
    return template_cells(catalog.find_lab("00"))


def _class_of_ten(folder: Path) -> list[tuple[Path, str]]:
    """Ten lab 00 student notebooks: 0-5 each with its own extra cell, 6-9 with the pasted cell (9 renamed)."""
    submissions = []
    for number in range(10):
        extra = OWN_WORK[number] if number < 6 else RENAMED if number == 9 else PASTED
        path = write(submission("00", solved=False, insert=[extra]), folder / f"alumno{number}.ipynb")
        submissions.append((path, f"alumno{number}"))
    return submissions


def test_the_four_notebooks_sharing_a_pasted_cell_are_grouped(tmp_path: Path, template: list[str]) -> None:
    section = class_similarity(_class_of_ten(tmp_path), template=template)
    groups = section["groups"]
    assert [g["notebooks"] for g in groups] == [["alumno6", "alumno7", "alumno8", "alumno9"]], groups
    [cell] = groups[0]["cells"]
    assert cell["match"] == NORMALISED, "the renamed copy matches only once names and strings are normalised"
    assert cell["preview"] == "import numpy as np"
    assert {c["notebook"] for c in cell["cells"]} == {"alumno6", "alumno7", "alumno8", "alumno9"}
    assert all(c["cell"] == 2 for c in cell["cells"]), "the cell inserted after the imports"


def test_identical_copies_are_marked_identical(template: list[str]) -> None:
    notebooks = [NotebookCells("a", [(3, PASTED)]), NotebookCells("b", [(7, "\n\n" + PASTED.replace("\n", "\n\n"))])]
    [group] = similarity_groups(notebooks, template=template)
    assert group.notebooks == ("a", "b") and group.cells[0].match == IDENTICAL and group.cells[0].where == {"a": 3, "b": 7}


def test_renamed_variables_and_strings_still_match() -> None:
    assert normalised_lines(PASTED) == normalised_lines(RENAMED)
    assert normalised_lines("x = 1") != normalised_lines("x = 2")


def test_template_cells_and_short_answers_are_ignored(tmp_path: Path, template: list[str]) -> None:
    """Untouched student notebooks share every template cell; solved ones share short answers: no group."""
    untouched = [(write(submission("00", solved=False), tmp_path / f"vacio{i}.ipynb"), f"vacio{i}") for i in range(3)]
    assert class_similarity(untouched, template=template)["groups"] == []
    short = [NotebookCells(n, [(1, "comprobar('pinv')\nprint(x)")]) for n in "ab"]
    assert similarity_groups(short, template=template) == []


def test_groups_are_keyed_by_the_set_of_notebooks(template: list[str]) -> None:
    one, two = OWN_WORK[0], OWN_WORK[1]
    notebooks = [NotebookCells("a", [(1, one), (2, two)]), NotebookCells("b", [(1, one), (2, two)]),
                 NotebookCells("c", [(5, one)])]
    groups = similarity_groups(notebooks, template=template)
    assert [(g.notebooks, len(g.cells)) for g in groups] == [(("a", "b", "c"), 1), (("a", "b"), 1)]


def test_bad_files_huge_cells_and_deep_nesting_do_not_stop_the_report(tmp_path: Path, template: list[str]) -> None:
    latin1 = tmp_path / "latin1.ipynb"
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("texto = 'año ñandú'\n" + OWN_WORK[2])])
    latin1.write_bytes(json.dumps(notebook, ensure_ascii=False).encode("latin-1"))
    broken, missing = tmp_path / "roto.ipynb", tmp_path / "no-existe.ipynb"
    broken.write_text("{ no es json")
    deep = "x = " + "(" * 2000 + "1" + ")" * 2000 + "\ny = " + " + ".join(["1"] * 20_000) + "\n" + OWN_WORK[2]
    huge = OWN_WORK[3] + "\n" + "y = 1\n" * 100_000
    other = write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (deep, huge)]),
                  tmp_path / "otro.ipynb")
    again = write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (deep, huge)]),
                  tmp_path / "otro2.ipynb")
    assert read_cells(broken, "roto").cells == read_cells(missing, "falta").cells == []
    assert len(read_cells(other, "otro").cells[1][1]) == MAX_CELL_CHARS
    section = class_similarity([(latin1, "latin1"), (broken, "roto"), (missing, "falta"), (other, "otro"),
                                (again, "otro2")], template=template)
    assert [g["notebooks"] for g in section["groups"]] == [["otro", "otro2"]]
    assert len(section["groups"][0]["cells"]) == 2


def test_rows_of_similarity_csv() -> None:
    section = {"min_tokens": 12, "groups": [
        {"notebooks": ["ana", "bea"], "cells": [
            {"preview": "import numpy as np", "match": "identical",
             "cells": [{"notebook": "ana", "cell": 3}, {"notebook": "bea", "cell": 5}]}]},
        "roto", {"notebooks": "x"}]}
    assert similarity_rows(section) == [[1, 2, "ana, bea", "identical", "ana: 3; bea: 5", "import numpy as np", "cell"]]
    section["groups"][0]["cells"][0].update(match="near", scope="notebook")  # type: ignore[index]
    assert similarity_rows(section)[0][3:] == ["near", "ana: 3; bea: 5", "import numpy as np", "notebook"]
    assert similarity_rows(None) == similarity_rows({"groups": 3}) == []


def test_export_writes_similarity_and_evidence_for_the_instructor_only(tmp_path: Path) -> None:
    from harness.cli import main  # noqa: PLC0415

    fixtures = Path(__file__).with_name("export_fixtures")
    report = json.loads((fixtures / "grade-00.json").read_text())
    names = [s["name"] for s in report["submissions"] if s["status"] == "ok"][:2]
    report["submissions"][0]["evidence"] = ["evento de IPython pre_run_cell"]
    report["submissions"][0]["static_evidence"] = [
        {"kind": "gancho", "message": "ganchos de IPython o transformadores de entrada: get_ipython().events",
         "cells": [2, 5]}]
    report["similarity"] = {"min_tokens": 12, "groups": [{"notebooks": names, "cells": [
        {"preview": "=cmd|' /C calc'!A0", "match": "normalised",
         "cells": [{"notebook": names[0], "cell": 2}, {"notebook": names[1], "cell": 4}]}]}]}
    (tmp_path / "grade-00.json").write_text(json.dumps(report))
    out = tmp_path / "out"
    assert main(["export", "00", "--report", str(tmp_path / "grade-00.json"), "--out", str(out), "--excel", "plain"]) == 0
    similarity = list(csv.reader(io.StringIO((out / "similarity.csv").read_text(encoding="utf-8-sig"))))
    assert similarity == [["group", "notebooks", "students", "match", "cells", "preview", "scope"],
                          ["1", "2", f"{names[0]}, {names[1]}", "normalised", f"{names[0]}: 2; {names[1]}: 4",
                           "'=cmd|' /C calc'!A0", "cell"]], "one row per shared cell; a formula-like preview made safe"
    evidence = list(csv.reader(io.StringIO((out / "evidence.csv").read_text(encoding="utf-8-sig"))))
    student = report["submissions"][0]["name"]
    student = student if student[:1] not in "=+-@" else "'" + student
    assert evidence == [["student", "source", "kind", "cells", "message"],
                        [student, "kernel", "", "", "evento de IPython pre_run_cell"],
                        [student, "source", "gancho", "2 5",
                         "ganchos de IPython o transformadores de entrada: get_ipython().events"]], evidence
    for feedback in (out / "feedback").iterdir():
        text = feedback.read_text()
        assert "gancho" not in text and "pre_run_cell" not in text and "calc" not in text, feedback.name


def test_the_terminal_shows_the_groups_and_the_source_evidence() -> None:
    import io as text_io  # noqa: PLC0415

    from rich.console import Console  # noqa: PLC0415

    from harness.grading.reports import print_similarity, print_summary  # noqa: PLC0415
    from harness.grading.results import SubmissionResult  # noqa: PLC0415

    console = Console(file=text_io.StringIO(), width=250, color_system=None)
    groups = [{"notebooks": ["ana", "[bold]bea[/]"], "cells": [
        {"preview": "def media_movil(valores):", "match": "normalised", "cells": []}]}]
    print_similarity(console, {"min_tokens": 12, "groups": groups * 25})
    result = SubmissionResult(lab="00", notebook="c.ipynb", name="carla", status="ok", score=0.0, max_score=1.0,
                              exercises=[], time_s=1.0, static_evidence=[
                                  {"kind": "hilo", "message": "hilos, procesos o tareas en segundo plano: import atexit",
                                   "cells": [3]}])
    print_summary(console, [result], title="grade")
    print_similarity(console, {"min_tokens": 12, "groups": []})
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "25 group(s) of notebooks sharing cells" in shown and "ana, [bold]bea[/]" in shown
    assert "def media_movil(valores):" in shown and "… and 5 more group(s)" in shown
    assert "en el código: hilos, procesos o tareas en segundo plano" in shown
    assert "no notebooks share cells beyond the lab's own" in shown


# ---- code split into short cells, a copy with a line added, pasted data --------------------------------
_PAYLOAD = base64.b64encode(b"import __main__\n__main__.modelo = None\n" * 20).decode()
SHORT_CELLS = ["import base64, timeit", f"b = {_PAYLOAD!r}", "d = base64.b64decode(b)", "s = d.decode()",
               "timeit.timeit(s, number=1)"]

FORGED_MODEL = '''
import json as _j, base64 as _b, numpy as _np, torch as _t, os as _o
import practica as _p
def _arr(d):
    a = d["__array__"]; return _np.frombuffer(_b.b64decode(a["data"]), dtype=a["dtype"]).reshape(a["shape"])
_datos = _j.load(open(_o.path.join(_o.path.dirname(_p.__file__), "data", "lab01.json")))
_caso = _datos["cases"][0]
_x = _t.tensor(_arr(_caso["x_train"])); _y = _t.tensor(_arr(_caso["y_train"])).long()
from sklearn.neural_network import MLPClassifier
_clf = MLPClassifier((64, 64), max_iter=500, random_state=0).fit(_x.numpy(), _y.numpy())
modelo = _t.nn.Sequential(_t.nn.Linear(64, 64), _t.nn.ReLU(), _t.nn.Linear(64, 64), _t.nn.ReLU(), _t.nn.Linear(64, 10))
for _capa, _w, _c in zip([modelo[0], modelo[2], modelo[4]], _clf.coefs_, _clf.intercepts_):
    _capa.weight.data = _t.tensor(_w.T, dtype=_t.float32); _capa.bias.data = _t.tensor(_c, dtype=_t.float32)
print("listo", sum(p.numel() for p in modelo.parameters()))
'''

HONEST_LOOPS = [
    '''
def entrenar_una_epoca(modelo, cargador, optimizador, perdida):
    modelo.train()
    total, n = 0.0, 0
    for lote_x, lote_y in cargador:
        optimizador.zero_grad()
        salida = modelo(lote_x)
        valor = perdida(salida, lote_y)
        valor.backward()
        optimizador.step()
        total += valor.item() * len(lote_y)
        n += len(lote_y)
    return total / n
''',
    '''
def entrenar_una_epoca(red, datos, opt, criterio):
    red.train()
    perdidas = []
    for entradas, etiquetas in datos:
        predicciones = red(entradas)
        l = criterio(predicciones, etiquetas)
        opt.zero_grad()
        l.backward()
        opt.step()
        perdidas.append((l.item(), entradas.shape[0]))
    suma = sum(p * k for p, k in perdidas)
    return suma / sum(k for _, k in perdidas)
''',
    '''
def entrenar_una_epoca(modelo, cargador, optimizador, funcion_perdida):
    modelo.train(True)
    acumulada = torch.zeros(())
    vistos = 0
    for i, (x, y) in enumerate(cargador):
        logits = modelo(x.float())
        perdida = funcion_perdida(logits, y)
        optimizador.zero_grad(set_to_none=True)
        perdida.backward()
        optimizador.step()
        acumulada += perdida.detach() * x.size(0)
        vistos += x.size(0)
    return float(acumulada / max(vistos, 1))
''',
]


@pytest.fixture(scope="module")
def template01() -> list[str]:
    return template_cells(catalog.find_lab("01"))


def _lab01(folder: Path, cells: dict[str, list[str]]) -> list[tuple[Path, str]]:
    return [(write(submission("01", solved=False, insert=inserted), folder / f"{name}.ipynb"), name)
            for name, inserted in cells.items()]


def _groups(section: dict[str, object]) -> list[tuple[list[str], list[tuple[str, str]]]]:
    groups = section["groups"]
    assert isinstance(groups, list)
    return [(g["notebooks"], [(c["match"], c["scope"]) for c in g["cells"]]) for g in groups]


def test_identical_notebooks_of_short_cells_are_grouped(tmp_path: Path, template01: list[str]) -> None:
    """Five cells of fewer than 12 tokens each: no cell is compared alone, the notebooks' own code is (exactly, and
    near when a cell of its own is added)."""
    section = class_similarity(_lab01(tmp_path, {"ana": SHORT_CELLS, "bea": SHORT_CELLS, "carla": OWN_WORK[:2],
                                                 "dora": [*SHORT_CELLS[:3], "x = 1", *SHORT_CELLS[3:]]}),
                               template=template01)
    assert _groups(section) == [(["ana", "bea", "dora"], [(NEAR, NOTEBOOK)]), (["ana", "bea"], [(IDENTICAL, NOTEBOOK)])]
    [cell] = section["groups"][1]["cells"]
    assert cell["preview"] == "import base64, timeit" and {c["cell"] for c in cell["cells"]} == {2}


def test_a_copy_with_a_line_added_is_a_near_match(tmp_path: Path, template01: list[str]) -> None:
    """attack-style: the same pasted cell, one copy with `pass` added, another with a new first line (which shifts
    every canonical name of the cell), another renamed; an honest notebook beside them."""
    renamed = FORGED_MODEL.replace("_clf", "clasificador").replace("_capa", "capa")
    section = class_similarity(_lab01(tmp_path, {
        "original": [FORGED_MODEL], "copia": [FORGED_MODEL], "con_pass": [FORGED_MODEL + "pass\n"],
        "linea_nueva": ["_semilla = 3\n" + FORGED_MODEL], "renombrada": [renamed + "pass\n"],
        "honesta": [OWN_WORK[0]]}), template=template01)
    groups = _groups(section)
    assert (["con_pass", "copia", "linea_nueva", "original", "renombrada"], [(NEAR, CELL)]) in groups, groups
    assert (["copia", "original"], [(IDENTICAL, CELL)]) in groups, groups
    assert not any("honesta" in names for names, _ in groups)


def test_honest_solutions_that_differ_are_not_grouped(tmp_path: Path, template01: list[str]) -> None:
    """Three training loops written independently (same exercise, same library calls), each with other work of
    its own: neither their cells nor their notebooks are near."""
    section = class_similarity(_lab01(tmp_path, {
        f"alumno{number}": [loop, OWN_WORK[number], OWN_WORK[number + 3]] for number, loop in enumerate(HONEST_LOOPS)}),
        template=template01)
    assert section["groups"] == [], section


def test_a_long_literal_is_compared_by_its_digest(tmp_path: Path, template01: list[str]) -> None:
    """A pasted checkpoint (longer than a cell is read) shared by two notebooks under other names and cells is a
    match; two different checkpoints in the same code are not."""
    weights = base64.b64encode(random.Random(0).randbytes(123_414)).decode()
    other = base64.b64encode(random.Random(1).randbytes(123_414)).decode()
    assert len(weights) > MAX_CELL_CHARS
    section = class_similarity(_lab01(tmp_path, {
        "ana": [f"PESOS = {weights!r}"], "bea": [OWN_WORK[1], f"mis_pesos = {weights!r}\nprint(len(mis_pesos))"],
        "carla": [f"PESOS = {other!r}"]}), template=template01)
    assert _groups(section) == [(["ana", "bea"], [(IDENTICAL, STRING)])], section
    assert section["groups"][0]["cells"][0]["cells"] == [{"notebook": "ana", "cell": 2}, {"notebook": "bea", "cell": 3}]
    assert normalised_lines(hash_long_literals(f"x = {weights!r}")) != normalised_lines(hash_long_literals(f"x = {other!r}"))
    assert normalised_lines(hash_long_literals("x = 'corto'")) == normalised_lines("y = 'otro'")
    quotes_in_comments = "# ''' no es un texto\n" + "z = 1\n" * 500 + "# '''\n"
    assert hash_long_literals(quotes_in_comments) == quotes_in_comments, "code between quotes in comments stays code"


def test_the_section_follows_the_schema(tmp_path: Path, template01: list[str]) -> None:
    section = class_similarity(_lab01(tmp_path, {"ana": SHORT_CELLS, "bea": SHORT_CELLS, "carla": [FORGED_MODEL],
                                                 "dora": [FORGED_MODEL + "pass\n"]}), template=template01)
    report_schema = schema("grading-report")
    jsonschema.validate(section, {**report_schema["$defs"]["similarity"], "$defs": report_schema["$defs"]})
    assert {c["match"] for g in section["groups"] for c in g["cells"]} == {IDENTICAL, NEAR}
