"""Broken submissions of lab 00, one per failure mode the grader must survive.

Each is the instructor notebook (every exercise solved) with cells inserted or replaced, so that a
correct grader gives a known, per-exercise answer. Built at test time from the lab source, so they
never drift from the lab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from harness.course import catalog, versions
from in_image.exercises import tags

# Never spelled out whole here: finding it in a report would then prove nothing.
CANARY = "dl-lab-canario-" + "pruebas-ocultas-7f3a"


@dataclass(frozen=True)
class Broken:
    name: str
    # Cells inserted after the first code cell (the imports), and solutions replaced by exercise id.
    insert: tuple[str, ...] = ()
    replace: dict[str, str] = field(default_factory=dict)
    # Expected status of the named exercises; every other exercise must pass.
    expected: dict[str, str] = field(default_factory=dict)
    all_status: str | None = None  # every exercise gets this status
    truncated: bool = False
    skipped_cells: int = 0


READ_HIDDEN = r'''
import glob, os
objetivo = "dl-lab-canario-" + "pruebas-ocultas-7f3a"
vistos, hallado = 0, []
rutas = ["/dl-lab-job/tests.py", "/dl-lab-job/job.json", "/proc/1/environ", "/proc/1/cmdline"]
rutas += glob.glob("/proc/[0-9]*/cmdline") + glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/mem")
for raiz in ("/dl-lab-job", "/tmp", "/home", "/opt/dl-lab", "/opt/labs", "/run", "/var/tmp", "/root"):
    for carpeta, _, ficheros in os.walk(raiz):
        rutas += [os.path.join(carpeta, f) for f in ficheros]
for ruta in rutas:
    try:
        with open(ruta, "rb") as f:
            datos = f.read(2_000_000)
        vistos += 1
        if objetivo.encode() in datos:
            hallado.append(ruta)
    except OSError:
        pass
print("ficheros leídos:", vistos, "| pruebas encontradas:", "SÍ " + repr(hallado) if hallado else "NO")
'''

DELETE_FILES = r'''
import glob, os, shutil
for patron in ("/opt/dl-lab/**/*.py", "/opt/labs/*", "/dl-lab-job/*", "/usr/local/bin/*"):
    for ruta in glob.glob(patron, recursive=True):
        try:
            os.remove(ruta)
        except OSError:
            pass
shutil.rmtree(os.path.expanduser("~"), ignore_errors=True)
shutil.rmtree("/tmp", ignore_errors=True)
print("intentado borrar")
'''

FAKE_RESULTS = r'''
import json, os, sys
falso = {"status": "passed", "score": 1.0, "max_score": 1.0}
print("DLLAB000000 RESULTADO " + json.dumps(falso))
os.write(1, b'{"nonce": "x", "exercises": []}\n')
with open("/tmp/result.json", "w") as f:
    json.dump(falso, f)
'''

TAMPER_FRAMEWORK = r'''
import practica.verificacion as v
v.Registro.evaluar = lambda self, ejercicio, ns: v.Resultado(ejercicio, "", "passed", 1.0, 1.0, 1, 1, 0.0, "")
try:
    open("/dl-lab-job/tests.py", "w").write("")
except OSError as error:
    print("no se puede escribir:", type(error).__name__)
'''

BROKEN: tuple[Broken, ...] = (
    Broken("raises", insert=('raise ValueError("el alumno se equivocó")',),
           replace={"primera_columna": "def primera_columna(m):\n    return m[:, 1]"},
           expected={"primera_columna": "error"}),
    Broken("hangs-in-cell", insert=("while True:\n    pass",), skipped_cells=1),
    # Its comprobar() cell hangs too (skipped); then the hidden test of that exercise times out.
    Broken("hangs-in-test", replace={"primera_columna": "def primera_columna(m):\n    while True:\n        pass"},
           expected={"primera_columna": "timeout"}, skipped_cells=1),
    Broken("exits-kernel", insert=("import os\nos._exit(3)",), skipped_cells=1),
    Broken("floods-output", insert=('for i in range(3000):\n    print("x" * 10_000)',), truncated=True),
    Broken("fills-memory", insert=('bloques = []\nwhile True:\n    bloques.append(b"x" * 50_000_000)',), skipped_cells=1),
    Broken("fork-bomb", insert=("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",),
           skipped_cells=1),
    Broken("deletes-files", insert=(DELETE_FILES,)),
    Broken("redefines-comprobar", insert=('def comprobar(ejercicio):\n    print("✅ correcto")',), all_status="tampered"),
    Broken("monkeypatches-torch", insert=("import torch\ntorch.allclose = lambda *a, **k: True",), all_status="tampered"),
    Broken("reads-hidden-tests", insert=(READ_HIDDEN,)),
    Broken("tampers-with-grader", insert=(TAMPER_FRAMEWORK, FAKE_RESULTS),
           replace={"pinv": "def pseudoinversa(A):\n    return A"}, expected={"pinv": "failed"}),
)


def build(broken: Broken, out: Path) -> Path:
    """Write the broken submission of lab 00 to out/<name>.ipynb."""
    lab = catalog.find_lab("00")
    notebook = versions.make_version(catalog.read_notebook(lab.source), student=False, origin=str(lab.source))
    for cell in notebook.cells:
        exercise = tags.exercise_of(cell)
        if exercise in broken.replace:
            cell.source = broken.replace[exercise]
    first_code = next(i for i, c in enumerate(notebook.cells) if c.cell_type == "code")
    for offset, source in enumerate(broken.insert, start=1):
        notebook.cells.insert(first_code + offset, nbformat.v4.new_code_cell(source))
    path = out / f"{broken.name}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path
