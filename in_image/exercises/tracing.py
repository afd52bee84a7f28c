"""Kernel side: tensors that note what the student's code does with them.

A traced tensor records each torch operation run on it (and on the tensors made from it), with the grad
mode it ran in and, for `.to(...)`, the device asked for: the probes send the judge these operations,
which it compares with what the exercise asks (autograd called, a computation inside `torch.no_grad()`,
each batch sent to the device it was given).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import torch

_QUIET = frozenset({"__get__", "__set__", "__repr__", "__format__", "tolist", "numel", "dim", "size", "__len__",
                    "__iter__", "__getitem__", "__bool__", "__hash__", "__eq__", "stack", "__reduce_ex__",
                    "__array__", "item", "shape", "data_ptr", "is_floating_point"})


class Traced(torch.Tensor):
    """A tensor whose torch operations are noted in `Traced.operations` as (name, grad enabled, device asked)."""

    operations: ClassVar[list[tuple[str, bool, str | None]]] = []

    @classmethod
    def __torch_function__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name not in _QUIET:
            cls.operations.append((name, torch.is_grad_enabled(), _device_asked(name, args, kwargs)))
        return super().__torch_function__(func, types, args, kwargs)  # type: ignore[no-untyped-call]


def _device_asked(name: str, args: Any, kwargs: Any) -> str | None:
    if name != "to":
        return None
    for value in (*args[1:], kwargs.get("device")):
        if isinstance(value, torch.device | str):
            return str(value)
        if isinstance(value, torch.Tensor):
            return str(value.device)
    return None


def traced(value: torch.Tensor, *, reset: bool = True) -> torch.Tensor:
    """`value` as a traced tensor; `reset` starts a new record."""
    if reset:
        Traced.operations = []
    return value.as_subclass(Traced)


def plain(value: Any) -> Any:
    """A traced tensor back as a plain one (anything else unchanged)."""
    return value.as_subclass(torch.Tensor) if isinstance(value, torch.Tensor) else value


@contextmanager
def replaced(namespace: Any, name: str, value: Any) -> Iterator[None]:
    """The notebook's global `name` is `value` for a while (in the namespace the student's function reads): the
    judge's choice (a device, a stand-in for an earlier exercise's function) instead of the student's."""
    missing = object()
    real = namespace.get(name, missing)
    namespace[name] = value
    try:
        yield
    finally:
        if real is missing:
            del namespace[name]
        else:
            namespace[name] = real


@contextmanager
def loads_noted() -> Iterator[list[str | None]]:
    """torch.load notes the map_location of each call (as text, None without one) while the block runs."""
    real: Callable[..., Any] = torch.load
    noted: list[str | None] = []

    def load(*args: Any, **kwargs: Any) -> Any:
        where = kwargs.get("map_location", args[1] if len(args) > 1 else None)
        noted.append(None if where is None else str(where))
        return real(*args, **kwargs)

    torch.load = load
    try:
        yield noted
    finally:
        torch.load = real
