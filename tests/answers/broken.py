"""Broken submissions of lab 00, one per failure mode the grader must survive.

Each is the instructor notebook (every exercise solved) with cells inserted or replaced, so that a
correct grader gives a known, per-exercise answer. Built at test time from the lab source, so they
never drift from the lab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tests.answers.notebooks import submission, write

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
    evidence: str = ""  # a fragment the report's evidence must contain (reported, never graded)
    truncated: bool = False
    skipped_cells: int = 0


READ_HIDDEN = r'''
import glob, os
objetivo = "dl-lab-canario-" + "pruebas-ocultas-7f3a"
vistos, hallado = 0, []
rutas = ["/dl-lab-job/hidden.py", "/dl-lab-job/job.json", "/proc/1/environ", "/proc/1/cmdline"]
rutas += glob.glob("/proc/[0-9]*/cmdline") + glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/mem")
rutas += [f"/proc/{os.getppid()}/mem", f"/proc/{os.getppid()}/environ"]
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
import in_image.exercises.framework as marco
marco.verdict = lambda *a, **k: None
marco.close = lambda *a, **k: True
for ruta in ("/dl-lab-job/hidden.py", "/dl-lab-job/result.json", "/opt/dl-lab/practica/lab00_checks.py"):
    try:
        open(ruta, "w").write("")
    except OSError as error:
        print("no se puede escribir:", ruta, type(error).__name__)
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
    # Display updates replace an output instead of adding one: they count toward the cap all the same.
    Broken("floods-display-updates", insert=('from IPython.display import display\nsalida = display("x", display_id=True)\n'
                                             'for i in range(3000):\n    salida.update("y" * 10_000)',), truncated=True),
    Broken("fills-memory", insert=('bloques = []\nwhile True:\n    bloques.append(b"x" * 50_000_000)',), skipped_cells=1),
    Broken("fork-bomb", insert=("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass",),
           skipped_cells=1),
    Broken("deletes-files", insert=(DELETE_FILES,)),
    # Interference earns nothing and costs nothing: the honest part is graded, the rest reported as evidence.
    Broken("redefines-comprobar", insert=('def comprobar(ejercicio):\n    print("✅ correcto")',), evidence="comprobar"),
    Broken("monkeypatches-torch", insert=("import torch\ntorch.allclose = lambda *a, **k: True",), evidence="torch.allclose"),
    Broken("reads-hidden-tests", insert=(READ_HIDDEN,)),
    Broken("tampers-with-grader", insert=(TAMPER_FRAMEWORK, FAKE_RESULTS),
           replace={"pinv": "def pseudoinversa(A):\n    return A"}, expected={"pinv": "failed"},
           evidence="in_image.exercises.framework"),
)


def build(broken: Broken, out: Path) -> Path:
    """Write the broken submission of lab 00 to out/<name>.ipynb."""
    return write(submission("00", replace=broken.replace, insert=broken.insert), out / f"{broken.name}.ipynb")


# Printed by a submission that probes its sandbox: what a student's code can and cannot do there.
SANDBOX = r'''
import json, os, resource, socket, subprocess
hechos = {"uid": os.getuid(), "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
          "core": resource.getrlimit(resource.RLIMIT_CORE)[0], "fsize": resource.getrlimit(resource.RLIMIT_FSIZE)[0]}
for ruta in ("/etc/escrito", "/opt/dl-lab/escrito", "/var/tmp/escrito", "/tmp/escrito", "escrito"):
    try:
        with open(ruta, "w") as fichero:
            fichero.write("x")
        hechos[ruta] = "escrito"
    except OSError as error:
        hechos[ruta] = type(error).__name__
try:
    hechos["job"] = sorted(os.listdir("/dl-lab-job"))
except OSError as error:
    hechos["job"] = type(error).__name__
try:
    with open("/tmp/grande", "wb") as fichero:
        fichero.seek(hechos["fsize"])
        fichero.write(b"x")
    hechos["grande"] = "escrito"
except OSError as error:
    hechos["grande"] = type(error).__name__
try:
    socket.create_connection(("1.1.1.1", 80), timeout=2)
    hechos["red"] = "conectado"
except OSError as error:
    hechos["red"] = type(error).__name__
print("SANDBOX " + json.dumps(hechos))
'''
