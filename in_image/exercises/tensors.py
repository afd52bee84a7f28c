"""Kernel side: the torch tensors (and NumPy arrays) a probe passes to the student's code, made from a case's inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from in_image.exercises.wire import ArrayData


def array(value: ArrayData | np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """A fresh, writable NumPy array with the values and dtype of a case's array."""
    values = value.values if isinstance(value, ArrayData) else np.asarray(value)
    return np.array(values, copy=True)


def tensor(value: ArrayData | np.ndarray[Any, Any]) -> torch.Tensor:
    """A fresh CPU tensor with the values and dtype of a case's array (the student may change it freely)."""
    return torch.from_numpy(array(value))
