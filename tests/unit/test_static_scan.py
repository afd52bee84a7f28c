"""The judge's static reading of a notebook's source (in_image.judge.static_scan): every disguise found,
with its kind and cell, and honest code (the labs' own cells among it) left alone."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest

from harness.course import catalog, versions
from harness.grading.jobs import GradingJob
from harness.grading.local import LocalExecutor
from harness.grading.results import Limits
from in_image.judge.static_scan import KINDS, MAX_CELL_CHARS, from_report, grouped, scan_notebook, scan_sources
from tests.answers.forgery import FORGERIES
from tests.answers.notebooks import submission, write

_PAYLOAD = base64.b64encode(b"import __main__\n__main__.modelo = None\n").decode()
_WEIGHTS = base64.b64encode(random.Random(0).randbytes(123_414)).decode()  # a pasted fp16 state_dict: 164 552 chars

# Code kept in a string or an encoded blob and run without exec/eval, and data pasted as literals.
# (name, cells in order, the kind expected, a fragment of its detail): the finding is in the last cell.
HIDDEN_CODE: list[tuple[str, tuple[str, ...], str, str]] = [
    ("timeit of base64 in 5 cells", ("import base64, timeit", f"b = {_PAYLOAD!r}", "d = base64.b64decode(b)",
                                     "s = d.decode()", "timeit.timeit(s, number=1)"), "dinamico", "timeit.timeit(s)"),
    ("base64 decoded in 5 cells", ("import base64, timeit", f"b = {_PAYLOAD!r}", "d = base64.b64decode(b)"),
     "codificado", "base64.b64decode"),
    ("timeit of base64 in 3 cells", ("import base64, timeit", f"s = base64.b64decode({_PAYLOAD!r})",
                                     "timeit.timeit(s, number=1)"), "dinamico", "código en un texto"),
    ("timeit decoded in place", ("import base64 as b, timeit as t\nt.timeit(b.b64decode(x).decode(), number=1)",),
     "dinamico", "timeit.timeit(b.b64decode"),
    ("from timeit import timeit", ("from timeit import timeit as medir", "medir(stmt=codigo)"), "dinamico",
     "timeit.timeit(codigo)"),
    ("timeit.repeat setup", ("import timeit\ntimeit.repeat('pass', setup=codigo, number=1)",), "dinamico",
     "timeit.repeat(codigo)"),
    ("Timer", ("from timeit import Timer\nTimer(codigo).timeit(1)",), "dinamico", "timeit.Timer(codigo)"),
    ("torch's Timer", ("import torch.utils.benchmark as banco\nbanco.Timer(stmt=codigo).timeit(1)",), "dinamico",
     "torch.utils.benchmark.Timer(codigo)"),
    ("a name rebound from a function to a string", ("def paso(): pass", "paso = 'import ctypes'", "import timeit",
                                                   "timeit.timeit(paso)"), "dinamico", "timeit.timeit(paso)"),
    ("a name annotated with a string", ("def paso(): pass", "paso: str = d.decode()", "import timeit",
                                        "timeit.timeit(paso)"), "dinamico", "timeit.timeit(paso)"),
    ("a loop variable", ("def s(): pass", "import timeit\nfor s in [d.decode()]:\n    timeit.timeit(s)"), "dinamico",
     "timeit.timeit(s)"),
    ("a parameter", ("import timeit\ndef correr(s):\n    return timeit.timeit(s, number=1)",), "dinamico",
     "timeit.timeit(s)"),
    ("literal timeit code is read", ("import timeit\ntimeit.timeit('import ctypes', number=1)",), "ctypes", "ctypes"),
    ("timeit.main", ("import timeit\ntimeit.main(['-n', '1', codigo])",), "dinamico", "timeit.main"),
    ("%timeit of a variable", ("%timeit -n 1 -r 1 $codigo",), "dinamico", "%timeit"),
    ("%time of a braced variable", ("%time {codigo}",), "dinamico", "%time"),
    ("pdb.run", ("import pdb\npdb.run(codigo)",), "dinamico", "pdb.run"),
    ("Pdb", ("from pdb import Pdb\nPdb().run(codigo)",), "dinamico", "pdb.Pdb"),
    ("InteractiveInterpreter", ("import code\ncode.InteractiveInterpreter().runsource(codigo)",), "dinamico",
     "code.InteractiveInterpreter"),
    ("InteractiveConsole", ("from code import InteractiveConsole as C",), "dinamico", "code.InteractiveConsole"),
    ("runpy", ("import runpy\nrunpy.run_path('x.py')",), "dinamico", "runpy.run_path"),
    ("run_module", ("from runpy import run_module",), "dinamico", "runpy.run_module"),
    ("import __main__", ("import __main__\nprint(__main__)",), "introspeccion", "__main__"),
    ("sys.modules __main__", ("import sys\nm = sys.modules['__main__']",), "introspeccion", "sys.modules['__main__']"),
    ("from __main__", ("from __main__ import modelo",), "introspeccion", "__main__.modelo"),
    ("from base64", ("from base64 import b64decode",), "codificado", "base64.b64decode"),
    ("urlsafe base64", ("import base64\nx = base64.urlsafe_b64decode(t)",), "codificado", "urlsafe_b64decode"),
    ("codecs", ("import codecs\nx = codecs.decode(t, 'rot13')",), "codificado", "codecs.decode"),
    ("zlib", ("import zlib\nx = zlib.decompress(t)",), "codificado", "zlib.decompress"),
    ("binascii", ("from binascii import unhexlify",), "codificado", "binascii.unhexlify"),
    ("bytes.fromhex", ("x = bytes.fromhex('696d706f7274')",), "codificado", "bytes.fromhex"),
    ("unicode_escape", ("x = b'\\\\x69'.decode('unicode_escape')",), "codificado", "unicode_escape"),
    ("marshal", ("import marshal\nf = marshal.loads(t)",), "codificado", "marshal.loads"),
    ("pickle", ("import pickle as p\nx = p.loads(t)",), "codificado", "pickle.loads"),
    ("pasted checkpoint", (f"PESOS = {_WEIGHTS!r}",), "texto_largo", "texto literal de 164552 caracteres"),
    ("pasted bytes", ("x = " + repr(bytes(3000)),), "texto_largo", "bytes literal de 3000 bytes"),
    ("a blob split in one cell", ("partes = [" + ", ".join([repr("A" * 1500)] * 5) + "]",), "texto_largo",
     "literales de 7500 caracteres en una celda"),
    ("a blob split across cells", tuple(f"p{i} = {'A' * 1900!r}" for i in range(11)), "texto_largo",
     "en el cuaderno"),
    ("pasted list of weights", ("pesos = [" + ", ".join(["0.5"] * 5000) + "]",), "texto_largo",
     "list literal de 5000 elementos"),
    ("weights pasted as a number", (f"PESOS = {hex(7 ** 12_000)}\nw = PESOS.to_bytes(4_213, 'little')",), "texto_largo",
     "número literal de 8423 cifras hexadecimales"),
    ("a number blob split in one cell", ("\n".join(f"p{i} = {hex(3 ** 3_000)}" for i in range(5)),), "texto_largo",
     "literales de 5945 caracteres en una celda"),
]

# (name, cells in order, the kind expected, a fragment of its detail)
DISGUISES: list[tuple[str, tuple[str, ...], str, str]] = [
    ("events.register", ("get_ipython().events.register('pre_run_cell', print)",), "gancho", "events"),
    ("shell alias", ("ip = get_ipython()", "ip.events.register('post_run_cell', print)"), "gancho", "events"),
    ("shell from IPython", ("import IPython\nIPython.get_ipython().input_transformers_post.append(f)",), "gancho",
     "input_transformers_post"),
    ("getattr shell", ("getattr(get_ipython(), 'events').register('x', f)",), "gancho", "events"),
    ("cleanup transformer alias", ("t = get_ipython().input_transformers_cleanup\nt.insert(0, f)",), "gancho",
     "input_transformers_cleanup"),
    ("custom exc", ("get_ipython().set_custom_exc((Exception,), h)",), "gancho", "set_custom_exc"),
    ("register magics", ("get_ipython().register_magics(M)",), "gancho", "register_magics"),
    ("ast transformers", ("get_ipython().ast_transformers.append(T())",), "gancho", "ast_transformers"),
    ("sys.excepthook", ("import sys\nsys.excepthook = print",), "gancho", "sys.excepthook"),
    ("module attribute", ("import numpy as np\nnp.allclose = lambda *a, **k: True",), "modulo_modificado",
     "numpy.allclose"),
    ("alias across cells", ("import torch", "t = torch", "", "t.equal = max"), "modulo_modificado", "torch.equal"),
    ("submodule alias", ("import torch.nn.functional as F\nF.relu = abs",), "modulo_modificado",
     "torch.nn.functional.relu"),
    ("from import", ("from scipy import linalg\nlinalg.pinv = print",), "modulo_modificado", "scipy.linalg.pinv"),
    ("setattr constant", ("import numpy\nsetattr(numpy, 'allclose', max)",), "modulo_modificado", "setattr(numpy"),
    ("setattr computed", ("import numpy\nsetattr(numpy, nombre, max)",), "modulo_modificado", "setattr(numpy, …)"),
    ("getattr then assign", ("import numpy\nm = getattr(numpy, 'linalg')\nm.pinv = max",), "modulo_modificado",
     "numpy.linalg.pinv"),
    ("probe table", ("from practica import lab00\nlab00.PROBES['pinv'] = f",), "modulo_modificado",
     "practica.lab00.PROBES"),
    ("probe table update", ("import practica.lab00\npractica.lab00.PROBES.update(x=f)",), "modulo_modificado",
     "practica.lab00.PROBES.update"),
    ("sys.modules", ("import sys\nsys.modules['torch'].equal = max",), "modulo_modificado", "torch.equal"),
    ("importlib alias", ("import importlib\nm = importlib.import_module('numpy')\nm.isclose = max",),
     "modulo_modificado", "numpy.isclose"),
    ("imported function", ("from practica.lab00 import comprobar\ncomprobar.__wrapped__ = print",),
     "modulo_modificado", "comprobar.__wrapped__"),
    ("builtins", ("import builtins\nbuiltins.print = max",), "modulo_modificado", "builtins.print"),
    ("torch function", ("import torch\nclass T(torch.Tensor):\n    def __torch_function__(c, f, t, a=(), k=None):\n"
                        "        return 1",), "modulo_modificado", "__torch_function__"),
    ("reference code", ("from in_image.exercises.reference import mlp_forward",), "interno", "in_image"),
    ("criteria", ("from practica.lab01_checks import digit_split",), "interno", "lab01_checks"),
    ("criteria from package", ("from practica import lab02_checks",), "interno", "lab02_checks"),
    ("checking core", ("import practica.comprobacion as c",), "interno", "practica.comprobacion"),
    ("probes read", ("import practica.lab00 as p\nx = p.PROBES",), "interno", "practica.lab00.PROBES"),
    ("star import", ("from practica.lab00 import *",), "interno", "import *"),
    ("judge package", ("import dl_lab_judge.criteria",), "interno", "dl_lab_judge"),
    ("thread", ("import threading\nthreading.Thread(target=f).start()",), "hilo", "threading"),
    ("thread from", ("from threading import Timer",), "hilo", "threading.Timer"),
    ("asyncio", ("import asyncio\nasyncio.get_event_loop().call_later(1, f)",), "hilo", "asyncio"),
    ("atexit", ("import atexit\natexit.register(f)",), "hilo", "atexit"),
    ("settrace", ("import sys\nsys.settrace(f)",), "traza", "sys.settrace"),
    ("setprofile alias", ("import sys as s\ns.setprofile(f)",), "traza", "sys.setprofile"),
    ("settrace from", ("from sys import settrace",), "traza", "sys.settrace"),
    ("ctypes", ("import ctypes\nctypes.memmove(a, b, 8)",), "ctypes", "ctypes"),
    ("kernel", ("k = get_ipython().kernel",), "kernel", "get_ipython().kernel"),
    ("kernel by hasattr", ("hasattr(get_ipython(), 'kernel')",), "kernel", "kernel"),
    ("ipykernel", ("from ipykernel.kernelbase import Kernel",), "kernel", "ipykernel"),
    ("zmq", ("import zmq",), "kernel", "zmq"),
    ("IPython internals", ("from IPython.core.interactiveshell import InteractiveShell",), "kernel", "IPython.core"),
    ("os._exit", ("import os\nos._exit(1)",), "kernel", "os._exit"),
    ("update_display", ("from IPython.display import update_display",), "display", "update_display"),
    ("display_id", ("h = display('x', display_id=True)\nh.update('y')",), "display", "display_id"),
    ("publish", ("from IPython.display import publish_display_data",), "display", "publish_display_data"),
    ("other magic", ("%load_ext autoreload",), "magia", "%load_ext"),
    ("cell magic", ("%%bash\nls /",), "magia", "%bash"),
    ("capture", ("%%capture salida\nprint(1)",), "magia", "%capture"),
    ("shell escape", ("!cat /etc/passwd",), "magia", "!cat /etc/passwd"),
    ("shell assignment", ("archivos = !ls",), "magia", "!ls"),
    ("run_line_magic", ("get_ipython().run_line_magic('run', 'x.py')",), "magia", "%run"),
    ("computed magic", ("get_ipython().run_line_magic(nombre, '')",), "magia", "calculados"),
    ("subprocess", ("import subprocess\nsubprocess.run(['ls'])",), "magia", "subprocess"),
    ("os.system", ("import os\nos.system('ls')",), "magia", "os.system"),
    ("code inside %time", ("%time get_ipython().events.register('pre_run_cell', f)",), "gancho", "events"),
    ("code inside %%timeit", ("%%timeit -n 1 -r 1\nimport numpy\nnumpy.allclose = max",), "modulo_modificado",
     "numpy.allclose"),
    ("options of %timeit", ("%timeit -n 3 -r 1 import ctypes",), "ctypes", "ctypes"),
    ("exec", ("exec(codigo)",), "dinamico", "exec"),
    ("eval", ("eval('1')",), "dinamico", "eval"),
    ("__import__", ("m = __import__('numpy')\nm.allclose = max",), "modulo_modificado", "numpy.allclose"),
    ("shell code", ("get_ipython().run_cell('x = 1')",), "dinamico", "run_cell"),
    ("frames", ("import sys\nf = sys._getframe(1).f_globals",), "introspeccion", "f_globals"),
    ("globals", ("globals()['comprobar'] = print",), "introspeccion", "globals()"),
    ("function globals", ("f.__globals__['x'] = 1",), "introspeccion", "__globals__"),
    ("pickle", ("import pickle",), "modulo_arriesgado", "pickle"),
    ("marshal", ("import marshal",), "modulo_arriesgado", "marshal"),
    ("gc", ("import gc\ngc.get_objects()",), "modulo_arriesgado", "gc"),
    ("types", ("from types import FunctionType",), "modulo_arriesgado", "types.FunctionType"),
    ("importlib", ("import importlib.util",), "modulo_arriesgado", "importlib"),
    ("grader detection", ("import os\nif os.environ.get('IPYTHONDIR', '').startswith('/tmp/dl-lab-judge'): pass",),
     "entorno", "IPYTHONDIR"),
    ("startup file", ("open('/home/jovyan/.ipython/profile_default/startup/0.py', 'w')",), "entorno",
     "profile_default"),
    ("syntax error", ("def (:",), "sin_analizar", "sintaxis"),
    ("deep nesting", ("x = " + "(" * 400 + "1" + ")" * 400,), "sin_analizar", "sintaxis"),
    ("deep tree", ("x = " + " + ".join(["1"] * 20_000),), "sin_analizar", "anidamiento"),
    ("huge cell", ("x = 1\n" * (MAX_CELL_CHARS // 6 + 1),), "sin_analizar", "caracteres"),
    *[(f"hidden code: {name}", cells, kind, detail) for name, cells, kind, detail in HIDDEN_CODE],
    # a module or a class changed through a helper whose arguments are parameters, or reached through a container
    ("setattr through a helper", ("def ajustar(o, n, v):\n    setattr(o, n, v)",), "modulo_modificado",
     "objeto y atributo calculados"),
    ("module in a list", ("import sys\ns = [sys][0]\ns.path_importer_cache.clear()",), "introspeccion",
     "el módulo sys dentro de una list"),
    ("module in a dict", ("import torch as t\nm = {'x': t}['x']",), "introspeccion", "el módulo torch dentro de una dict"),
]

CLEAN = [
    "import numpy as np\nimport torch\nfrom torch import nn\nx = torch.rand(5, 3)\nprint(x.shape)",
    "import matplotlib.pyplot as plt\nplt.rcParams['figure.figsize'] = (6, 4)\nplt.plot([1, 2])",
    "import torch\ntorch.backends.cudnn.deterministic = True\ntorch.manual_seed(0)",
    "import numpy as np\nv = np.append(np.zeros(2), 1)\nlista = []\nlista.append(v)",
    "from torch import nn\nclass Red(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
    "        self.kernel = nn.Conv2d(1, 6, 5)\n    def forward(self, x):\n        return self.kernel(x)",
    "%matplotlib inline\n%pip install tqdm\n%time y = sum(range(10))\n%timeit -n 2 -r 1 sum(range(5))",
    "%%time\nimport torch\nmodelo = torch.nn.Linear(2, 1)",
    "from IPython.display import display, clear_output, Markdown\ndisplay(Markdown('**hola**'))\nclear_output(wait=True)",
    "from IPython.core.display import HTML\nimport IPython\nfrom IPython import display as pantalla",
    "from practica.lab00 import comprobar\nfrom practica import gpu\ncomprobar('tensor_aleatorio')",
    "import os\nos.environ['CUBLAS_WORKSPACE_CONFIG'] = ':4096:8'\nimport platform\nplatform.system()",
    "import time, inspect\nt0 = time.perf_counter()\nprint(inspect.signature(print))",
    "nn = 3\nnn.real",  # a name that is no module
    "# %load_ext en un comentario\ntexto = '!ls no es un comando'\nx = 5 % 2",
    # timing a function, and literal code timed (read like a cell)
    "import timeit\ndef paso():\n    return sum(range(100))\nprint(timeit.timeit(paso, number=10))",
    "import timeit\nt = timeit.timeit(lambda: sum(range(10)), number=5)\nr = timeit.repeat(stmt=lambda: 1, repeat=3)",
    "from timeit import Timer, default_timer\nfrom functools import partial\nTimer(partial(sum, [1, 2])).repeat(3, 10)",
    "import timeit\ntimeit.timeit('sum(range(10))', setup='import math', number=100)",
    "f = lambda: 3\nimport timeit\ntimeit.timeit(f)",
    "import torch\nfrom torch.utils import benchmark\nx = torch.rand(8, 8)\n"
    "print(benchmark.Timer(stmt='x @ x', globals={'x': x}).timeit(10))",
    "%timeit -n 2 -r 1 sum({1, 2})\n%time d = {'a': 1}",
    # text encodings, files and ordinary literals
    "texto = 'año'.encode('utf-8').decode('utf-8')\nimport json\ndatos = json.loads('{\"a\": 1}')",
    "import numpy as np\nx = np.frombuffer(bytes([1, 2, 3, 4]), dtype=np.uint8)\ny = list(range(5000))",
    "doc = " + repr("Un texto largo pero honesto. " * 60) + "\npesos = [0.1, 0.2, 0.3] * 1000",
    # attributes set on the notebook's own objects, and dtypes of a module in a tuple
    "class Datos:\n    def __init__(self, **campos):\n        for n, v in campos.items():\n            setattr(self, n, v)",
    "import torch\nfor tipo in (torch.float16, torch.bfloat16):\n    print(tipo)",
]


@pytest.mark.parametrize(("name", "cells", "kind", "detail"), DISGUISES, ids=[d[0] for d in DISGUISES])
def test_each_disguise_is_found_with_its_kind_and_cell(name: str, cells: tuple[str, ...], kind: str, detail: str) -> None:
    findings = scan_sources(enumerate(cells))
    found = [f for f in findings if f.kind == kind]
    assert found, f"{name}: expected a '{kind}' finding, got {findings}"
    assert any(detail in f.detail for f in found), f"{name}: no '{kind}' detail mentions {detail!r}: {found}"
    last = len(cells) - 1
    assert any(f.cell == last for f in found), f"{name}: the finding should point at cell {last}: {found}"


@pytest.mark.parametrize("source", CLEAN)
def test_honest_code_has_no_finding(source: str) -> None:
    assert scan_sources([(0, source)]) == []


@pytest.mark.parametrize("lab_id", sorted(catalog.all_labs()))
@pytest.mark.parametrize("student", [True, False], ids=["student", "solution"])
def test_the_labs_own_notebooks_scan_clean(lab_id: str, student: bool) -> None:
    lab = catalog.find_lab(lab_id)
    notebook = versions.make_version(catalog.read_notebook(lab.source), student=student, origin=str(lab.source))
    assert scan_notebook(notebook) == []


@pytest.mark.parametrize("forgery", FORGERIES, ids=lambda f: f.name)
def test_every_known_forgery_leaves_static_evidence(forgery: object) -> None:
    cells = getattr(forgery, "cells")  # noqa: B009 (typed loosely for the parametrize ids)
    assert scan_sources(enumerate(cells)), f"{getattr(forgery, 'name')}: the source shows nothing"  # noqa: B009


def test_findings_are_grouped_per_kind_with_their_cells_and_capped() -> None:
    cells = ["import numpy"] + [f"numpy.f{i} = {i}" for i in range(100)] + ["import threading", "!ls"]
    entries = grouped(scan_sources(enumerate(cells)))
    assert [e["kind"] for e in entries] == ["modulo_modificado", "hilo", "magia"], entries
    patched = entries[0]
    assert patched["cells"] == list(range(1, 51)), "cells of one kind are capped at 50"
    assert patched["message"].startswith(KINDS["modulo_modificado"] + ": numpy.f0, ")
    assert "y 92 más" in patched["message"] and len(patched["message"]) <= 400
    assert entries[1]["cells"] == [101] and entries[2]["cells"] == [102]


def test_a_notebook_scan_skips_other_cells_and_the_injected_parameters() -> None:
    notebook = {"cells": [
        {"cell_type": "markdown", "source": "import ctypes"},
        {"cell_type": "code", "source": ["import ", "ctypes"], "metadata": {}},
        {"cell_type": "code", "source": "import pickle", "metadata": {"tags": ["injected-parameters"]}},
        {"cell_type": "raw", "source": "!ls"},
        "not a cell",
    ]}
    assert scan_notebook(notebook) == [{"kind": "ctypes", "message": f"{KINDS['ctypes']}: import ctypes", "cells": [1]}]
    assert scan_notebook({"cells": "none"}) == scan_notebook([]) == []


def test_the_host_keeps_only_well_formed_entries() -> None:
    entries = from_report([{"kind": "hilo", "message": "m" * 900, "cells": [1, -2, True, "3", 4]},
                           {"kind": "inventado", "message": "x", "cells": []}, "texto", {"kind": "magia"}])
    assert entries == [{"kind": "hilo", "message": "m" * 399 + "…", "cells": [1, 4]}]
    assert from_report("no") == from_report(None) == []


def test_the_judge_reports_what_it_read_before_the_kernel_ran(tmp_path: Path) -> None:
    """The judge in the host's Python (--variant local): a hook that the kernel later removes is still reported,
    with its cell, and the kernel cannot overwrite the judge's field."""
    hook = ("ip = get_ipython()\nip.events.register('post_run_cell', print)\nip.events.unregister('post_run_cell', print)\n"
            "from IPython.display import publish_display_data\n"
            "publish_display_data({'text/plain': 'static_evidence: []'})")
    notebook = submission("00", solved=False, insert=[hook])
    path = write(notebook, tmp_path / "gancho.ipynb")
    lab = catalog.find_lab("00")
    result = LocalExecutor(limits=Limits()).run(GradingJob(lab=lab, notebook=path, name="gancho",
                                                           parameters=dict(lab.ci_parameters)))
    cell = next(i for i, c in enumerate(notebook.cells) if c.source == hook)
    kinds = {e["kind"]: e for e in result.static_evidence}
    assert set(kinds) == {"gancho", "display"}, result.static_evidence
    assert kinds["gancho"]["cells"] == [cell] and "get_ipython().events" in kinds["gancho"]["message"]
    assert result.score == 0, "evidence is never graded, and the blank notebook earns nothing"
