"""The terminal side: one rich console for progress and tables, on stderr (stdout stays for results)."""

from __future__ import annotations

from rich.console import Console


def stderr_console() -> Console:
    # soft_wrap: long messages (paths, URLs) stay on one line instead of being cut at 80 columns.
    return Console(stderr=True, soft_wrap=True)
