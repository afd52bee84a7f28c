"""Execute a notebook and grade it: `python -m in_image.judge.runner JOB_DIR`.

Runs inside the grading container (as root, with only SETUID/SETGID/CHOWN/KILL capabilities) or,
for `--variant local`, in the host's Python. JOB_DIR holds job.json (the settings), tests.py (the
hidden tests) and submission.ipynb. The runner reads all three into memory and, in a container,
deletes them before any student code runs; the kernel runs as the notebook user, so it can read
neither the files nor this process's memory. The result goes to JOB_DIR/result.json (with the
host's nonce) and the executed notebook, outputs capped, to JOB_DIR/executed.ipynb.

A cell that hangs (per-cell timeout) or kills the kernel (exit, OOM, segfault) is skipped and the
notebook re-run in a fresh kernel, at most MAX_ATTEMPTS times within the job's time budget. An
exercise whose test hangs or kills the kernel gets "timeout" or "crashed" and grading goes on with
the others. Stdlib, nbclient, nbformat, jupyter_client and the harness's modules that need
nothing else (labgen, grading.declared): this runs in the image.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from in_image.exercises.declared import declared_exercises
from in_image.exercises.tags import exercise_of
from in_image.judge import STARTED_AT

log = logging.getLogger("in_image.judge.runner")
MAX_ATTEMPTS = 4
SETUP_TIMEOUT_S = 120  # the preamble imports torch: slow on a cold, throttled container

# Statuses the runner adds to the framework's passed/partial/failed/error/not_attempted.
TIMEOUT, CRASHED, TAMPERED = "timeout", "crashed", "tampered"


@dataclass
class Job:
    lab: str
    nonce: str
    cell_timeout_s: float = 60.0
    exercise_timeout_s: float = 30.0
    budget_s: float = 300.0
    output_limit_bytes: int = 1_000_000
    parameters: dict[str, Any] = field(default_factory=dict)
    kernel_user: list[int] | None = None  # [uid, gid]: drop to this user for the kernel
    workdir: str = ""
    delete_inputs: bool = False
    kill_user_processes: bool = False


class CappedClient(NotebookClient):
    """A NotebookClient that stops keeping output past a byte limit (a flood costs no memory)."""

    def __init__(self, *args: Any, output_limit: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.output_limit = output_limit
        self.output_bytes = 0
        self.capping = True
        self.truncated = False

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        if self.capping:
            size = len(json.dumps(msg.get("content", {}), ensure_ascii=False))
            self.output_bytes += size
            if self.output_bytes > self.output_limit:
                if not self.truncated:
                    self.truncated = True
                    note = nbformat.v4.new_output("stream", name="stderr", text=(  # type: ignore[no-untyped-call]
                        f"[salida truncada: el cuaderno ha escrito más de {self.output_limit // 1000} kB]\n"))
                    outs.append(note)
                return None
        result: NotebookNode | None = super().output(outs, msg, display_id, cell_index)
        return result


@dataclass
class Run:
    """What the attempts learn, kept across kernel restarts."""

    skipped: dict[int, str] = field(default_factory=dict)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    cell_errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    tampering: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    truncated: bool = False
    kernel_start_s: float = 0.0
    message: str = ""
    timeline: list[tuple[str, float]] = field(default_factory=list)


def _lines(outputs: list[NotebookNode], token: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for output in outputs:
        if output.get("output_type") != "stream" or output.get("name") != "stdout":
            continue
        for line in str(output.get("text", "")).splitlines():
            if line.startswith(token + " "):
                _, kind, payload = line.split(" ", 2)
                found.append((kind, json.loads(payload)))
    return found


def _call_cell(function: str, **arguments: Any) -> NotebookNode:
    source = (Path(__file__).with_name("kernel_side.py")).read_text()
    code = (f"exec(compile({source!r}, '<dl-lab>', 'exec'), "
            f"{{'__name__': '__dl_lab__', '__dl_lab_call__': ({function!r}, {arguments!r})}})")
    cell: NotebookNode = nbformat.v4.new_code_cell(code)  # type: ignore[no-untyped-call]
    return cell


def prepare_notebook(notebook: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """Outputs cleared and the parameters injected after the cell tagged `parameters` (or first)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    if parameters:
        code = "# parámetros inyectados por el calificador\n" + "\n".join(f"{k} = {v!r}" for k, v in parameters.items())
        injected = nbformat.v4.new_code_cell(code, metadata={"tags": ["injected-parameters"]})  # type: ignore[no-untyped-call]
        tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
        notebook.cells.insert(tagged[0] + 1 if tagged else 0, injected)
    return notebook


def kill_user_processes() -> None:
    """In the container: SIGKILL every process but PID 1 (tini) and this one, fork bombs included."""
    for _ in range(1000):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return
        except PermissionError:
            return
        time.sleep(0.01)
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass


class Grader:
    def __init__(self, job: Job, notebook: NotebookNode, tests: str, exercises: list[str]) -> None:
        self.job = job
        self.notebook = notebook
        self.tests = tests
        self.exercises = exercises
        self.token = "DLLAB" + os.urandom(12).hex()
        self.run = Run()
        self.deadline = time.monotonic() + job.budget_s
        self.verificacion = self._framework_source()
        self.started = time.monotonic()
        self.rundir = Path(tempfile.mkdtemp(prefix="dl-lab-kernel-"))
        os.chmod(self.rundir, 0o755)

    @staticmethod
    def _framework_source() -> str:
        import practica.verificacion  # noqa: PLC0415 (the image's copy, which the student cannot change)

        return Path(practica.verificacion.__file__).read_text()

    def _client(self, attempt: int) -> tuple[CappedClient, dict[str, Any]]:
        km = AsyncKernelManager(kernel_name="python3")  # nbclient polls asynchronously; a blocking client would hang
        km.cache_ports = False
        km.connection_file = str(self.rundir / f"kernel-{attempt}.json")
        launch: dict[str, Any] = {
            "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL,
        }
        if self.job.kernel_user:
            uid, gid = self.job.kernel_user
            km.write_connection_file()
            # Owned by the kernel's user, readable by root's group: the runner (root without
            # CAP_DAC_OVERRIDE) reads it back after the launch.
            os.chmod(km.connection_file, 0o640)
            os.chown(km.connection_file, uid, 0)
            launch |= {"user": uid, "group": gid, "extra_groups": []}
        client = CappedClient(
            self.notebook, km=km, timeout=int(self.job.cell_timeout_s), allow_errors=True, interrupt_on_timeout=False,
            shutdown_kernel="immediate", startup_timeout=SETUP_TIMEOUT_S, output_limit=self.job.output_limit_bytes,
            # No history database: the hidden tests' cells would be written to the kernel's disk.
            extra_arguments=["--HistoryManager.enabled=False"],
            # The kernel starts here (it exists); the preamble then creates and enters the work folder.
            resources={"metadata": {"path": str(self.rundir)}},
        )
        return client, launch

    def _own_cell(self, client: CappedClient, cell: NotebookNode, *, timeout: float) -> list[tuple[str, Any]]:
        client.capping = False
        client.timeout = int(max(1, timeout))
        # nbclient stores the executed cell at its index in the notebook: give it a slot at the end,
        # removed right after, so that the grader's code never lands in the student's notebook.
        self.notebook.cells.append(cell)
        try:
            client.execute_cell(cell, len(self.notebook.cells) - 1, store_history=False)
        finally:
            self.notebook.cells.pop()
            client.capping = True
            client.timeout = int(self.job.cell_timeout_s)
        for output in cell.outputs:
            if output.get("output_type") == "error":
                log.warning("grader cell error: %s: %s", output.get("ename"), str(output.get("evalue"))[:300])
        return _lines(cell.outputs, self.token)

    def _mark(self, label: str) -> None:
        self.run.timeline.append((label, round(time.monotonic() - self.started, 3)))

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def grade(self) -> Run:
        for attempt in range(MAX_ATTEMPTS):
            if self._remaining() <= 0:
                self.run.message = f"se agotó el tiempo total ({self.job.budget_s:.0f} s)"
                break
            self.run.attempts = attempt + 1
            done = self._attempt(attempt)
            self._mark(f"attempt {attempt} ended")
            if self.job.kill_user_processes:
                kill_user_processes()
                self._mark("processes killed")
            if done:
                break
        self._finish()
        return self.run

    def _attempt(self, attempt: int) -> bool:
        """One fresh kernel; True when nothing is left to do."""
        client, launch = self._client(attempt)
        started = time.monotonic()
        try:
            with client.setup_kernel(**launch):
                if attempt == 0:
                    self.run.kernel_start_s = round(time.monotonic() - started, 3)
                self._mark(f"kernel {attempt} started")
                return self._in_kernel(client)
        except DeadKernelError:
            self.run.message = "el kernel terminó de forma inesperada"
            return False
        except (RuntimeError, OSError) as error:  # kernel start-up failures
            self.run.message = f"no se pudo arrancar el kernel: {error}"
            return True
        finally:
            self.run.truncated |= client.truncated

    def _in_kernel(self, client: CappedClient) -> bool:
        run, job = self.run, self.job
        preamble = self._own_cell(client, _call_cell("preambulo", token=self.token, lab=job.lab, workdir=job.workdir
                                                     or str(self.rundir)), timeout=SETUP_TIMEOUT_S)
        before = dict(preamble).get("HUELLA")
        if before is None:
            run.message = "el preámbulo del calificador no respondió"
            return True
        self._mark("preamble")
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code" or index in run.skipped:
                continue
            if self._remaining() <= 0:
                run.skipped[index] = "sin tiempo"
                continue
            cell.outputs = []
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                run.skipped[index] = f"superó el límite de {job.cell_timeout_s:.0f} s por celda"
                self._note_skip(cell, index)
                return False
            except DeadKernelError:
                run.skipped[index] = "terminó el kernel (exit, memoria agotada o fallo)"
                self._note_skip(cell, index)
                return False
            self._note_errors(cell, index)
        self._mark("notebook cells")
        try:
            prepared = dict(self._own_cell(client, _call_cell(
                "preparar", token=self.token, lab=job.lab, verificacion=self.verificacion, pruebas=self.tests),
                timeout=SETUP_TIMEOUT_S)).get("PREPARADO")
        except (CellTimeoutError, DeadKernelError):
            prepared = None
        if prepared is None:
            run.message = "las pruebas no pudieron prepararse en el kernel del alumno"
            return True
        self._mark("tests loaded")
        run.info = {k: prepared[k] for k in ("torch", "device", "python") if k in prepared}
        self._compare(before, prepared["huella"], prepared.get("redefinidos", []))
        if run.tampering:
            return True
        for exercise in self.exercises:
            if exercise in run.results:
                continue
            if self._remaining() <= 0:
                run.results[exercise] = {"status": TIMEOUT, "message": "se agotó el tiempo total de la calificación"}
                continue
            grader = f"__import__('sys').modules[{'_dl_lab_' + self.token!r}]"
            cell = nbformat.v4.new_code_cell(f"{grader}.ejecutar({exercise!r})")  # type: ignore[no-untyped-call]
            try:
                found = dict(self._own_cell(client, cell, timeout=min(job.exercise_timeout_s, self._remaining())))
            except CellTimeoutError:
                message = f"la prueba no terminó en {job.exercise_timeout_s:.0f} s (¿un bucle infinito?)"
                run.results[exercise] = {"status": TIMEOUT, "message": message}
                return False
            except DeadKernelError:
                run.results[exercise] = {"status": CRASHED, "message": "el kernel terminó durante la prueba"}
                return False
            run.results[exercise] = found.get("RESULTADO") or {"status": "error", "message": _error_text(cell) or
                                                               "la prueba no devolvió resultado"}
        return True

    def _note_skip(self, cell: NotebookNode, index: int) -> None:
        cell.outputs.append(nbformat.v4.new_output("stream", name="stderr", text=(  # type: ignore[no-untyped-call]
            f"[calificador: celda omitida en los siguientes intentos: {self.run.skipped[index]}]\n")))
        self.run.cell_errors[index] = {"index": index, "ename": "Omitida", "evalue": self.run.skipped[index],
                                       "expected": False, "exercise": exercise_of(cell)}

    def _note_errors(self, cell: NotebookNode, index: int) -> None:
        for output in cell.outputs:
            if output.get("output_type") != "error":
                continue
            exercise = exercise_of(cell)
            expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            self.run.cell_errors[index] = {"index": index, "ename": output.get("ename", ""),
                                           "evalue": str(output.get("evalue", ""))[:300], "expected": expected,
                                           "exercise": exercise}
            if exercise and output.get("ename") == "NotImplementedError":
                self.run.placeholders.setdefault(exercise, str(output.get("evalue", "")))

    def _compare(self, before: dict[str, str], after: dict[str, str], redefined: list[str]) -> None:
        # "id:user" marks an object the notebook defined; library objects may legitimately change.
        changed = sorted(key for key in before.keys() & after.keys()
                         if before[key] != after[key] and not after[key].endswith(":lib"))
        tampering = [f"ha redefinido «{name}»" for name in redefined]
        if changed:
            shown = ", ".join(changed[:5]) + (f" y {len(changed) - 5} más" if len(changed) > 5 else "")
            tampering.append(f"ha modificado {shown}")
        self.run.tampering = tampering

    def _finish(self) -> None:
        run = self.run
        for exercise in self.exercises:
            result = run.results.get(exercise)
            if run.tampering:
                run.results[exercise] = {"status": TAMPERED, "message": "manipulación detectada: " + "; ".join(run.tampering)}
            elif result is None:
                run.results[exercise] = {"status": "error", "message": run.message or "el ejercicio no se evaluó"}
            elif result.get("status") != "passed" and exercise in run.placeholders:
                result.update(status="not_attempted", score=0.0, message=run.placeholders[exercise])


def _error_text(cell: NotebookNode) -> str:
    for output in cell.outputs:
        if output.get("output_type") == "error":
            return f"{output.get('ename')}: {output.get('evalue')}"[:300]
    return ""


def grade_job(job_dir: Path) -> dict[str, Any]:
    """Grade the job in job_dir; write result.json and executed.ipynb there; return the result."""
    started = time.monotonic()
    raw = json.loads((job_dir / "job.json").read_text())
    job = Job(**raw)
    tests = (job_dir / "tests.py").read_text()
    submission = (job_dir / "submission.ipynb").read_text()
    if job.delete_inputs:
        for name in ("tests.py", "job.json", "submission.ipynb"):
            (job_dir / name).unlink()
    declared = declared_exercises(tests)
    result: dict[str, Any] = {"nonce": job.nonce, "lab": job.lab, "started_at": STARTED_AT}
    try:
        notebook = prepare_notebook(nbformat.reads(submission, as_version=4), job.parameters)  # type: ignore[no-untyped-call]
    except Exception as error:  # any unreadable notebook is the submission's fault, reported per exercise
        run = Run(message=f"el cuaderno no es válido: {str(error).splitlines()[0] if str(error) else type(error).__name__}")
        notebook = None
    if notebook is not None:
        grader = Grader(job, notebook, tests, [d.id for d in declared])
        try:
            run = grader.grade()
        except Exception as error:  # a grader bug must still give the host a result that says so
            log.exception("grading failed")
            run = grader.run
            run.message = f"error interno del calificador: {type(error).__name__}: {error}"[:300]
    exercises = []
    for item in declared:
        found = run.results.get(item.id, {"status": "error", "message": run.message})
        exercises.append({
            "id": item.id, "title": found.get("title", item.title), "status": found.get("status", "error"),
            "score": float(found.get("score", 0.0)) if found.get("status") not in (TAMPERED,) else 0.0,
            "max_score": item.points, "checks_passed": int(found.get("checks_passed", 0)),
            "checks_total": int(found.get("checks_total", item.checks)), "time_s": float(found.get("time_s", 0.0)),
            "message": str(found.get("message", ""))[:500],
        })
    result |= {
        "exercises": exercises, "attempts": run.attempts, "tampering": run.tampering, "message": run.message,
        "cell_errors": sorted(run.cell_errors.values(), key=lambda e: e["index"]),
        "skipped_cells": [{"index": i, "reason": r} for i, r in sorted(run.skipped.items())],
        "output_truncated": run.truncated, "kernel_start_s": run.kernel_start_s,
        "time_s": round(time.monotonic() - started, 3), "timeline": run.timeline, **run.info,
    }
    (job_dir / "result.json").write_text(json.dumps(result, ensure_ascii=False, indent=1))
    if notebook is not None:
        nbformat.write(notebook, job_dir / "executed.ipynb")  # type: ignore[no-untyped-call]
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m in_image.judge.runner JOB_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.umask(0o077)
    grade_job(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
