"""Choose the CUDA line for one test (with the cuda_line fixture of tests/unit/conftest.py, which clears facts() after it)."""

from __future__ import annotations

import pytest

from harness.config import facts


def select(monkeypatch: pytest.MonkeyPatch, line: str) -> None:
    """CUDA_LINE=line from now on: facts() is cached, so its cache is cleared."""
    monkeypatch.setenv("CUDA_LINE", line)
    facts.cache_clear()
