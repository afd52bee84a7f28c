"""Kernel side: tensors that note what the student's code does with them.

A traced tensor records each torch operation run on it (and on the tensors made from it), with the grad
mode it ran in and, for `.to(...)`, the device asked for: the probes send the judge these operations,
which it compares with what the exercise asks (autograd called, a computation inside `torch.no_grad()`,
each batch sent to the device it was given).
"""

from __future__ import annotations

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
