"""The student's kernel side of checking: call the student's code on the given cases and hand back data.

`run_cases` is what `comprobar` and the judge share: for each case, in a clean torch state
(in_image.exercises.isolation), the lab's probe calls the student's functions or reads their
variables, and what comes back is encoded as wire data (in_image.exercises.wire). `answer` is the
judge's entry point: it runs the cases the judge sent and publishes the answers as ONE display
message of type wire.ANSWERS_MIME, which the judge reads from the cell's outputs. The judge trusts
nothing here: it compares the answers with what the inputs it chose require, in its own process.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from in_image.exercises import wire
from in_image.exercises.isolation import clean_torch_state


class Missing(Exception):
    """The notebook does not define a name the exercise needs."""


class Notebook:
    """The notebook's namespace as a probe sees it: names it needs, or Missing with a Spanish message."""

    def __init__(self, namespace: Mapping[str, Any]) -> None:
        self.namespace = namespace

    def value(self, name: str) -> Any:
        if name not in self.namespace:
            raise Missing(f"no encuentro «{name}»: escribe el ejercicio y ejecuta su celda")
        return self.namespace[name]

    def function(self, name: str) -> Callable[..., Any]:
        found = self.value(name)
        if not callable(found):
            raise TypeError(f"«{name}» debe ser una función (es {type(found).__name__})")
        result: Callable[..., Any] = found
        return result

    def get(self, name: str, default: Any = None) -> Any:
        return self.namespace.get(name, default)


Probe = Callable[[Notebook, Mapping[str, Any]], Any]


def attempt(function: Callable[..., Any], *args: Any) -> Any:
    """function(*args), or a wire.Raised with what it raised: one failing call does not hide the others' answers.

    A missing name or a NotImplementedError still ends the case: the exercise is not attempted.
    """
    try:
        return function(*args)
    except (Missing, NotImplementedError):
        raise
    except Exception as error:  # the student's code may raise anything: it is part of the answer
        return wire.Raised(f"{type(error).__name__}: {error}"[:400])


def run_cases(probe: Probe, namespace: Mapping[str, Any], cases: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One wire document per case: {"kind": "answer"|"missing"|"pending"|"raised", "value", "message"}."""
    notebook = Notebook(namespace)
    documents = []
    for inputs in cases:
        with clean_torch_state():
            documents.append(_run_one(probe, notebook, inputs))
    return documents


def _run_one(probe: Probe, notebook: Notebook, inputs: Mapping[str, Any]) -> Any:
    try:
        value = probe(notebook, inputs)
    except Missing as missing:
        return {"kind": "missing", "message": str(missing)}
    except NotImplementedError as pending:
        return {"kind": "pending", "message": str(pending) or "ejercicio sin hacer"}
    except Exception as error:  # the student's code may raise anything: that is the answer, not a crash
        return {"kind": "raised", "message": f"{type(error).__name__}: {error}"[:400]}
    try:
        return {"kind": "answer", "value": wire.encode(value)}
    except Exception as error:  # an object whose attributes raise when read: described as such
        return {"kind": "raised", "message": f"el resultado no se puede leer ({type(error).__name__}: {error})"[:400]}


def answer(lab: str, exercise: str, request_file: str, *, originals: Mapping[str, Any] | None = None) -> None:
    """The judge's request: run the cases in the file `request_file` (wire JSON, written for this request
    only, so that no input is in the request cell's source) and publish the answers."""
    with open(request_file, encoding="utf-8") as file:
        cases = wire.decode(json.load(file))
    probes: Mapping[str, Probe] = importlib.import_module(f"practica.lab{lab}").PROBES
    shell = _shell()
    documents = run_cases(probes[exercise], shell.user_ns, cases)
    _publish({"exercise": exercise, "answers": documents})


def environment(*, originals: Mapping[str, Any] | None = None) -> None:
    """Publish the kernel's facts: Python, torch, torchvision and the device the notebook computes on."""
    import platform  # noqa: PLC0415 (only this call needs it)

    torch = sys.modules.get("torch") or importlib.import_module("torch")
    device = f"cuda ({torch.cuda.get_device_name(0)})" if torch.cuda.is_available() else "cpu"
    from in_image.packages import torchvision_status  # noqa: PLC0415 (only this call needs it)

    facts = {"python": platform.python_version(), "torch": torch.__version__, "torchvision": torchvision_status(),
             "device": device}
    _publish({"environment": {key: str(value)[:200] for key, value in facts.items()}})  # the judge's limit per fact


def evidence(lab: str, *, originals: Mapping[str, Any] | None = None) -> None:
    """Publish the signs of interference with checking (in_image.exercises.evidence), for the instructor: in the
    checking modules the notebook imported (`originals`, set aside while this request runs) and everywhere else."""
    from in_image.exercises.evidence import signs  # noqa: PLC0415 (only the judge asks for them)

    _publish({"evidence": signs(_shell().user_ns, lab=lab, modules=originals)})


def _shell() -> Any:
    from IPython import get_ipython  # noqa: PLC0415 (kernel side: IPython is there when this runs)

    shell = get_ipython()
    if shell is None:
        raise RuntimeError("answer() runs inside an IPython kernel")
    return shell


def _publish(payload: Mapping[str, Any]) -> None:
    from IPython.display import publish_display_data  # noqa: PLC0415 (kernel side)

    publish_display_data({wire.ANSWERS_MIME: json.loads(json.dumps(payload))})  # type: ignore[no-untyped-call]
