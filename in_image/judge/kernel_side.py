"""What the grader runs inside the student's kernel. Sent as text (never imported there), so that a
submission that edits modules in its kernel cannot change this code before it runs.

Three calls, each one a cell the runner sends (store_history off) and whose printed lines start
with the run's token:
- `preambulo` before the student's cells: lowers the kernel's OOM priority, moves to the work
  folder and prints a fingerprint (ids of builtins, torch/numpy functions, the checking helpers,
  IPython's input hooks) for the runner to keep;
- `preparar` after the student's cells: prints the fingerprint again (the runner compares the two to
  detect tampering), loads the checking framework and the hidden tests, both given as text;
- `ejecutar` once per exercise: runs its hidden test on the notebook's namespace, prints the result.

Standard library and the image's torch only: this runs in the container's kernel.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import types
from typing import Any

# Modules whose public callables a submission must not replace (the hidden tests rely on them).
WATCHED_MODULES = (
    "torch", "torch.nn", "torch.nn.functional", "torch.linalg", "torch.utils.data", "torch.optim",
    "numpy", "json", "math", "time", "practica", "practica.verificacion",
)
# Builtins that IPython and ipykernel themselves swap while they run a cell (input: per request).
IPYTHON_BUILTINS = {"exit", "quit", "get_ipython", "display", "copyright", "credits", "license", "help", "input"}


def _ids(values: Any) -> str:
    return ",".join(str(id(value)) for value in values)


def _library_prefixes() -> tuple[str, ...]:
    import practica  # noqa: PLC0415 (in the kernel, after the notebook's own imports)

    return (sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.path.dirname(practica.__file__)), "<frozen")


def _mark(value: Any, prefixes: tuple[str, ...]) -> str:
    """id:origin, origin "user" when the object was defined by the notebook's code.

    Libraries legitimately replace some of their own functions the first time a submodule loads
    (torch wraps torch.manual_seed when torch._dynamo loads): a new id counts as tampering only
    when the new object comes from the notebook.
    """
    code = getattr(value, "__code__", None) or getattr(getattr(value, "__func__", None), "__code__", None)
    if code is not None:
        origin = "lib" if code.co_filename.startswith(prefixes) else "user"
    else:
        origin = "user" if getattr(value, "__module__", None) == "__main__" else "lib"
    return f"{id(value)}:{origin}"


def huella(lab: str) -> dict[str, str]:
    """Ids of what grading relies on; a changed id between preamble and grading means tampering."""
    import torch  # noqa: PLC0415 (the notebooks import it anyway; here the preamble sees it intact)

    __import__(f"practica.lab{lab}")
    prefixes = _library_prefixes()
    found: dict[str, str] = {}
    for name, value in vars(builtins).items():
        if (not name.startswith("_") or name in ("__import__", "__build_class__")) and name not in IPYTHON_BUILTINS:
            found[f"builtins.{name}"] = _mark(value, prefixes)
    for module_name in (*WATCHED_MODULES, f"practica.lab{lab}"):
        module = sys.modules.get(module_name)
        found[f"sys.modules[{module_name}]"] = str(id(module))
        for name, value in vars(module or types.ModuleType("vacío")).items():
            if not name.startswith("_") and callable(value):
                found[f"{module_name}.{name}"] = _mark(value, prefixes)
    for cls in (torch.Tensor, torch._C.TensorBase, torch.nn.Module):
        for name, value in vars(cls).items():
            found[f"{cls.__qualname__}.{name}"] = _mark(value, prefixes)
    for name in ("settrace", "setprofile", "gettrace", "getprofile", "exit"):
        found[f"sys.{name}"] = str(id(getattr(sys, name)))
    found["sys.trace"] = str(id(sys.gettrace()))
    found["sys.profile"] = str(id(sys.getprofile()))
    found["sys.stdout"] = str(id(sys.stdout))
    found["sys.meta_path"] = _ids(sys.meta_path)
    shell = getattr(builtins, "get_ipython", lambda: None)()
    if shell is not None:
        # Hooks that see or rewrite a cell's code before it runs (post-run hooks are left out:
        # matplotlib's inline backend adds one, legitimately).
        found["ipython.input_transformers_cleanup"] = _ids(shell.input_transformers_cleanup)
        found["ipython.input_transformers_post"] = _ids(shell.input_transformers_post)
        found["ipython.ast_transformers"] = _ids(shell.ast_transformers)
        for event in ("pre_execute", "pre_run_cell"):
            found[f"ipython.events.{event}"] = _ids(shell.events.callbacks.get(event, []))
        found["ipython.run_cell"] = str(id(type(shell).run_cell))
    return found


def _emit(token: str, kind: str, payload: Any) -> None:
    sys.stdout.write(f"{token} {kind} {json.dumps(payload, ensure_ascii=True)}\n")
    sys.stdout.flush()


def preambulo(*, token: str, lab: str, workdir: str) -> None:
    # The OOM killer should take the kernel (restartable), never the grader that holds the results.
    try:
        with open("/proc/self/oom_score_adj", "w") as adj:
            adj.write("1000")
    except OSError:
        pass
    os.makedirs(workdir, exist_ok=True)
    os.chdir(workdir)
    _emit(token, "HUELLA", huella(lab))


def _device() -> str:
    import torch  # noqa: PLC0415 (kernel side: torch is loaded by now)

    if torch.cuda.is_available():
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return "cpu"


def preparar(*, token: str, lab: str, verificacion: str, pruebas: str) -> None:
    import torch  # noqa: PLC0415 (kernel side: torch is loaded by now)

    shell = getattr(builtins, "get_ipython", lambda: None)()
    namespace = shell.user_ns if shell is not None else {}
    helpers = sys.modules.get(f"practica.lab{lab}")
    redefined = [name for name in ("comprobar",)
                 if name in namespace and helpers is not None and namespace[name] is not getattr(helpers, name, None)]
    info = {
        "huella": huella(lab), "redefinidos": redefined, "torch": torch.__version__, "device": _device(),
        "python": sys.version.split()[0],
    }
    # The framework runs from its text, in a module of its own: edits to the imported
    # practica.verificacion cannot reach it.
    framework = types.ModuleType(f"_dl_lab_verificacion_{token}")
    sys.modules[framework.__name__] = framework
    exec(compile(verificacion, "<verificacion>", "exec"), framework.__dict__)
    registro = framework.cargar(pruebas, lab=lab, origen=f"<pruebas {lab}>")
    info["ejercicios"] = list(registro.pruebas)

    def ejecutar(ejercicio: str) -> None:
        resultado = registro.evaluar(ejercicio, namespace)
        _emit(token, "RESULTADO", resultado.como_dict())

    grader = types.ModuleType(f"_dl_lab_{token}")
    grader.ejecutar = ejecutar  # type: ignore[attr-defined]
    sys.modules[grader.__name__] = grader
    _emit(token, "PREPARADO", info)


if __name__ == "__dl_lab__":
    _call, _arguments = globals()["__dl_lab_call__"]
    globals()[_call](**_arguments)
