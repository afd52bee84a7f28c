"""Kernel side: signs that a notebook tried to interfere with checking, as evidence for the instructor.

They never change a grade (the judge decides apart from the kernel); they are reported so that the
instructor can look. What counts: IPython hooks and input/AST transformers defined by the notebook,
a `comprobar` that is not the lab's, public functions of torch, numpy, the checking packages or
builtins replaced by the notebook's own code, a trace or profile function, and threads left running.
"""

from __future__ import annotations

import builtins
import functools
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from typing import Any

WATCHED_MODULES = ("torch", "torch.nn.functional", "torch.linalg", "torch._dynamo", "torch._dynamo.backends.debugging",
                   "torch.compiler", "torch.profiler", "torch.amp", "torch.utils.data", "numpy", "practica",
                   "in_image.exercises.answering",
                   "in_image.exercises.framework", "in_image.exercises.wire", "in_image.exercises.isolation",
                   "in_image.exercises.evidence", "in_image.exercises.tracing", "importlib", "importlib.util",
                   "importlib.machinery", "importlib._bootstrap", "importlib._bootstrap_external", "sys", "builtins",
                   "json", "marshal", "io", "os", "IPython.display")
# Classes whose methods the checking code runs through (importing it afresh, loading data, profiling): a method the
# notebook put there is evidence, whatever name it was reached by.
WATCHED_CLASSES = (("importlib.machinery", "FileFinder"), ("importlib.machinery", "SourceFileLoader"),
                   ("importlib.machinery", "PathFinder"), ("importlib.machinery", "ModuleSpec"),
                   ("torch.profiler", "profile"), ("torch.utils.data", "DataLoader"), ("torch", "Tensor"),
                   ("torch.nn", "Module"))


def _library_prefixes() -> tuple[str, ...]:
    import practica  # noqa: PLC0415 (kernel side, once the notebook has run)

    labs = os.path.dirname(os.path.dirname(practica.__file__))
    return (sys.prefix, sys.base_prefix, sys.exec_prefix, labs, os.path.dirname(os.path.dirname(__file__)), "<frozen")


def _from_notebook(value: Any, prefixes: tuple[str, ...], *, depth: int = 0) -> bool:
    """Whether value (a function, a partial of one, a bound method, a callable object) was defined by the notebook."""
    if isinstance(value, functools.partial) and depth < 4:
        return _from_notebook(value.func, prefixes, depth=depth + 1)
    code = getattr(value, "__code__", None) or getattr(getattr(value, "__func__", None), "__code__", None)
    if code is not None:
        return not str(code.co_filename).startswith(prefixes)
    return "__main__" in (getattr(value, "__module__", None), getattr(type(value), "__module__", None))


def _replaced(module_name: str, names: Iterable[tuple[str, Any]], prefixes: tuple[str, ...], *,
              dunder: bool = False) -> list[str]:
    """The public callables (and, for a class, its special methods too) that the notebook's code put there."""
    return [f"{module_name}.{name}" for name, value in names
            if (not name.startswith("_") or (dunder and name.startswith("__"))) and callable(_function(value))
            and _from_notebook(_function(value), prefixes)]


def _function(value: Any) -> Any:
    """The function behind a staticmethod or classmethod (what a class's __dict__ holds), else the value."""
    return value.__func__ if isinstance(value, staticmethod | classmethod) else value


def _hooks(shell: Any, prefixes: tuple[str, ...]) -> list[str]:
    found = []
    for kind in ("input_transformers_cleanup", "input_transformers_post", "ast_transformers"):
        found += [f"IPython {kind}" for item in getattr(shell, kind, []) if _from_notebook(item, prefixes)
                  or _from_notebook(getattr(item, "visit", None), prefixes)]
    for event, callbacks in getattr(getattr(shell, "events", None), "callbacks", {}).items():
        found += [f"evento de IPython {event}" for callback in callbacks if _from_notebook(callback, prefixes)]
    return found


def signs(namespace: dict[str, Any], *, lab: str, modules: Mapping[str, Any] | None = None) -> list[str]:
    """Spanish descriptions of what the notebook changed that checking relies on; `modules`: the checking modules
    the notebook imported (default: sys.modules)."""
    modules = sys.modules if modules is None else {**sys.modules, **modules}
    prefixes = _library_prefixes()
    found: list[str] = []
    shell = getattr(builtins, "get_ipython", lambda: None)()
    if shell is not None:
        found += _hooks(shell, prefixes)
    helpers = modules.get(f"practica.lab{lab}")
    if "comprobar" in namespace and helpers is not None and namespace["comprobar"] is not getattr(helpers, "comprobar", None):
        found.append("«comprobar» redefinida")
    probes = getattr(helpers, "PROBES", None)
    if isinstance(probes, Mapping):
        found += _replaced(f"practica.lab{lab}.PROBES", [(str(k), v) for k, v in probes.items()], prefixes)
    found += _replaced("builtins", vars(builtins).items(), prefixes)
    for module_name in WATCHED_MODULES:
        module = modules.get(module_name)
        if module is not None:
            found += _replaced(module_name, vars(module).items(), prefixes)
    for module_name, class_name in WATCHED_CLASSES:
        watched = getattr(modules.get(module_name), class_name, None)
        if isinstance(watched, type):
            found += _replaced(f"{module_name}.{class_name}", vars(watched).items(), prefixes, dunder=True)
    if sys.gettrace() is not None or sys.getprofile() is not None:
        found.append("sys.settrace o sys.setprofile activos")
    threads = [t for t in threading.enumerate()
               if t.is_alive() and _from_notebook(getattr(t, "_target", None) or type(t).run, prefixes)]
    if threads:
        found.append(f"{len(threads)} hilo(s) en segundo plano")
    return sorted(set(found))[:30]
