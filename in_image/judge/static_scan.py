"""Evidence the kernel cannot erase: the submitted notebook's source read statically, before any cell runs.

The judge parses each code cell (IPython syntax turned into Python by IPython's own input
transformer, a pure text transformation: nothing is executed) and walks the syntax tree for what a
notebook needs only to interfere with checking: IPython hooks and input transformers, assignments to
attributes of imported modules (aliases followed across cells, `setattr`/`getattr` with constant
names), imports of the course's internals, threads and background tasks, trace and profile
functions, ctypes, the kernel object and its messaging, display updates, dynamic code (exec and the
like, and code run from a string by timeit, pdb, code or runpy), decoding of encoded data (base64, hex,
zlib, codecs, marshal, pickle), long literals (pasted data), frame introspection and the notebook's own
`__main__`, risky modules, and magics or shell commands other than %pip, %time, %timeit and %matplotlib
(the code of %time and %timeit, and literal code given to timeit, is scanned too). The lab's own cells
scan clean.

Findings are grouped per kind, each with a short Spanish line for the instructor and the indices
of the cells it appears in (the notebook's cell indices, as in `cell_errors`). They are evidence
for the instructor, never graded, and never shown to the student.
"""

from __future__ import annotations

import ast
import functools
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

MAX_CELL_CHARS = 200_000  # a larger cell is reported as not analysed, not parsed
MAX_DETAILS = 8  # distinct details kept per kind
MAX_CELLS = 50  # cell indices kept per kind
MAX_MAGIC_DEPTH = 3  # %time inside %%time inside ...: deeper is not analysed
SHELL = "get_ipython()"  # the path an IPython shell object resolves to

# Kind -> the Spanish heading of its line (also the order of the report).
KINDS: dict[str, str] = {
    "gancho": "ganchos de IPython o transformadores de entrada",
    "modulo_modificado": "modifica módulos o funciones importadas",
    "interno": "importa partes internas del curso o del calificador",
    "hilo": "hilos, procesos o tareas en segundo plano",
    "traza": "funciones de traza o de perfil",
    "ctypes": "acceso a memoria (ctypes)",
    "kernel": "accede al kernel de Jupyter o a su mensajería",
    "display": "actualiza salidas ya mostradas",
    "magia": "comandos mágicos o de shell no permitidos",
    "dinamico": "código dinámico (exec, eval, compile, __import__, timeit, runpy…)",
    "codificado": "descodifica datos ocultos (base64, hex, zlib, codecs, marshal, pickle)",
    "texto_largo": "textos, bytes o listas literales muy largos (datos pegados)",
    "introspeccion": "introspección de marcos, globales o builtins",
    "modulo_arriesgado": "módulos de riesgo",
    "entorno": "busca señales del calificador o escribe ficheros de arranque",
    "sin_analizar": "celdas que no se pudieron analizar",
}

HOOK_ATTRIBUTES = frozenset({
    "events", "input_transformers_cleanup", "input_transformers_post", "input_transformer_manager",
    "ast_transformers", "set_custom_exc", "custom_exceptions", "register_magics", "register_magic_function",
    "set_hook", "excepthook", "displayhook", "pre_run_code_hook", "user_expressions", "showtraceback",
})
KERNEL_ATTRIBUTES = frozenset({"kernel", "comm_manager", "display_pub", "payload_manager", "parent", "iopub_socket",
                               "session", "shell_streams", "config"})
SHELL_CODE_ATTRIBUTES = frozenset({"run_cell", "run_code", "run_ast_nodes", "ex", "ev", "safe_execfile", "push",
                                   "user_ns", "user_global_ns", "run_cell_async", "transform_cell"})
INTROSPECTION_ATTRIBUTES = frozenset({
    "__globals__", "__code__", "__closure__", "__builtins__", "__subclasses__", "__dict__", "__bases__", "__mro__",
    "__loader__", "__spec__", "f_globals", "f_locals", "f_back", "f_builtins", "f_code", "gi_frame", "cr_frame",
    "tb_frame", "co_code", "_getframe", "__setattr__", "__delattr__", "__setitem__",
})
PATHS: dict[str, str] = {  # an exact resolved path (or a path and anything below it, with ".") -> its kind
    "sys.settrace": "traza", "sys.setprofile": "traza", "threading.settrace": "traza", "threading.setprofile": "traza",
    "sys.monitoring": "traza", "sys.addaudithook": "traza", "threading.settrace_all_threads": "traza",
    "sys.modules": "introspeccion", "sys.meta_path": "introspeccion", "sys.path_hooks": "introspeccion",
    "os.system": "magia", "os.popen": "magia", "os.fork": "hilo", "os.forkpty": "hilo", "os.kill": "hilo",
    "os.killpg": "hilo", "os.posix_spawn": "magia", "os.posix_spawnp": "magia", "os.register_at_fork": "hilo",
    "IPython.display.update_display": "display", "IPython.display.DisplayHandle": "display",
    "IPython.display.publish_display_data": "display", "IPython.core.display_functions.update_display": "display",
    "IPython.core.display_functions.DisplayHandle": "display",
    "os._exit": "kernel", "os.abort": "kernel",
    # runners of code held in a string (timeit's own functions are judged by their arguments: _timed_code)
    "timeit.main": "dinamico", "pdb.run": "dinamico", "pdb.runeval": "dinamico", "pdb.runctx": "dinamico",
    "pdb.Pdb": "dinamico", "pdb.main": "dinamico", "bdb.Bdb": "dinamico", "code.InteractiveInterpreter": "dinamico",
    "code.InteractiveConsole": "dinamico", "code.interact": "dinamico", "code.compile_command": "dinamico",
    "codeop.compile_command": "dinamico", "codeop.Compile": "dinamico", "codeop.CommandCompiler": "dinamico",
    "builtins.exec": "dinamico", "builtins.eval": "dinamico", "builtins.compile": "dinamico",
    # decoders of data kept encoded in the notebook
    **dict.fromkeys((
        "base64.b64decode", "base64.standard_b64decode", "base64.urlsafe_b64decode", "base64.b32decode",
        "base64.b32hexdecode", "base64.b16decode", "base64.a85decode", "base64.b85decode", "base64.decodebytes",
        "base64.decode", "binascii.a2b_base64", "binascii.a2b_hex", "binascii.unhexlify", "binascii.a2b_uu",
        "binascii.a2b_qp", "codecs.decode", "codecs.encode", "codecs.getdecoder", "codecs.lookup", "codecs.iterdecode",
        "zlib.decompress", "zlib.decompressobj", "gzip.decompress", "bz2.decompress", "lzma.decompress",
        "marshal.loads", "marshal.load", "pickle.loads", "pickle.load", "pickle.Unpickler", "_pickle.loads",
        "_pickle.load", "dill.loads", "cloudpickle.loads", "quopri.decodestring", "uu.decode",
    ), "codificado"),
}
# Text a notebook needs only to tell grading from a lab session, or to plant code run at start-up.
ENVIRONMENT_TEXT = re.compile(r"IPYTHONDIR|dl-lab|profile_default|startup|site-packages|\.pth\b|sitecustomize|"
                              r"usercustomize|JPY_|JUPYTER_|PYTHONSTARTUP|/proc/")
PATH_PREFIXES: dict[str, str] = {"os.exec": "magia", "os.spawn": "magia", "runpy.": "dinamico"}
# timeit's functions run their `stmt` and `setup` when these are strings: a literal is scanned as code, a function
# (a lambda, a name the notebook defines with def, functools.partial) is fine, anything else is code in a string.
TIMEIT_RUNNERS = frozenset({"timeit.timeit", "timeit.repeat", "timeit.Timer", "torch.utils.benchmark.Timer",
                            "torch.utils.benchmark.utils.timer.Timer"})
CALLABLE_FACTORIES = frozenset({"functools.partial"})
# str/bytes methods whose codec undoes an encoding: .decode("unicode_escape"), codecs' "rot13", ...
HIDING_CODECS = re.compile(r"^(unicode[_-]?escape|raw[_-]?unicode[_-]?escape|rot[_-]?13|base[_-]?64|hex|zlib|bz2|uu|"
                           r"quopri|string[_-]?escape|punycode)(_codec)?$", re.IGNORECASE)
LONG_LITERAL = 2_000  # a string or bytes literal longer than this is reported, with its length
LONG_SEQUENCE = 1_000  # a list, tuple, set or dict display with more elements is reported
CELL_LITERAL_CHARS = 5_000  # the lab's cells hold at most ~600 characters of literals each
NOTEBOOK_LITERAL_CHARS = 20_000  # and ~3000 in a whole notebook
MODULE_KINDS: dict[str, str] = {  # an imported module (or anything below it) -> its kind
    "in_image": "interno", "judge": "interno", "labs": "interno",
    "threading": "hilo", "_thread": "hilo", "multiprocessing": "hilo", "concurrent": "hilo", "asyncio": "hilo",
    "sched": "hilo", "signal": "hilo", "atexit": "hilo", "subprocess": "magia", "pty": "magia",
    "ctypes": "ctypes", "_ctypes": "ctypes", "cffi": "ctypes",
    "trace": "traza", "bdb": "traza", "cProfile": "traza", "profile": "traza", "_lsprof": "traza",
    "sys.monitoring": "traza", "torch.multiprocessing": "hilo",
    "ipykernel": "kernel", "zmq": "kernel", "jupyter_client": "kernel", "comm": "kernel", "tornado": "kernel",
    "nbclient": "kernel", "traitlets": "kernel", "IPython": "kernel", "jupyter_core": "kernel",
    "importlib": "modulo_arriesgado", "pickle": "modulo_arriesgado", "_pickle": "modulo_arriesgado",
    "cloudpickle": "modulo_arriesgado", "dill": "modulo_arriesgado", "marshal": "modulo_arriesgado",
    "gc": "modulo_arriesgado", "types": "modulo_arriesgado", "builtins": "modulo_arriesgado",
    "code": "modulo_arriesgado", "codeop": "modulo_arriesgado", "dis": "modulo_arriesgado",
    "copyreg": "modulo_arriesgado", "pkgutil": "modulo_arriesgado", "zipimport": "modulo_arriesgado",
    "runpy": "modulo_arriesgado", "mmap": "modulo_arriesgado", "shelve": "modulo_arriesgado",
    "imp": "modulo_arriesgado", "weakref": "modulo_arriesgado",
    "__main__": "introspeccion",
}
# What the lab's own cells import: allowed although their parents are watched (in_image.measure.peaks: the devices' peak
# figures, a data table lab 03 reads).
ALLOWED_IMPORTS = re.compile(r"^(in_image\.measure\.peaks(\.\w+)?|practica(\.gpu(\..*)?|\.lab\d\d(\.comprobar)?)?"
                             r"|IPython((\.core)?\.display(\.(display|clear_output|HTML|Markdown|Image|Math|Latex|SVG|JSON|"
                             r"Audio|Video|IFrame|Pretty|FileLink|FileLinks|Code))?|\.get_ipython)?)$")
PROJECT_ROOTS = frozenset({"practica"})
ALLOWED_MAGICS = frozenset({"pip", "matplotlib", "pinfo", "pinfo2", "psearch"})
TIMED_MAGICS = frozenset({"time", "timeit"})
EXPANDED_VARIABLE = re.compile(r"\$\{?[A-Za-z_]|\{\s*[A-Za-z_][\w.\[\]'\"()]*\s*\}")  # IPython fills these in
TIMED_OPTIONS = re.compile(r"^\s*(?:(?:-[nrp]\s*\d+|-[tcqo])(?:\s+|$))*")  # %timeit -n 3 -r 1 code: the options
DYNAMIC_CALLS = frozenset({"exec", "eval", "compile", "__import__", "execfile"})
INTROSPECTION_CALLS = frozenset({"globals", "vars", "locals"})
MUTATORS = frozenset({"update", "setdefault", "__setitem__", "__delitem__", "clear", "pop", "popitem", "append",
                      "extend", "insert", "remove", "add", "discard"})
# Settings an honest notebook changes on a module: not reported.
ALLOWED_SETTINGS = ("torch.backends.", "matplotlib.rcParams", "matplotlib.pyplot.rcParams", "os.environ",
                    "pandas.options.", "numpy.random.seed", "warnings.filters")
# Libraries whose functions share names with mutators (numpy.append): their calls are not mutations.
LIBRARY_ROOTS = frozenset({"numpy", "torch", "scipy", "sklearn", "pandas", "matplotlib", "torchvision"})


@dataclass(frozen=True)
class Finding:
    kind: str
    detail: str
    cell: int


def _short(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    clean = "".join(c if c.isprintable() else "?" for c in one_line)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _dotted(node: ast.expr) -> str:
    """A short source-like text of an expression, for a finding's detail."""
    try:
        return _short(ast.unparse(node))
    except Exception:  # a tree ast.unparse cannot write back is still reported
        return type(node).__name__


@functools.cache
def _transformer() -> Any:
    from IPython.core.inputtransformer2 import TransformerManager  # noqa: PLC0415 (imported once, when first needed)

    return TransformerManager()  # type: ignore[no-untyped-call]


def _ipython_to_python(source: str) -> str:
    """The cell as IPython would run it: magics, `!` and `?` turned into get_ipython() calls (text only);
    the source itself when it has none of these or IPython cannot transform it (Python then reports the error)."""
    if not re.search(r"[%!?]", source):
        return source
    try:
        return str(_transformer().transform_cell(source))
    except Exception:  # IPython's tokenizer fails on some broken cells: ast.parse reports them
        return source


def _constant(node: ast.expr | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _module_kind(path: str) -> str | None:
    """The kind of an import of `path`, or None when it is not watched."""
    if ALLOWED_IMPORTS.match(path):
        return None
    parts = path.split(".")
    if parts[0] in PROJECT_ROOTS or any("judge" in part for part in parts):
        return "interno"
    for end in range(len(parts), 0, -1):
        kind = MODULE_KINDS.get(".".join(parts[:end]))
        if kind:
            return kind
    return None


def _path_kind(path: str) -> str | None:
    """The kind of a use of `path` (a function or attribute of a module), or None."""
    return PATHS.get(path) or next((k for prefix, k in PATH_PREFIXES.items() if path.startswith(prefix)), None)


class _Scanner(ast.NodeVisitor):
    """Walks the cells in order; `names` maps a notebook name to what it is bound to (an import, a shell)."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}
        self.modules: set[str] = set()  # names an `import module` statement binds
        self.functions: set[str] = set()  # names the notebook binds to a def, a class or a lambda
        self.findings: list[Finding] = []
        self.cell = 0
        self.depth = 0
        self.cell_literals = 0  # characters of string and bytes literals in the current cell
        self.notebook_literals = 0
        self.cell_long_literal = False  # a literal of the current cell was reported on its own

    def add(self, kind: str, detail: str) -> None:
        self.findings.append(Finding(kind, _short(detail), self.cell))

    # ---- cells ------------------------------------------------------------------------------------
    def scan_source(self, source: str) -> None:
        if len(source) > MAX_CELL_CHARS:
            self.add("sin_analizar", f"celda de {len(source)} caracteres")
            return
        try:
            tree = ast.parse(_ipython_to_python(source))
        except (SyntaxError, ValueError) as error:
            self.add("sin_analizar", f"error de sintaxis: {getattr(error, 'msg', error)}")
            return
        except (RecursionError, MemoryError):
            self.add("sin_analizar", "anidamiento demasiado profundo")
            return
        try:
            for statement in tree.body:
                self.visit(statement)
                self._rebind(statement)
        except RecursionError:
            self.add("sin_analizar", "anidamiento demasiado profundo")

    def start_cell(self, index: int) -> None:
        self.cell = index
        self.cell_literals = 0
        self.cell_long_literal = False

    def end_cell(self) -> None:
        """Many shorter literals in one cell, or in the whole notebook, are pasted data too."""
        before = self.notebook_literals
        self.notebook_literals += self.cell_literals
        if self.cell_literals > CELL_LITERAL_CHARS and not self.cell_long_literal:
            self.add("texto_largo", f"literales de {self.cell_literals} caracteres en una celda")
        elif before <= NOTEBOOK_LITERAL_CHARS < self.notebook_literals:
            self.add("texto_largo", f"literales de más de {NOTEBOOK_LITERAL_CHARS} caracteres en el cuaderno")

    def _rebind(self, statement: ast.stmt) -> None:
        """A top-level `name = value` that is no longer a module or shell forgets the name."""
        if isinstance(statement, ast.Assign) and self.resolve(statement.value) is None:
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    self.names.pop(target.id, None)

    # ---- what an expression is ----------------------------------------------------------------------
    def resolve(self, node: ast.expr) -> str | None:
        """The dotted path an expression stands for when it is (part of) an imported module or the shell."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id) or ("builtins" if node.id == "__builtins__" else None)
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Subscript):
            key = _constant(node.slice)
            base = self.resolve(node.value)
            if base == "sys.modules" and key:
                return key
            return f"{base}[]" if base else None
        if isinstance(node, ast.Call):
            return self._resolve_call(node)
        return None

    def _resolve_call(self, node: ast.Call) -> str | None:
        function = node.func
        name = function.id if isinstance(function, ast.Name) else None
        path = self.resolve(function)
        first = _constant(node.args[0]) if node.args else None
        if name == "get_ipython" or path in ("IPython.get_ipython", "IPython.core.getipython.get_ipython"):
            return SHELL
        if (name == "__import__" or path == "importlib.import_module") and first:
            return first
        if name == "getattr" and len(node.args) >= 2:
            base, attribute = self.resolve(node.args[0]), _constant(node.args[1])
            return f"{base}.{attribute}" if base and attribute else None
        if name == "vars" and len(node.args) == 1:
            base = self.resolve(node.args[0])
            return f"{base}.__dict__" if base else None
        return None

    # ---- imports --------------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._imported(alias.name)
            if alias.asname:
                self.names[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.names[root] = root
            self.modules.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            self.add("interno", f"import relativo: from {'.' * node.level}{node.module or ''}")
            return
        for alias in node.names:
            if alias.name == "*":
                kind = _module_kind(node.module) or ("interno" if node.module.split(".")[0] in PROJECT_ROOTS else None)
                if kind:
                    self.add(kind, f"from {node.module} import *")
                continue
            path = f"{node.module}.{alias.name}"
            self._imported(path)
            self.names[alias.asname or alias.name] = path

    def _imported(self, path: str) -> None:
        kind = _path_kind(path) or _module_kind(path)
        if kind:
            self.add(kind, f"import {path}")

    # ---- uses -------------------------------------------------------------------------------------------
    def visit_Attribute(self, node: ast.Attribute) -> None:
        self._attribute(node.attr, self.resolve(node.value), node)
        self.generic_visit(node)

    def _attribute(self, attribute: str, base: str | None, node: ast.expr) -> None:
        path = f"{base}.{attribute}" if base else None
        if attribute in HOOK_ATTRIBUTES and (base == SHELL or attribute.startswith("input_transformer")
                                              or attribute in ("ast_transformers", "set_custom_exc", "register_magics")):
            self.add("gancho", f"{'get_ipython()' if base == SHELL else '…'}.{attribute}")
        elif base == SHELL and attribute in KERNEL_ATTRIBUTES:
            self.add("kernel", f"get_ipython().{attribute}")
        elif base == SHELL and attribute in SHELL_CODE_ATTRIBUTES:
            self.add("dinamico", f"get_ipython().{attribute}")
        elif attribute in INTROSPECTION_ATTRIBUTES:
            self.add("introspeccion", _dotted(node))
        elif path:
            self._path(path)

    def _path(self, path: str) -> None:
        kind = _path_kind(path)
        if kind is None and path.split(".", maxsplit=1)[0] in PROJECT_ROOTS and _module_kind(path.removesuffix("[]")):
            kind = "interno"
        if kind:
            self.add(kind, path)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str | bytes):
            size = len(node.value)
            self.cell_literals += size
            if size > LONG_LITERAL:
                self.cell_long_literal = True
                self.add("texto_largo", f"{'bytes' if isinstance(node.value, bytes) else 'texto'} literal de {size} "
                                        f"{'bytes' if isinstance(node.value, bytes) else 'caracteres'}")
        elif isinstance(node.value, int) and not isinstance(node.value, bool):
            size = (abs(node.value).bit_length() + 3) // 4  # its hexadecimal digits: a huge number is pasted bytes too
            self.cell_literals += size if size > 16 else 0
            if size > LONG_LITERAL:
                self.cell_long_literal = True
                self.add("texto_largo", f"número literal de {size} cifras hexadecimales")
        if isinstance(node.value, str) and (found := ENVIRONMENT_TEXT.search(node.value[:10_000])):
            self.add("entorno", repr(found.group(0)))

    def _display(self, node: ast.List | ast.Tuple | ast.Set | ast.Dict, size: int) -> None:
        if size > LONG_SEQUENCE:
            self.add("texto_largo", f"{type(node).__name__.lower()} literal de {size} elementos")
        elements = node.values if isinstance(node, ast.Dict) else node.elts
        for element in elements:  # [sys][0]: a module reached through a container, where no name says which
            if isinstance(element, ast.Name) and element.id in self.modules and element.id in self.names:
                self.add("introspeccion", f"el módulo {self.names[element.id]} dentro de una {type(node).__name__.lower()}")
        self.generic_visit(node)

    def visit_List(self, node: ast.List) -> None:
        self._display(node, len(node.elts))

    def visit_Tuple(self, node: ast.Tuple) -> None:
        self._display(node, len(node.elts))

    def visit_Set(self, node: ast.Set) -> None:
        self._display(node, len(node.elts))

    def visit_Dict(self, node: ast.Dict) -> None:
        self._display(node, len(node.keys))

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        if node.name in ("__torch_function__", "__torch_dispatch__", "__array_function__", "__array_ufunc__"):
            self.add("modulo_modificado", f"redefine {node.name}")
        self.functions.add(node.name)
        self.generic_visit(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self.functions.add(node.name)
        self.generic_visit(node)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.functions.add(node.name)
        self.generic_visit(node)

    def visit_arg(self, node: ast.arg) -> None:
        self.functions.discard(node.arg)  # a parameter may hold anything
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Store | ast.Del):  # bound to something else (=, for, with, :=, +=, del...)
            self.functions.discard(node.id)
        if node.id in ("__builtins__", "update_display", "DisplayHandle", "publish_display_data"):
            self.add("introspeccion" if node.id == "__builtins__" else "display", node.id)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if self.resolve(node) == "__main__":
            self.add("introspeccion", "sys.modules['__main__']")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        function = node.func
        name = function.id if isinstance(function, ast.Name) else None
        if name in DYNAMIC_CALLS:
            self.add("dinamico", f"{name}(…)")
        elif name in INTROSPECTION_CALLS:
            self.add("introspeccion", f"{name}()")
        elif name in ("setattr", "delattr", "getattr", "hasattr") and node.args:
            self._reflection(name, node)
        if any(keyword.arg == "display_id" for keyword in node.keywords):
            self.add("display", "display(…, display_id=…)")
        if isinstance(function, ast.Attribute):
            self._method_call(function, node)
            self._decoding_method(function, node)
        if (path := self.resolve(function)) in TIMEIT_RUNNERS:
            self._timed_code(str(path), node)
        self.generic_visit(node)

    def _decoding_method(self, function: ast.Attribute, node: ast.Call) -> None:
        """bytes.fromhex(…), bytearray.fromhex(…), and .decode/.encode with a codec that hides text."""
        if function.attr == "fromhex" and isinstance(function.value, ast.Name) and function.value.id in (
                "bytes", "bytearray") and function.value.id not in self.names:
            self.add("codificado", f"{function.value.id}.fromhex(…)")
        elif function.attr in ("decode", "encode") and node.args:
            codec = _constant(node.args[0])
            if codec and HIDING_CODECS.match(codec):
                self.add("codificado", f".{function.attr}({codec!r})")

    def _timed_code(self, path: str, node: ast.Call) -> None:
        """timeit.timeit/repeat/Timer: a literal stmt or setup is read as code; a function is fine; anything else
        is code the scan cannot read (a string built or decoded at run time)."""
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        for position, name in enumerate(("stmt", "setup")):
            argument = node.args[position] if len(node.args) > position else keywords.get(name)
            if argument is None or self._is_function(argument):
                continue
            text = _constant(argument)
            if text is not None:
                self._scan_nested(text)
            else:
                self.add("dinamico", f"{path}({_dotted(argument)}): código en un texto")

    def _is_function(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Lambda):
            return True
        if isinstance(node, ast.Name):
            return node.id in self.functions
        return isinstance(node, ast.Call) and self.resolve(node.func) in CALLABLE_FACTORIES

    def _reflection(self, name: str, node: ast.Call) -> None:
        base = self.resolve(node.args[0])
        attribute = _constant(node.args[1]) if len(node.args) > 1 else None
        if name in ("setattr", "delattr") and base and not self._allowed_setting(f"{base}.{attribute or ''}"):
            self.add("modulo_modificado", f"{name}({base}, {repr(attribute) if attribute else '…'})")
        elif name in ("setattr", "delattr") and base is None and attribute is None and len(node.args) > 1 and not (
                isinstance(node.args[0], ast.Name) and node.args[0].id in ("self", "cls")):
            self.add("modulo_modificado", f"{name}(…, …): objeto y atributo calculados")
        elif attribute is not None:
            self._attribute(attribute, base, node)
        elif base:
            self.add("introspeccion", f"{name}({base}, …)")

    def _method_call(self, function: ast.Attribute, node: ast.Call) -> None:
        receiver = self.resolve(function.value)
        if function.attr in ("run_line_magic", "run_cell_magic", "magic") or (
                receiver == SHELL and function.attr in ("system", "getoutput", "system_piped", "system_raw")):
            self._magic(function.attr, node)
        elif (function.attr in MUTATORS and receiver and not isinstance(function.value, ast.Name)
              and receiver.split(".")[0] not in LIBRARY_ROOTS and not self._allowed_setting(receiver)):
            self.add("gancho" if receiver.startswith(SHELL) else "modulo_modificado", f"{receiver}.{function.attr}(…)")

    def _magic(self, method: str, node: ast.Call) -> None:
        arguments = [_constant(argument) for argument in node.args]
        if method in ("system", "getoutput", "system_piped", "system_raw"):
            self.add("magia", f"!{arguments[0] or '…' if arguments else ''}")
            return
        if None in arguments or not arguments:
            self.add("magia", f"{method}(…) con argumentos calculados")
            return
        texts = [str(a) for a in arguments]
        if method == "magic":  # the old API: one string, the name first
            name, _, rest = texts[0].partition(" ")
            texts = [name, rest]
        name = texts[0].strip().lstrip("%")
        if name in TIMED_MAGICS and any(EXPANDED_VARIABLE.search(text) for text in texts[1:2]):
            self.add("dinamico", f"%{name} con variables expandidas ($x, {{x}})")
        elif name in TIMED_MAGICS:
            self._scan_nested("\n".join(TIMED_OPTIONS.sub("", text) for text in texts[1:]))
        elif name not in ALLOWED_MAGICS:
            self.add("magia", f"%{name}")

    def _scan_nested(self, code: str) -> None:
        if self.depth >= MAX_MAGIC_DEPTH:
            self.add("sin_analizar", "demasiadas magias anidadas")
            return
        self.depth += 1
        try:
            self.scan_source(code)
        finally:
            self.depth -= 1

    # ---- assignments ----------------------------------------------------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        value = self.resolve(node.value)
        for target in node.targets:
            self._target(target)
            if value and isinstance(target, ast.Name):
                self.names[target.id] = value
        self.generic_visit(node)
        if isinstance(node.value, ast.Lambda):
            self.functions.update(t.id for t in node.targets if isinstance(t, ast.Name))

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._target(target)
        self.generic_visit(node)

    def _target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                self._target(element)
            return
        if isinstance(target, ast.Starred):
            self._target(target.value)
            return
        if not isinstance(target, ast.Attribute | ast.Subscript):
            return
        path = self.resolve(target)
        if path and not self._allowed_setting(path):
            self.add("gancho" if path.endswith(("excepthook", "displayhook")) else "modulo_modificado", path)

    @staticmethod
    def _allowed_setting(path: str) -> bool:
        return path.startswith(ALLOWED_SETTINGS)


def _code_cells(cells: Iterable[Any]) -> Iterator[tuple[int, str]]:
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        if "injected-parameters" in (cell.get("metadata") or {}).get("tags", []):
            continue
        source = cell.get("source", "")
        yield index, "".join(map(str, source)) if isinstance(source, list) else str(source)


def scan_sources(sources: Iterable[tuple[int, str]]) -> list[Finding]:
    """Every finding in the (cell index, source) pairs, read in order (names bound in a cell stay bound)."""
    scanner = _Scanner()
    for index, source in sources:
        scanner.start_cell(index)
        scanner.scan_source(source)
        scanner.end_cell()
    return scanner.findings


def grouped(findings: list[Finding]) -> list[dict[str, Any]]:
    """One entry per kind: {kind, message (Spanish: heading and details), cells}, in KINDS' order, capped."""
    entries = []
    for kind, heading in KINDS.items():
        mine = [f for f in findings if f.kind == kind]
        if not mine:
            continue
        details = list(dict.fromkeys(f.detail for f in mine))
        shown = ", ".join(details[:MAX_DETAILS]) + (f" y {len(details) - MAX_DETAILS} más" if len(details) > MAX_DETAILS else "")
        cells = sorted({f.cell for f in mine})[:MAX_CELLS]
        entries.append({"kind": kind, "message": f"{heading}: {shown}"[:400], "cells": cells})
    return entries


def scan_notebook(notebook: Any) -> list[dict[str, Any]]:
    """The grouped findings of a notebook (a dict with `cells`), the injected parameters cell left out."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    return grouped(scan_sources(_code_cells(cells if isinstance(cells, list) else [])))


def scan_submission(notebook: Any) -> list[dict[str, Any]]:
    """scan_notebook that never raises: a scanner failure is itself reported, the grading goes on."""
    try:
        return scan_notebook(notebook)
    except Exception as error:  # the evidence must never cost the student a grade
        log.exception("static scan failed")
        return [{"kind": "sin_analizar", "message": f"{KINDS['sin_analizar']}: {type(error).__name__}", "cells": []}]


def from_report(value: Any) -> list[dict[str, Any]]:
    """The `static_evidence` of a result read back (host side): only well-formed entries, capped."""
    entries = []
    for entry in value[: len(KINDS)] if isinstance(value, list) else []:
        if isinstance(entry, dict) and entry.get("kind") in KINDS and isinstance(entry.get("message"), str):
            cells = [c for c in entry.get("cells") or [] if isinstance(c, int) and not isinstance(c, bool) and c >= 0]
            entries.append({"kind": entry["kind"], "message": _short(entry["message"], 400), "cells": cells[:MAX_CELLS]})
    return entries
