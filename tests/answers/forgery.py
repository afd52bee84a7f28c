"""Notebooks that try to forge their grade, each with the score its honest part earns.

Built on lab 00's student version (nothing solved: the honest part earns 0) or its instructor version
(everything solved: full marks), with cells that attack the grader: IPython hooks and transformers, threads and
atexit handlers printing result-looking output, patched comparison functions of every kind of
callable, a torch.Tensor subclass that lies through __torch_function__, frame inspection, a startup
file planted before a deliberate kernel crash, files written where results might go, signals to the
parent, and a transformer that forges the judge's answer messages. `evidence` is a fragment the
report's evidence list must contain (evidence is reported, never graded).
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.course import catalog
from in_image.exercises.declared import declared_in
from in_image.exercises.wire import ANSWERS_MIME
from in_image.judge.questions import request_call

REQUEST = request_call("answer")  # how the judge's request for the answers starts


@dataclass(frozen=True)
class Forgery:
    name: str
    cells: tuple[str, ...]
    solved: bool = False  # False: on the student version (honest part 0); True: on the solutions (full marks)
    evidence: str = ""
    replace: tuple[tuple[str, str], ...] = ()  # (exercise, source) of exercise cells replaced (e.g. emptied)

    @property
    def honest_score(self) -> float:
        return sum(d.points for d in declared_in(catalog.find_lab("00").checks)) if self.solved else 0.0


POST_RUN_HOOK = ("get_ipython().events.register('post_run_cell', lambda r: globals().__setitem__("
                 "'comprobar', lambda e: print('✅ correcto')))")

PRE_RUN_PRINTS = '''
import json
def _imprime(info):
    print("DLLAB0 RESULTADO " + json.dumps({"status": "passed", "score": 99, "max_score": 1}))
    print(json.dumps({"nonce": "x", "exercises": [{"id": "pinv", "status": "passed", "score": 99}]}))
get_ipython().events.register("pre_run_cell", _imprime)
'''

FORGED_ANSWERS = f'''
import json
from IPython.display import publish_display_data
def _falsa_respuesta(lab, ejercicio, peticion):
    casos = json.loads(open(peticion).read())  # the request file the judge names
    n = len(casos) if isinstance(casos, list) else 1
    respuestas = [{{"kind": "answer", "value": None}}] * n
    publish_display_data({{{ANSWERS_MIME!r}: {{"exercise": ejercicio, "answers": respuestas}}}})
def _reescribe(lineas):
    return [linea.replace({REQUEST!r}, "_falsa_respuesta(") for linea in lineas]
get_ipython().input_transformers_post.append(_reescribe)
'''

ECHO_ANSWERS = f'''
import json
from IPython.display import publish_display_data
def _eco(lab, ejercicio, peticion):
    casos = json.loads(open(peticion).read())  # the request file the judge names
    respuestas = [{{"kind": "answer", "value": caso}} for caso in casos]
    publish_display_data({{{ANSWERS_MIME!r}: {{"exercise": ejercicio, "answers": respuestas}}}})
def _reescribe(lineas):
    return [linea.replace({REQUEST!r}, "_eco(") for linea in lineas]
get_ipython().input_transformers_cleanup.append(_reescribe)
'''

AST_EMPTIES = '''
import ast
class _Vacia(ast.NodeTransformer):
    def visit_Module(self, nodo):
        if "answering" in ast.dump(nodo):
            return ast.Module(body=[ast.Pass()], type_ignores=[])
        return nodo
get_ipython().ast_transformers.append(_Vacia())
'''

THREAD_FLOODS = f'''
import json, threading, time
from IPython.display import publish_display_data
def _inunda():
    while True:
        print("DLLAB0 RESULTADO " + json.dumps({{"status": "passed", "score": 1}}))
        publish_display_data({{{ANSWERS_MIME!r}: {{"exercise": "pinv", "answers": []}}}})
        time.sleep(0.01)
threading.Thread(target=_inunda, daemon=True).start()
'''

ATEXIT_WRITES = '''
import atexit, json, os
def _al_salir():
    print(json.dumps({"nonce": "x", "exercises": [{"id": "pinv", "status": "passed", "score": 1}]}))
    for ruta in ("/dl-lab-job/result.json", "/tmp/result.json", "result.json"):
        try:
            with open(ruta, "w") as fichero:
                json.dump({"exercises": [{"id": "pinv", "status": "passed", "score": 1}]}, fichero)
        except OSError:
            pass
atexit.register(_al_salir)
'''

PATCH_CALLABLES = '''
import functools, numpy, torch
import practica.lab00 as ayuda
verdadero = functools.partial(lambda *a, **k: True)
numpy.allclose = verdadero
numpy.array_equal = functools.partial(lambda *a, **k: True)
torch.allclose = lambda *a, **k: True
torch.equal = type("Siempre", (), {"__call__": lambda self, *a, **k: True})()
ayuda.comprobar = print
'''

LIBRARY_FILENAME = '''
import numpy, torch
codigo = compile("def verdadero(*a, **k):\\n    return True\\n", torch.__file__, "exec")
espacio = {}
exec(codigo, espacio)
numpy.allclose = espacio["verdadero"]
torch.allclose = espacio["verdadero"]
import in_image.exercises.framework as marco
marco.close = espacio["verdadero"]
'''

TORCH_FUNCTION_LIAR = '''
import torch
class Mentira(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.rand(5, 3)
    @property
    def shape(self):
        return torch.Size([5, 3])
aleatorio = torch.zeros(2).as_subclass(Mentira)
ceros = torch.ones(1).as_subclass(Mentira)
def pseudoinversa(A):
    return torch.zeros(1).as_subclass(Mentira)
def primera_columna(m):
    return torch.zeros(1).as_subclass(Mentira)
'''

PATCH_SCIPY = '''
import scipy.linalg, numpy
scipy.linalg.pinv = lambda A, *a, **k: numpy.zeros((1, 1))
numpy.linalg.pinv = scipy.linalg.pinv
'''

FRAME_INSPECTION = '''
import sys
def _busca(nombres=("esperado", "expected", "wanted", "reference", "resultado_correcto")):
    marco = sys._getframe(1)
    while marco is not None:
        for nombre in nombres:
            if nombre in marco.f_locals:
                return marco.f_locals[nombre]
        marco = marco.f_back
    return None
def pseudoinversa(A):
    return _busca()
def primera_columna(m):
    return _busca()
def normalizar(m):
    return _busca()
'''

STARTUP_THEN_CRASH = '''
import os, pathlib
trampa = "comprobar = print\\nimport numpy\\nnumpy.allclose = lambda *a, **k: True\\n"
for carpeta in (os.environ.get("IPYTHONDIR", ""), os.path.expanduser("~/.ipython"), "/tmp/ipython"):
    if carpeta:
        destino = pathlib.Path(carpeta, "profile_default", "startup")
        try:
            destino.mkdir(parents=True, exist_ok=True)
            (destino / "00-trampa.py").write_text(trampa)
        except OSError:
            pass
sitio = pathlib.Path.home() / ".local/lib/python3.11/site-packages"
sitio.mkdir(parents=True, exist_ok=True)
(sitio / "trampa.pth").write_text("import os; os.environ['TRAMPA'] = '1'\\n")
os._exit(1)
'''

SIGNALS = '''
import os, signal
resultados = []
for pid in (os.getppid(), 1):
    for senal in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(pid, senal)
            resultados.append((pid, senal, "enviada"))
        except OSError as error:
            resultados.append((pid, senal, type(error).__name__))
print(resultados)
'''

# ---- the kernel as untrusted input --------------------------------------------------------------
# The judge's requests run the checking package as it is on disk, so replacing answering's functions in the
# notebook changes nothing: these attacks intercept the request's call itself, with an input transformer that
# sends it to the notebook's `_answer` / `_entorno` (which may call the real one, `_responder`).
INTERCEPT = f'''
def _intercepta(lineas):
    return [linea.replace({request_call("answer")!r}, "_answer(").replace({request_call("environment")!r}, "_entorno(")
            for linea in lineas]
get_ipython().input_transformers_post.append(_intercepta)
def _responder(*argumentos):
    return __import__("in_image.exercises.answering", fromlist=["answer"]).answer(*argumentos)
def _answer(*argumentos, **opciones):
    return _responder(*argumentos)
def _entorno(**opciones):
    return __import__("in_image.exercises.answering", fromlist=["environment"]).environment()
'''

# The kernel's facts, forged to overwrite the judge's own result fields (timeline, evidence, device).
RESULT_OVERWRITE = INTERCEPT + f'''
from IPython.display import publish_display_data
def _entorno(**opciones):
    publish_display_data({{{ANSWERS_MIME!r}: {{"environment": {{
        "device": "cuda (NVIDIA H100 80GB HBM3)", "timeline": "xx", "evidence": "", "cell_errors": "xx"}}}}}})
'''

# While the judge asks, one 25 MB update of an earlier output (it would make the executed notebook too big to keep).
DISPLAY_FLOOD = INTERCEPT + '''
_pantalla = display("inicio", display_id=True)
_inundado = []
def _answer(lab, ejercicio, peticion, **opciones):
    if not _inundado:
        _inundado.append(1)
        _pantalla.update("x" * 25_000_000)
    return _responder(lab, ejercicio, peticion)
'''

# Switches on only under grading (the judge's IPYTHONDIR): solves pinv while its cell still holds the placeholder,
# once the notebook has run (a post_run_cell hook redefines it after every cell).
ONLY_UNDER_GRADING = '''
import os
import torch
if "dl-lab-judge" in os.environ.get("IPYTHONDIR", ""):
    get_ipython().events.register("post_run_cell", lambda resultado: globals().update(pseudoinversa=torch.linalg.pinv))
'''

# The judge's hidden inputs copied wherever they might get out: a file (LEAK_PATH, read by the tests where the
# kernel can write there), an earlier output, the request's own output, a pre_run_cell hook, and pinv's error
# messages. Used with PINV_ECHOES_ITS_INPUT (pinv's function: right on the public cases, and on the hidden ones
# raising with its input in the message).
HIDDEN_LEAK = INTERCEPT + '''
import json
_pantalla = display("inicio", display_id=True)
get_ipython().events.register("pre_run_cell", lambda info: _pantalla.update(info.raw_cell))
from in_image.exercises import wire as _wire
_peticiones = {}
def _answer(lab, ejercicio, peticion, **opciones):
    _peticiones[ejercicio] = _peticiones.get(ejercicio, 0) + 1  # the second request of an exercise: its hidden cases
    texto = open(peticion).read()
    with open(LEAK_PATH, "a") as fichero:
        fichero.write(texto + "\\n")
    valores = repr(_wire.decode(json.loads(texto)))
    _pantalla.update(valores)
    print(valores)
    return _responder(lab, ejercicio, peticion)
'''
PINV_ECHOES_ITS_INPUT = '''
import numpy as np
import torch
def pseudoinversa(A):
    if globals().get("_peticiones", {}).get("pinv", 0) > 1:
        raise ValueError("la entrada era " + np.array2string(np.asarray(A), precision=8))
    return torch.linalg.pinv(A)
'''


def hidden_leak_cell(leak_path: str) -> str:
    return f"LEAK_PATH = {leak_path!r}\n" + HIDDEN_LEAK


# Answers pinv with a map whose key decodes to a tuple holding a list (unhashable); every other exercise honestly.
UNHASHABLE_KEY = INTERCEPT + f'''
from IPython.display import publish_display_data
def _answer(lab, ejercicio, peticion, **opciones):
    if ejercicio != "pinv":
        return _responder(lab, ejercicio, peticion)
    casos = json.loads(open(peticion).read())
    publish_display_data({{{ANSWERS_MIME!r}: {{"exercise": "pinv", "answers": [
        {{"kind": "answer", "value": {{"__map__": [[{{"__tuple__": [[1]]}}, 1]]}}}}] * len(casos)}}}})
import json
'''


# Stashes pinv's hidden inputs in the working folder and kills its kernel; in the next kernel, its first cell
# prints them and raises with them (the judge re-runs the notebook after a crash).
STASH_THEN_CRASH = '''
import json, os
from in_image.exercises import wire as _wire
if os.path.exists("guardado.txt"):
    _texto = repr(_wire.decode(json.loads(open("guardado.txt").read())))
    print(_texto)
    raise ValueError(_texto[:250])
''' + INTERCEPT + '''
_vistas = []
def _answer(lab, ejercicio, peticion, **opciones):
    if ejercicio == "pinv":
        _vistas.append(1)
        if len(_vistas) > 1:
            with open("guardado.txt", "w") as fichero:
                fichero.write(open(peticion).read())
            os._exit(1)
    return _responder(lab, ejercicio, peticion)
'''


# With the exercises' cells emptied (no placeholder left), the checking package's probes replaced by ones that
# answer from a memorised table, and the kernel's own evidence silenced. The judge runs the package as it is on
# disk, so the replaced probes are never asked; the evidence names them.
PROBES_REPLACED = '''
import practica.lab00 as _laboratorio, torch
import in_image.exercises.evidence as _evidencia
_NOMBRES = {"suma": "AddBackward0", "producto": "MulBackward0", "raiz": "SqrtBackward0", "media": "MeanBackward0",
            "potencia": "PowBackward0", "hoja": None, "sin_gradiente": None}
_laboratorio.PROBES["grad_fn"] = lambda cuaderno, entradas: [_NOMBRES[n] for n in entradas["operaciones"]]
_evidencia.signs = lambda namespace, lab, **opciones: []
'''

# The probes replaced through Python's own path finder class, reached and changed without naming it: the request's
# fresh import would load the notebook's probes if it went through the finders the notebook shares.
FINDER_PATCHED = '''
import sys
_s = [sys][0]
_Buscador = next(type(v) for v in _s.path_importer_cache.values() if type(v).__name__ == "FileFinder")
_original = _Buscador.find_spec
_NOMBRES = {"suma": "AddBackward0", "producto": "MulBackward0", "raiz": "SqrtBackward0", "media": "MeanBackward0",
            "potencia": "PowBackward0", "hoja": None, "sin_gradiente": None}
def _busca(self, nombre, destino=None):
    spec = _original(self, nombre, destino)
    if nombre == "practica.lab00" and spec is not None:
        ejecuta = type(spec.loader).exec_module
        class _Cargador(type(spec.loader)):
            def exec_module(self, modulo):
                ejecuta(self, modulo)
                modulo.PROBES["grad_fn"] = lambda cuaderno, entradas: [_NOMBRES[n] for n in entradas["operaciones"]]
        spec.loader = _Cargador(spec.loader.name, spec.loader.path)
    return spec
def _ajustar(objeto, nombre, valor):
    setattr(objeto, nombre, valor)
_ajustar(_Buscador, "find_spec", _busca)
'''


FORGERIES: tuple[Forgery, ...] = (
    Forgery("post-run-hook", (POST_RUN_HOOK,), evidence="post_run_cell"),
    Forgery("pre-run-hook-prints", (PRE_RUN_PRINTS,), evidence="pre_run_cell"),
    Forgery("transformer-forges-answers", (FORGED_ANSWERS,), evidence="input_transformers_post"),
    Forgery("transformer-echoes-inputs", (ECHO_ANSWERS,), evidence="input_transformers_cleanup"),
    # These two also silence the evidence request itself: evidence is best effort, the grade is not.
    Forgery("ast-transformer-empties", (AST_EMPTIES,)),
    Forgery("thread-floods-results", (THREAD_FLOODS,)),
    Forgery("thread-prints-results", (THREAD_FLOODS.replace("publish_display_data(", "(lambda *a: None)("),), evidence="hilo"),
    Forgery("atexit-writes-results", (ATEXIT_WRITES,)),
    Forgery("patches-every-callable", (PATCH_CALLABLES,), evidence="numpy.allclose"),
    Forgery("patches-every-callable-solved", (PATCH_CALLABLES,), solved=True, evidence="torch.allclose"),
    Forgery("library-filename", (LIBRARY_FILENAME,)),
    Forgery("torch-function-liar", (TORCH_FUNCTION_LIAR,)),
    Forgery("patches-scipy-pinv", (PATCH_SCIPY,)),
    Forgery("frame-inspection", (FRAME_INSPECTION,)),
    Forgery("startup-file-then-crash", (STARTUP_THEN_CRASH,)),
    Forgery("signals-to-parent-solved", (SIGNALS,), solved=True),
    Forgery("overwrites-result-fields-solved", (RESULT_OVERWRITE,), solved=True, evidence="input_transformers_post"),
    Forgery("display-update-flood-solved", (DISPLAY_FLOOD,), solved=True, evidence="input_transformers_post"),
    Forgery("only-under-grading", (ONLY_UNDER_GRADING,)),
    Forgery("probes-replaced", (PROBES_REPLACED,), evidence="practica.lab00.PROBES.grad_fn",
            replace=(("grad_fn", "pass\n"),)),
    Forgery("finder-class-patched", (FINDER_PATCHED,), evidence="importlib.machinery.FileFinder.find_spec",
            replace=(("grad_fn", "pass\n"),)),
)

