"""The judge's run of one notebook: execute the student's cells, then question the kernel, exercise by exercise.

The student's cells run unchanged (parameters are injected only when the job says so). A cell that
hangs (per-cell timeout) or kills the kernel (exit, OOM, segfault) is skipped and the notebook re-run
in a fresh kernel, at most MAX_ATTEMPTS times within the job's budget. Then, for each exercise, the
judge sends the cases' inputs, takes back the answers as data and decides the verdict here, in its own
process: the student's kernel never sees an expected value, a comparison or a score. An exercise whose
probe hangs or kills the kernel gets "timeout" or "crashed" and the judge goes on with the others in a
fresh kernel.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from in_image.exercises.framework import ERROR, NOT_ATTEMPTED, PASSED, Exercise, outcome_from, unanswered, verdict
from in_image.exercises.tags import exercise_of
from in_image.judge.kernel import CappedClient, kernel_pid, kill_user_processes, new_client, prefer_killing
from in_image.judge.lab_tests import LabTests
from in_image.judge.questions import NoAnswer, ask, encode_request, request_code
from in_image.judge.settings import JudgeSettings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 4
FACTS_TIMEOUT_S = 60
TIMEOUT, CRASHED = "timeout", "crashed"


@dataclass
class Progress:
    """What the attempts learn, kept across kernel restarts."""

    skipped: dict[int, str] = field(default_factory=dict)
    cell_errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    attempts: int = 0
    truncated: bool = False
    kernel_start_s: float = 0.0
    message: str = ""
    timeline: list[tuple[str, float]] = field(default_factory=list)


class Judge:
    def __init__(self, settings: JudgeSettings, notebook: NotebookNode, tests: LabTests) -> None:
        self.settings = settings
        self.notebook = notebook
        self.tests = tests
        self.progress = Progress()
        self.started = time.monotonic()
        self.deadline = self.started + settings.budget_s
        self.rundir = Path(tempfile.mkdtemp(prefix="dl-lab-judge-"))
        os.chmod(self.rundir, 0o755)

    # ---- attempts ------------------------------------------------------------------------------
    def run(self) -> Progress:
        for attempt in range(MAX_ATTEMPTS):
            if self._remaining() <= 0:
                self.progress.message = f"se agotó el tiempo total ({self.settings.budget_s:.0f} s)"
                break
            self.progress.attempts = attempt + 1
            done = self._attempt(attempt)
            self._mark(f"attempt {attempt} ended")
            if self.settings.kill_user_processes:
                kill_user_processes()
            if done:
                break
        self._finish()
        return self.progress

    def _attempt(self, attempt: int) -> bool:
        """One fresh kernel; True when nothing is left to do."""
        self._prepare_workdir()
        client, launch = new_client(self.notebook, self.settings, rundir=self.rundir, attempt=attempt)
        started = time.monotonic()
        try:
            with client.setup_kernel(**launch):
                prefer_killing(kernel_pid(client))
                if attempt == 0:
                    self.progress.kernel_start_s = round(time.monotonic() - started, 3)
                self._mark(f"kernel {attempt} started")
                return self._run_cells(client) and self._question(client)
        except DeadKernelError:
            self.progress.message = "el kernel terminó de forma inesperada"
            return False
        except (RuntimeError, OSError) as error:  # kernel start-up failures
            self.progress.message = f"no se pudo arrancar el kernel: {error}"[:300]
            return True
        finally:
            self.progress.truncated |= client.truncated

    def _prepare_workdir(self) -> None:
        if not self.settings.workdir:
            return
        Path(self.settings.workdir).mkdir(parents=True, exist_ok=True)
        if self.settings.kernel_user:
            uid, gid = self.settings.kernel_user
            os.chown(self.settings.workdir, uid, gid)

    # ---- the student's cells -------------------------------------------------------------------
    def _run_cells(self, client: CappedClient) -> bool:
        """Every code cell not skipped; False when one hung or killed the kernel (restart)."""
        for index, cell in enumerate(self.notebook.cells):
            if cell.cell_type != "code" or index in self.progress.skipped:
                continue
            if self._remaining() <= 0:
                self.progress.skipped[index] = "sin tiempo"
                continue
            if not self._run_cell(client, cell, index):
                return False
        self._mark("notebook cells")
        return True

    def _run_cell(self, client: CappedClient, cell: NotebookNode, index: int) -> bool:
        cell.outputs = []
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            self._skip(cell, index, f"superó el límite de {self.settings.cell_timeout_s:.0f} s por celda")
            return False
        except DeadKernelError:
            self._skip(cell, index, "terminó el kernel (exit, memoria agotada o fallo)")
            return False
        self._note_errors(cell, index)
        return True

    def _skip(self, cell: NotebookNode, index: int, reason: str) -> None:
        self.progress.skipped[index] = reason
        cell.outputs.append(nbformat.v4.new_output(  # type: ignore[no-untyped-call]
            "stream", name="stderr", text=f"[calificador: celda omitida en los siguientes intentos: {reason}]\n"))
        self.progress.cell_errors[index] = {"index": index, "ename": "Omitida", "evalue": reason, "expected": False,
                                            "exercise": exercise_of(cell)}

    def _note_errors(self, cell: NotebookNode, index: int) -> None:
        for output in cell.outputs:
            if output.get("output_type") != "error":
                continue
            exercise = exercise_of(cell)
            expected = "raises-exception" in cell.get("metadata", {}).get("tags", [])
            self.progress.cell_errors[index] = {"index": index, "ename": str(output.get("ename", ""))[:100],
                                                "evalue": str(output.get("evalue", ""))[:300], "expected": expected,
                                                "exercise": exercise}
            if exercise and output.get("ename") == "NotImplementedError":
                self.progress.placeholders.setdefault(exercise, str(output.get("evalue", ""))[:300])

    # ---- questions -------------------------------------------------------------------------------
    def _question(self, client: CappedClient) -> bool:
        """Facts, evidence, then each exercise not judged yet; False when the kernel must be restarted."""
        self._ask_facts(client)
        for exercise in self.tests.exercises:
            if exercise.id in self.progress.verdicts:
                continue
            if self._remaining() <= 0:
                self._set(unanswered(exercise, status=TIMEOUT, message="se agotó el tiempo total de la calificación"))
                continue
            if not self._ask_exercise(client, exercise):
                return False
        self._mark("exercises judged")
        return True

    def _ask_facts(self, client: CappedClient) -> None:
        lab = self.settings.lab
        for function, arguments in (("environment", ()), ("evidence", (lab,))):
            try:
                payload = ask(client, self.notebook, request_code(function, *arguments),
                              timeout_s=min(FACTS_TIMEOUT_S, max(1.0, self._remaining())))
            except (NoAnswer, CellTimeoutError) as error:
                log.warning("the kernel gave no %s: %s", function, error)
                continue
            if function == "environment" and isinstance(payload.get("environment"), dict):
                self.progress.environment = {k: str(v)[:200] for k, v in payload["environment"].items()}
            elif isinstance(payload.get("evidence"), list):
                self.progress.evidence = sorted({str(item)[:200] for item in payload["evidence"]})[:30]

    def _ask_exercise(self, client: CappedClient, exercise: Exercise) -> bool:
        cases = self.tests.cases[exercise.id]
        code = request_code("answer", self.settings.lab, exercise.id, encode_request([dict(c.inputs) for c in cases]))
        started = time.perf_counter()
        timeout_s = min(self.settings.exercise_timeout_s, max(1.0, self._remaining()))
        try:
            payload = ask(client, self.notebook, code, timeout_s=timeout_s)
        except CellTimeoutError:
            self._set(unanswered(exercise, status=TIMEOUT, message=f"la comprobación no terminó en {timeout_s:.0f} s "
                                 "(¿un bucle infinito?)", time_s=time.perf_counter() - started))
            return False
        except DeadKernelError:
            self._set(unanswered(exercise, status=CRASHED, message="el kernel terminó durante la comprobación"))
            return False
        except NoAnswer as error:
            self._set(unanswered(exercise, status=ERROR, message=str(error)))
            return True
        answers = payload.get("answers") if payload.get("exercise") == exercise.id else None
        outcomes = [outcome_from(document) for document in answers] if isinstance(answers, list) else []
        self._set(verdict(exercise, cases, outcomes, time_s=time.perf_counter() - started))
        return True

    # ---- the end -------------------------------------------------------------------------------
    def _set(self, result: Any) -> None:
        self.progress.verdicts[result.id] = result.as_dict()

    def _finish(self) -> None:
        progress = self.progress
        for exercise in self.tests.exercises:
            found = progress.verdicts.get(exercise.id)
            if found is None:
                self._set(unanswered(exercise, status=ERROR, message=progress.message or "el ejercicio no se evaluó"))
            elif found["status"] != PASSED and exercise.id in progress.placeholders:
                self._set(unanswered(exercise, status=NOT_ATTEMPTED, message=progress.placeholders[exercise.id]))

    def _mark(self, label: str) -> None:
        self.progress.timeline.append((label, round(time.monotonic() - self.started, 3)))

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()
