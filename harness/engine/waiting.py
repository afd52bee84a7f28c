"""Waiting and interrupting without Docker: wait_until, ports, SIGTERM as Ctrl-C (for docker-free commands too)."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import TypeVar

from harness.errors import HarnessError

T = TypeVar("T")


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def wait_until(
    predicate: Callable[[], T | None],
    *,
    timeout_s: float,
    interval_s: float = 0.1,
    what: str,
) -> T:
    """Call predicate until it returns something truthy; raise HarnessError after timeout_s.

    Exceptions from the predicate count as 'not yet' (a server that is still starting refuses
    connections); the last one is named in the timeout message. A HarnessError or an
    AssertionError is the predicate's verdict that waiting is pointless (the container exited,
    the job failed): it propagates at once.
    """
    deadline = time.monotonic() + timeout_s
    last_error: BaseException | None = None
    while True:
        try:
            result = predicate()
            if result:
                return result
        except (HarnessError, AssertionError):
            raise
        except Exception as error:  # a not-yet-ready service raises; keep polling
            last_error = error
        if time.monotonic() >= deadline:
            detail = f" (last error: {first_line(last_error)})" if last_error else ""
            raise HarnessError(f"timed out after {timeout_s:.0f} s waiting for {what}{detail}")
        time.sleep(interval_s)


def port_is_free(port: int, *, bind: str = "127.0.0.1") -> bool:
    """Whether the engine could publish on bind:port now (SO_REUSEADDR, as it binds: TIME_WAIT is free)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (CI cancelling a job, `docker stop`, systemd) cleans up like Ctrl-C: KeyboardInterrupt."""
    def handler(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
