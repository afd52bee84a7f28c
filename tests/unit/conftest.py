"""The unit tests' setup: the students' helper package on the path, and a CUDA line chosen per test."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from harness.config import REPO_ROOT, facts
from harness.course.kernel_data import ensure_kernel_data

# The students' helper package (practica) lives in labs/ (the image puts it on its path; here, the tests do).
sys.path.insert(0, str(REPO_ROOT / "labs"))
# comprobar reads the public cases' expected outputs as data, which the answer key writes (the image does it at build).
ensure_kernel_data()


@pytest.fixture
def cuda_line(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """A CUDA line for one test, chosen with tests.utils.cuda_line.select (facts() is cached: cleared around it)."""
    facts.cache_clear()
    yield monkeypatch
    facts.cache_clear()
