"""The student's kernel, seen from the judge: started as the notebook user, its output capped.

The judge (root in the grading container, or the host's Python for --variant local) starts each
kernel as the notebook user with a fresh, private IPython folder, no user site-packages and the
OOM killer's preference, so that nothing a previous attempt wrote runs at start-up and a memory
flood kills the kernel, never the judge. Every message the kernel sends counts toward the output
cap (streams, displays and their updates, errors, comms); past it, outputs are dropped.

While the judge's request runs (`requesting`), its own cell has a cap of its own for the answer, and
anything that would change the notebook's earlier outputs (a display update, a display with an
existing display id, widget messages) is dropped and counted toward the notebook's cap: a request
can neither rewrite the student's outputs (where it could copy the judge's inputs) nor grow the
executed notebook.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from in_image.judge.settings import JudgeSettings

STARTUP_TIMEOUT_S = 120  # the notebook's first cell imports torch: slow on a cold, throttled container
# Messages whose content counts toward the output cap.
COUNTED = frozenset({"stream", "display_data", "update_display_data", "execute_result", "error", "clear_output",
                     "comm_open", "comm_msg"})
ERROR_KEPT_BYTES = 20_000  # an error past the cap is still recorded when it is this small
# During a request: messages that would reach outputs outside the request's own cell.
REACHES_NOTEBOOK = frozenset({"update_display_data", "comm_open", "comm_msg", "comm_close"})


class CappedClient(NotebookClient):
    """A NotebookClient that stops keeping output past a byte limit (a flood costs no memory)."""

    def __init__(self, *args: Any, output_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_limit = output_limit
        self.output_bytes = 0
        self.truncated = False
        self.requesting = False
        self.request_limit = 0
        self.request_bytes = 0
        self.dropped_updates = 0

    def process_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        if self.requesting:
            return self._process_request_message(msg, cell, cell_index)
        if msg.get("msg_type") in COUNTED:
            size = len(json.dumps(msg.get("content", {}), ensure_ascii=False, default=str))
            self.output_bytes += size
            if self.output_bytes > self.output_limit and not (msg["msg_type"] == "error" and size < ERROR_KEPT_BYTES):
                self._note_truncation(cell)
                return None
        result: NotebookNode | None = super().process_message(msg, cell, cell_index)
        return result

    def _process_request_message(self, msg: dict[str, Any], cell: NotebookNode, cell_index: int) -> NotebookNode | None:
        kind = msg.get("msg_type")
        if kind not in COUNTED:
            result: NotebookNode | None = super().process_message(msg, cell, cell_index)
            return result
        content = msg.get("content", {})
        size = len(json.dumps(content, ensure_ascii=False, default=str))
        transient = content.get("transient") if isinstance(content, dict) else None
        if kind in REACHES_NOTEBOOK or (isinstance(transient, dict) and transient.get("display_id")):
            self.dropped_updates += 1
            self.output_bytes += size
            self.truncated |= self.output_bytes > self.output_limit
            return None
        self.request_bytes += size
        if self.request_bytes > self.request_limit:
            return None
        kept: NotebookNode | None = super().process_message(msg, cell, cell_index)
        return kept

    def _note_truncation(self, cell: NotebookNode) -> None:
        if self.truncated:
            return
        self.truncated = True
        cell.outputs.append(nbformat.v4.new_output(  # type: ignore[no-untyped-call]
            "stream", name="stderr", text=f"[salida truncada: el cuaderno ha escrito más de {self.output_limit // 1000} kB]\n"))


def new_client(notebook: NotebookNode, settings: JudgeSettings, *, rundir: Path,
               attempt: int) -> tuple[CappedClient, dict[str, Any]]:
    """A client for a fresh kernel, and the launch options that start it as the notebook user."""
    km = AsyncKernelManager(kernel_name="python3")  # nbclient polls asynchronously; a blocking client would hang
    km.cache_ports = False
    km.connection_file = str(rundir / f"kernel-{attempt}.json")
    ipython_dir = Path(tempfile.mkdtemp(prefix=f"ipython-{attempt}-", dir=rundir))
    env = {**os.environ, "IPYTHONDIR": str(ipython_dir), "PYTHONNOUSERSITE": "1"}
    if settings.threads:
        env |= {"OMP_NUM_THREADS": str(settings.threads), "MKL_NUM_THREADS": str(settings.threads)}
    launch: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "env": env}
    if settings.kernel_user:
        uid, gid = settings.kernel_user
        km.write_connection_file()
        # Owned by the kernel's user, readable by root's group: the judge (root without
        # CAP_DAC_OVERRIDE) reads it back after the launch.
        os.chmod(km.connection_file, 0o640)
        os.chown(km.connection_file, uid, 0)
        os.chown(ipython_dir, uid, gid)
        launch |= {"user": uid, "group": gid, "extra_groups": []}
    client = CappedClient(
        notebook, km=km, timeout=int(settings.cell_timeout_s), allow_errors=True, interrupt_on_timeout=False,
        shutdown_kernel="immediate", startup_timeout=STARTUP_TIMEOUT_S, output_limit=settings.output_limit_bytes,
        # No history database: nothing of the judge's requests is written to the kernel's disk.
        extra_arguments=["--HistoryManager.enabled=False"],
        resources={"metadata": {"path": settings.workdir or str(rundir)}},
    )
    return client, launch


def prefer_killing(pid: int | None) -> None:
    """Make the OOM killer take the kernel (restartable), never the judge that holds the results."""
    if pid is None:
        return
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")


def kernel_pid(client: NotebookClient) -> int | None:
    provisioner = getattr(client.km, "provisioner", None)
    process = getattr(provisioner, "process", None)
    pid = getattr(process, "pid", None)
    return pid if isinstance(pid, int) else None


def kill_user_processes() -> None:
    """In the container: SIGKILL every process but PID 1 (tini) and the judge, fork bombs included."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
