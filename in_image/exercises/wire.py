"""The data that crosses from the student's kernel to the judge: plain JSON, tensors as raw bytes. No pickle.

What a probe returns (numbers, strings, tensors, shapes, dicts of tensors such as a `state_dict`) is
encoded in the kernel into JSON whose arrays are base64 of their raw little-endian bytes with a dtype
from a fixed list, and decoded in the judge into numpy arrays (`ArrayData`) and plain values. Decoding
never runs code, never unpickles, and rejects oversized, deep or malformed documents; anything else a
probe returns becomes an `ObjectData` description (its type name and a short repr).

Encoding needs numpy (and torch only for torch values, imported where they appear); decoding needs
numpy only, so the judge of a lab without torch-based checks never imports torch.
"""

from __future__ import annotations

import base64
import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

# The display message type that carries the kernel's answers to the judge (one per request).
ANSWERS_MIME = "application/vnd.dl-lab.answers+json"
# Raw dtypes an array may travel in (bfloat16/float16 travel as float32: numpy has no bfloat16).
ARRAY_DTYPES = frozenset({
    "float64", "float32", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64", "complex128",
})
MAX_DEPTH = 12
MAX_ITEMS = 100_000  # list items and dict entries, over the whole document
MAX_ARRAY_BYTES = 64_000_000
MAX_STRING = 20_000


class WireError(ValueError):
    """A document that is not valid wire data (too big, too deep, malformed)."""


@dataclass(frozen=True)
class ArrayData:
    """A tensor or array as the judge sees it: its values and what the kernel said about it."""

    values: np.ndarray[Any, Any]
    torch_dtype: str | None = None  # "torch.float32" for a torch tensor; None for a numpy array
    device: str | None = None
    requires_grad: bool = False
    grad_fn: str | None = None
    subclass: str | None = None  # the class name when it was a subclass of torch.Tensor (not Parameter)

    @property
    def is_tensor(self) -> bool:
        return self.torch_dtype is not None and self.subclass is None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.values.shape)


@dataclass(frozen=True)
class SizeData:
    """A torch.Size."""

    dims: tuple[int, ...]


@dataclass(frozen=True)
class DeviceData:
    """A torch.device."""

    name: str

    @property
    def type(self) -> str:
        return self.name.split(":", 1)[0]


@dataclass(frozen=True)
class DtypeData:
    """A torch.dtype or numpy dtype, by name ("torch.int64")."""

    name: str


@dataclass(frozen=True)
class Raised:
    """What a call of the student's code raised, in place of its value (see answering.attempt)."""

    message: str


@dataclass(frozen=True)
class ObjectData:
    """Any other object: only its type and a short repr cross."""

    type_name: str
    text: str = ""


@dataclass
class _Budget:
    items: int = 0
    array_bytes: int = 0

    def spend(self, *, items: int = 0, array_bytes: int = 0) -> None:
        self.items += items
        self.array_bytes += array_bytes
        if self.items > MAX_ITEMS:
            raise WireError(f"more than {MAX_ITEMS} items")
        if self.array_bytes > MAX_ARRAY_BYTES:
            raise WireError(f"more than {MAX_ARRAY_BYTES // 1_000_000} MB of arrays")


# ---- encoding (kernel side) ---------------------------------------------------------------------
def encode(value: Any) -> Any:
    """A JSON-able document for value (see the module's docstring)."""
    return _encode(value, depth=0)


def _encode(value: Any, *, depth: int) -> Any:
    if depth > MAX_DEPTH:
        return _describe(value)
    torch = sys.modules.get("torch")
    encoded = _encode_torch(value, torch) if torch is not None else None
    if encoded is not None:
        return encoded
    for kinds, encoder in _ENCODERS:
        if isinstance(value, kinds):
            return encoder(value, depth)
    return _describe(value)


def _encode_raised(value: Raised, depth: int) -> Any:
    return {"__raised__": value.message[:MAX_STRING]}


def _encode_plain(value: Any, depth: int) -> Any:
    return value[:MAX_STRING] if isinstance(value, str) else value


def _encode_scalar(value: Any, depth: int) -> Any:
    number = value.item() if isinstance(value, np.generic) else value
    return _encode_number(number) if isinstance(number, int | float) else _describe(value)


def _encode_array(value: Any, depth: int) -> Any:
    return {"__array__": _array_fields(value)}


def _encode_sequence(value: Any, depth: int) -> Any:
    items = [_encode(item, depth=depth + 1) for item in value]
    return {"__tuple__": items} if isinstance(value, tuple) else items


def _encode_mapping(value: Any, depth: int) -> Any:
    return {"__map__": [[_encode(key, depth=depth + 1), _encode(item, depth=depth + 1)] for key, item in value.items()]}


_ENCODERS: tuple[tuple[Any, Any], ...] = (
    (Raised, _encode_raised),
    ((type(None), bool, str), _encode_plain),
    ((int, float, np.bool_, np.number), _encode_scalar),
    (np.ndarray, _encode_array),
    ((list, tuple), _encode_sequence),
    (Mapping, _encode_mapping),
)


def _encode_number(value: int | float) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if isinstance(value, int) and abs(value) > 2**63:
        return {"__float__": repr(float(value))}
    return value


def _describe(value: Any) -> dict[str, Any]:
    try:
        text = repr(value)[:200]
    except Exception:  # a repr that raises is still described: by its type only
        text = ""
    kind = type(value)
    return {"__object__": {"type": f"{kind.__module__}.{kind.__qualname__}", "text": text}}


def _array_fields(array: np.ndarray[Any, Any]) -> dict[str, Any]:
    if array.dtype.name not in ARRAY_DTYPES:
        # float16 -> float64, uint32/uint64 -> int64 (may wrap: never in a lab's answers); anything else as float64
        array = array.astype(np.int64 if array.dtype.kind in "iu" else np.float64)
    contiguous = np.array(array, order="C", copy=True)  # keeps 0-d arrays 0-d (ascontiguousarray would not)
    data = contiguous.astype(contiguous.dtype.newbyteorder("<"), copy=False).tobytes()
    return {"dtype": contiguous.dtype.name, "shape": list(contiguous.shape), "data": base64.b64encode(data).decode("ascii")}


def _encode_torch(value: Any, torch: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return {"__array__": _tensor_fields(value, torch)}
    if isinstance(value, torch.Size):
        return {"__size__": [int(n) for n in value]}
    if isinstance(value, torch.device):
        return {"__device__": str(value)}
    if isinstance(value, torch.dtype):
        return {"__dtype__": str(value)}
    return None


def _tensor_fields(tensor: Any, torch: Any) -> dict[str, Any]:
    """Values and facts of a tensor, read through the base class so that a subclass cannot lie about them."""
    kind = type(tensor)
    subclass = None if kind in (torch.Tensor, torch.nn.Parameter) else kind.__qualname__
    base = torch._C.TensorBase
    with torch._C.DisableTorchFunctionSubclass():
        grad_fn = base.grad_fn.__get__(tensor)
        facts = {"torch_dtype": str(base.dtype.__get__(tensor)), "device": str(base.device.__get__(tensor)),
                 "requires_grad": bool(base.requires_grad.__get__(tensor)),
                 "grad_fn": None if grad_fn is None else type(grad_fn).__name__, "subclass": subclass}
        detached = torch.Tensor.as_subclass(base.detach(tensor), torch.Tensor)
        if detached.dtype.is_floating_point and detached.element_size() < 4:  # bfloat16, float16, float8
            detached = detached.float()
        if detached.is_sparse or detached.layout != torch.strided:
            detached = detached.to_dense()
        values = detached.cpu().resolve_conj().resolve_neg().contiguous().numpy()
    return {**_array_fields(values), **facts}


# ---- decoding (judge side) ----------------------------------------------------------------------
def decode(document: Any) -> Any:
    """The values a document stands for; a WireError when it is not valid wire data, whatever is wrong with it."""
    try:
        return _decode(document, depth=0, budget=_Budget())
    except WireError:
        raise
    except (TypeError, ValueError, OverflowError, RecursionError, MemoryError) as error:
        raise WireError(f"malformed wire data ({type(error).__name__})") from None


def _decode(document: Any, *, depth: int, budget: _Budget) -> Any:
    if depth > MAX_DEPTH + 2:
        raise WireError(f"nested deeper than {MAX_DEPTH}")
    if document is None or isinstance(document, bool | int | float):
        return document
    if isinstance(document, str):
        if len(document) > MAX_STRING:
            raise WireError("a string longer than allowed")
        return document
    if isinstance(document, list):
        budget.spend(items=len(document))
        return [_decode(item, depth=depth + 1, budget=budget) for item in document]
    if not isinstance(document, dict) or len(document) != 1:
        raise WireError("an object that is not one of the wire's tagged forms")
    (tag, body), = document.items()
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise WireError(f"unknown tag {str(tag)[:40]!r}")
    return decoder(body, depth, budget)


def _decode_tuple(body: Any, depth: int, budget: _Budget) -> tuple[Any, ...]:
    if not isinstance(body, list):
        raise WireError("__tuple__ must hold a list")
    budget.spend(items=len(body))
    return tuple(_decode(item, depth=depth + 1, budget=budget) for item in body)


def _decode_map(body: Any, depth: int, budget: _Budget) -> dict[Any, Any]:
    if not isinstance(body, list) or not all(isinstance(pair, list) and len(pair) == 2 for pair in body):
        raise WireError("__map__ must hold [key, value] pairs")
    budget.spend(items=len(body))
    result: dict[Any, Any] = {}
    for key, item in body:
        decoded_key = _decode(key, depth=depth + 1, budget=budget)
        if not isinstance(decoded_key, str | int | float | bool | tuple) and decoded_key is not None:
            raise WireError("a map key that is not a plain value")
        try:
            hash(decoded_key)
        except TypeError:  # a tuple that holds a list, an array or a dict
            raise WireError("a map key that is not hashable") from None
        result[decoded_key] = _decode(item, depth=depth + 1, budget=budget)
    return result


def _decode_float(body: Any, depth: int, budget: _Budget) -> float:
    if not isinstance(body, str):
        raise WireError("__float__ must hold a number as a string")
    try:
        return float(body)
    except ValueError:
        raise WireError("__float__ must hold a number") from None


def _decode_array(body: Any, depth: int, budget: _Budget) -> ArrayData:
    if not isinstance(body, dict):
        raise WireError("__array__ must hold an object")
    dtype, shape, data = body.get("dtype"), body.get("shape"), body.get("data")
    if dtype not in ARRAY_DTYPES or not isinstance(data, str) or not isinstance(shape, list):
        raise WireError("an array without a valid dtype, shape and data")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape) or len(shape) > 8:
        raise WireError("an array shape must be at most 8 non-negative integers")
    count = math.prod(shape)
    itemsize = np.dtype(dtype).itemsize
    budget.spend(array_bytes=count * itemsize)
    try:
        raw = base64.b64decode(data, validate=True)
    except ValueError:
        raise WireError("array data that is not base64") from None
    if len(raw) != count * itemsize:
        raise WireError("array data whose size does not match its shape")
    values = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).astype(np.dtype(dtype)).reshape(shape)
    facts = {key: body.get(key) for key in ("torch_dtype", "device", "grad_fn", "subclass")}
    if not all(value is None or isinstance(value, str) for value in facts.values()):
        raise WireError("array facts must be strings")
    return ArrayData(values=values, requires_grad=bool(body.get("requires_grad", False)), **facts)


def _decode_size(body: Any, depth: int, budget: _Budget) -> SizeData:
    if not isinstance(body, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in body):
        raise WireError("__size__ must hold integers")
    return SizeData(tuple(body))


def _decode_text(kind: type[DeviceData] | type[DtypeData]) -> Any:
    def decoder(body: Any, depth: int, budget: _Budget) -> DeviceData | DtypeData:
        if not isinstance(body, str) or len(body) > 100:
            raise WireError(f"{kind.__name__} must hold a short string")
        return kind(body)

    return decoder


def _decode_raised(body: Any, depth: int, budget: _Budget) -> Raised:
    if not isinstance(body, str) or len(body) > MAX_STRING:
        raise WireError("__raised__ must hold a message")
    return Raised(body)


def _decode_object(body: Any, depth: int, budget: _Budget) -> ObjectData:
    if not isinstance(body, dict) or not isinstance(body.get("type"), str) or not isinstance(body.get("text", ""), str):
        raise WireError("__object__ must hold a type name and a text")
    return ObjectData(body["type"][:200], body.get("text", "")[:200])


_DECODERS = {
    "__tuple__": _decode_tuple, "__map__": _decode_map, "__float__": _decode_float, "__array__": _decode_array,
    "__size__": _decode_size, "__device__": _decode_text(DeviceData), "__dtype__": _decode_text(DtypeData),
    "__object__": _decode_object, "__raised__": _decode_raised,
}
