"""A clean torch state for each probe call, in the student's kernel, restored afterwards.

Before each case the probe runs with gradients enabled, the default dtype float32, no inference
mode, the CPU as default device, the given seeds in torch, numpy and random, non-deterministic
algorithms allowed, the thread count the kernel started with and the notebook's own folder; after
it, the notebook's state is put back, so that `comprobar` leaves the student's session as it was
and one exercise's side effects (a `torch.set_grad_enabled(False)` left behind) never cost points
in another. Kernel side: imports torch.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

# What the kernel had when this module was first imported (the notebook's first cell imports it).
INITIAL_THREADS = torch.get_num_threads()
INITIAL_FOLDER = os.getcwd()


@contextlib.contextmanager
def clean_torch_state(*, seed: int = 0) -> Iterator[None]:
    """Run the block in a known torch/numpy/random state; restore the caller's state afterwards."""
    saved_threads = torch.get_num_threads()
    saved_dtype = torch.get_default_dtype()
    saved_device = torch.get_default_device()
    saved_deterministic = torch.are_deterministic_algorithms_enabled()
    saved_numpy = np.random.get_state()
    saved_random = random.getstate()
    saved_folder = os.getcwd()
    try:
        with torch.random.fork_rng(devices=[]), torch.inference_mode(False), torch.enable_grad():
            _reset(seed)
            yield
    finally:
        torch.set_num_threads(saved_threads)
        torch.set_default_dtype(saved_dtype)
        torch.set_default_device(saved_device)
        torch.use_deterministic_algorithms(saved_deterministic)
        np.random.set_state(saved_numpy)
        random.setstate(saved_random)
        with contextlib.suppress(OSError):
            os.chdir(saved_folder)


def _reset(seed: int) -> None:
    torch.set_num_threads(INITIAL_THREADS)
    torch.set_default_dtype(torch.float32)
    torch.set_default_device("cpu")
    torch.use_deterministic_algorithms(False)
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)
    with contextlib.suppress(OSError):
        os.chdir(INITIAL_FOLDER)
