"""Asking the student's kernel for data: one cell per request, one display message back.

The judge sends a cell that calls in_image.exercises.answering (`answer`, `environment` or
`evidence`); the answer is the single display output of type wire.ANSWERS_MIME in that cell's outputs.
None, several, or a malformed one is `NoAnswer`. The code sent holds only the lab, the exercise and
the path of a one-time request file (a random name in a folder the kernel cannot list) that holds the
case inputs: no input value appears in the cell's source, where an IPython hook could read it; nothing
of the expected results or of the hidden tests' source reaches the kernel.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from in_image.exercises import wire
from in_image.judge.kernel import CappedClient

ANSWER_LIMIT_BYTES = 40_000_000  # what one answer may weigh (a model's weights as base64 JSON)
MODULE = "in_image.exercises.answering"


class NoAnswer(Exception):
    """The kernel gave no single, readable answer (its message says why, in Spanish)."""


# The request runs the checking package as it is on disk, never the modules the notebook imported (and could
# have altered): the first-party modules are set aside and loaded afresh by a finder that this request defines (so no
# finder, loader or cache the notebook could have changed takes part), compiled from their source files under the
# package roots; they serve this request, then the notebook's modules are put back, so its later cells see what they
# saw. Builtins are reached through the builtins module: a notebook variable named `open` or `compile` is not used.
_REQUEST_TEMPLATE = """\
def __dl_lab_request__():
    import builtins
    import sys
    from importlib.machinery import BuiltinImporter, FrozenImporter, ModuleSpec, PathFinder
    roots, first_party = {roots!r}, {first_party!r}

    class SourceFinder:
        @builtins.staticmethod
        def find_spec(name, path=None, target=None):
            if name.partition(".")[0] not in first_party:
                return None
            for root in roots:
                base = root + "/" + "/".join(name.split("."))
                for file, package in ((base + "/__init__.py", True), (base + ".py", False)):
                    try:
                        with builtins.open(file, "rb") as handle:
                            source = handle.read()
                    except OSError:
                        continue
                    spec = ModuleSpec(name, SourceFinder, origin=file, is_package=package)
                    spec.has_location, spec.loader_state = True, (file, source)
                    if package:
                        spec.submodule_search_locations = [base]
                    return spec
            return None

        @builtins.staticmethod
        def create_module(spec):
            return None

        @builtins.staticmethod
        def exec_module(module):
            file, source = module.__spec__.loader_state
            builtins.exec(builtins.compile(source, file, "exec", dont_inherit=True), module.__dict__)

    originals = {{name: module for name, module in sys.modules.items() if name.partition(".")[0] in first_party}}
    path, finders, cache = builtins.list(sys.path), builtins.list(sys.meta_path), builtins.dict(sys.path_importer_cache)
    for name in originals:
        del sys.modules[name]
    sys.meta_path[:] = [SourceFinder, BuiltinImporter, FrozenImporter, PathFinder]
    try:
        {call}originals=originals)
    finally:
        for name in [name for name in sys.modules if name.partition(".")[0] in first_party]:
            del sys.modules[name]
        sys.modules.update(originals)
        sys.path[:], sys.meta_path[:] = path, finders
        sys.path_importer_cache.clear()
        sys.path_importer_cache.update(cache)
try:
    __dl_lab_request__()
finally:
    del __dl_lab_request__
"""
FIRST_PARTY = ("in_image", "practica")


def package_roots() -> list[str]:
    """The folders that hold the checking packages (in_image, practica), as this process imports them."""
    import in_image  # noqa: PLC0415
    import practica  # noqa: PLC0415

    roots = [str(Path(module.__file__ or "").resolve().parent.parent) for module in (practica, in_image)]
    return list(dict.fromkeys(roots))


def request_call(function: str) -> str:
    """How the request's call of answering.<function> starts (its arguments follow)."""
    return f"__import__({MODULE!r}, fromlist=['{function}']).{function}("


def request_code(function: str, *arguments: str) -> str:
    """A cell calling answering.<function>(arguments) of freshly imported checking packages, leaving nothing in the
    notebook's namespace and its modules as they were."""
    args = "".join(f"{argument!r}, " for argument in arguments)
    return _REQUEST_TEMPLATE.format(roots=package_roots(), first_party=FIRST_PARTY,
                                    call=request_call(function) + args)


def ask(client: CappedClient, notebook: NotebookNode, code: str, *, timeout_s: float) -> dict[str, Any]:
    """Run code in the kernel as a cell of its own (not kept in the notebook); the payload it published.

    CellTimeoutError and DeadKernelError pass through: the caller decides what they mean.
    """
    cell: NotebookNode = nbformat.v4.new_code_cell(code)  # type: ignore[no-untyped-call]
    saved_timeout = client.timeout
    client.requesting, client.request_limit, client.request_bytes = True, ANSWER_LIMIT_BYTES, 0
    client.timeout = int(max(1, timeout_s))
    # nbclient stores the executed cell at its index: a slot at the end, removed right after, so that
    # the judge's cells never land in the student's notebook.
    notebook.cells.append(cell)
    try:
        client.execute_cell(cell, len(notebook.cells) - 1, store_history=False)
    finally:
        notebook.cells.pop()
        truncated = client.request_bytes > ANSWER_LIMIT_BYTES
        client.requesting, client.timeout = False, saved_timeout
    if truncated:
        raise NoAnswer(f"la respuesta del cuaderno superó {ANSWER_LIMIT_BYTES // 1_000_000} MB")
    return _payload(cell)


def _payload(cell: NotebookNode) -> dict[str, Any]:
    answers = [o["data"][wire.ANSWERS_MIME] for o in cell.outputs
               if o.get("output_type") == "display_data" and wire.ANSWERS_MIME in o.get("data", {})]
    if len(answers) != 1 or not isinstance(answers[0], dict):
        raise NoAnswer(_error_text(cell) or f"el cuaderno dio {len(answers)} respuestas en lugar de una")
    payload: dict[str, Any] = answers[0]
    return payload


def _error_text(cell: NotebookNode) -> str:
    for output in cell.outputs:
        if output.get("output_type") == "error":
            return f"la comprobación falló en el cuaderno: {output.get('ename')}: {output.get('evalue')}"[:300]
    return ""


def encode_request(cases: list[dict[str, Any]]) -> str:
    """The case inputs as wire JSON (numpy arrays as raw bytes), for answering.answer."""
    return json.dumps(wire.encode(cases), separators=(",", ":"))


@contextlib.contextmanager
def request_file(folder: Path, cases: list[dict[str, Any]], *, owner: list[int] | None) -> Iterator[Path]:
    """A file of the case inputs under a random name in folder, readable by the kernel's user; removed after."""
    path = folder / f"{secrets.token_hex(16)}.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(encode_request(cases))
        os.chmod(path, 0o400)  # before the chown: root without CAP_FOWNER may not chmod another user's file
        if owner:
            os.chown(path, owner[0], owner[1])
        yield path
    finally:
        path.unlink(missing_ok=True)


def request_folder(rundir: Path) -> Path:
    """Where request files go: the kernel's user may open a file it is told the name of, never list them."""
    folder = rundir / "requests"
    folder.mkdir(mode=0o711, exist_ok=True)
    os.chmod(folder, 0o711)
    return folder
