"""The judge's run of one notebook: execute the student's cells, then question the kernel, exercise by exercise.

The student's cells run unchanged (parameters are injected only when the job says so). A cell that
hangs (per-cell timeout) or kills the kernel (exit, OOM, segfault) is skipped and the notebook re-run
in a fresh kernel, at most MAX_ATTEMPTS times within the job's budget. Then, for each exercise, the
judge sends the cases' inputs, takes back the answers as data and decides the verdict here, in its own
process: the student's kernel never sees an expected value, a comparison or a score. An exercise whose
probe hangs or kills the kernel gets "timeout" or "crashed" and the judge goes on with the others in a
fresh kernel.

The kernel is untrusted: every reply goes through a strict schema (in_image.judge.replies) and the
kernel's facts about itself are kept apart (`kernel_reported`). An exercise whose cell still holds
its placeholder is `not_attempted` and never asked. The public cases of every exercise are asked
first, the hidden ones after: from the first hidden request on, nothing the kernel writes is taken
into a message (hidden-case failures name the criterion only), into the cell errors, into the
kernel's facts or into the executed notebook (its outputs are those of the runs before).
"""

from __future__ import annotations

import ast
import copy
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from in_image.exercises import wire
from in_image.exercises.framework import (
    ERROR,
    FAILED,
    NOT_ATTEMPTED,
    PASSED,
    Case,
    CaseChecks,
    Exercise,
    Outcome,
    unanswered,
    verdict,
)
from in_image.exercises.tags import PLACEHOLDER, exercise_of
from in_image.judge import replies
from in_image.judge.kernel import CappedClient, kernel_pid, kill_user_processes, new_client, prefer_killing
from in_image.judge.lab_tests import LabTests
from in_image.judge.questions import NoAnswer, ask, request_code, request_file, request_folder
from in_image.judge.settings import JudgeSettings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 4
FACTS_TIMEOUT_S = 60
TIMEOUT, CRASHED = "timeout", "crashed"
PLACEHOLDER_MARK = PLACEHOLDER.split(":", 1)[0]  # "PENDIENTE"
# What a hidden case's failure says: the criterion, never a value the kernel wrote.
HIDDEN_FAILURE = "no cumple «{criterion}» en un caso oculto"
HIDDEN_KINDS = {"missing": "falta un nombre que el ejercicio necesita", "pending": "ejercicio sin hacer",
                "raised": "el código lanzó una excepción en un caso oculto"}


@dataclass
class Progress:
    """What the attempts learn, kept across kernel restarts."""

    skipped: dict[int, str] = field(default_factory=dict)
    cell_errors: dict[int, dict[str, Any]] = field(default_factory=dict)
    placeholders: dict[str, str] = field(default_factory=dict)
    verdicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)  # as the kernel reported them
    environment: dict[str, str] = field(default_factory=dict)  # as the kernel reported them
    facts_asked: bool = False
    rejected: list[str] = field(default_factory=list)  # the kernel's replies that broke their schema
    public: dict[str, tuple[list[Outcome], float, bool]] = field(default_factory=dict)  # outcomes, time, untrusted text
    hidden_sent: bool = False  # a hidden input has reached a kernel: its text is no longer taken
    safe_outputs: list[Any] | None = None  # the cells' outputs when the first hidden input was sent
    display_updates_dropped: int = 0
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
        self.requests = request_folder(self.rundir)
        self.placeholders = placeholder_exercises(notebook)

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
            self.progress.display_updates_dropped += client.dropped_updates

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
        if self.progress.hidden_sent:  # a later run's errors could carry what a hidden request showed the kernel
            return
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
        """Facts, then the public cases of every exercise, then the hidden ones; False when the kernel must restart."""
        if not self.progress.facts_asked and not self.progress.hidden_sent:
            self._ask_facts(client)
        for hidden in (False, True):
            for exercise in self.tests.exercises:
                if exercise.id in self.progress.verdicts or exercise.id in self.placeholders:
                    continue
                if self._remaining() <= 0:
                    self._set(unanswered(exercise, status=TIMEOUT, message="se agotó el tiempo total de la calificación"))
                    continue
                if not (self._ask_hidden(client, exercise) if hidden else self._ask_public(client, exercise)):
                    return False
        self._mark("exercises judged")
        return True

    def _ask_facts(self, client: CappedClient) -> None:
        lab = self.settings.lab
        for function, arguments in (("environment", ()), ("evidence", (lab,))):
            try:
                payload = ask(client, self.notebook, request_code(function, *arguments),
                              timeout_s=min(FACTS_TIMEOUT_S, max(1.0, self._remaining())))
                if function == "environment":
                    self.progress.environment = replies.environment_facts(payload)
                else:
                    self.progress.evidence = replies.evidence_signs(payload)
            except wire.WireError as error:
                log.warning("the kernel's %s broke its schema: %s", function, error)
                self.progress.rejected.append(function)
            except (NoAnswer, CellTimeoutError) as error:
                log.warning("the kernel gave no %s: %s", function, error)
        self.progress.facts_asked = True

    def _ask_public(self, client: CappedClient, exercise: Exercise) -> bool:
        if exercise.id in self.progress.public:
            return True
        cases = self.tests.public[exercise.id]
        untrusted = self.progress.hidden_sent
        outcomes, elapsed, go_on = self._request(client, exercise, cases, timeout_s=self.settings.exercise_timeout_s,
                                                 untrusted=untrusted)
        if outcomes is None:
            return go_on
        self.progress.public[exercise.id] = (outcomes, elapsed, untrusted)
        ended = any(o.kind in ("missing", "pending") for o in outcomes)
        if ended or not self.tests.hidden[exercise.id]:
            self._set(self._verdict(exercise, outcomes, [], elapsed=elapsed, untrusted=untrusted))
        return True

    def _ask_hidden(self, client: CappedClient, exercise: Exercise) -> bool:
        public, spent, untrusted = self.progress.public[exercise.id]
        if not self.progress.hidden_sent:
            self.progress.hidden_sent = True
            self.progress.safe_outputs = [copy.deepcopy(cell.get("outputs")) for cell in self.notebook.cells]
        # Each of the exercise's two requests gets the whole exercise timeout: a request's own round trip is not
        # the student's time, and the job's budget still bounds the total.
        outcomes, elapsed, go_on = self._request(client, exercise, self.tests.hidden[exercise.id],
                                                 timeout_s=self.settings.exercise_timeout_s, untrusted=True)
        if outcomes is not None:
            self._set(self._verdict(exercise, public, outcomes, elapsed=spent + elapsed, untrusted=untrusted))
        return go_on

    def _request(self, client: CappedClient, exercise: Exercise, cases: Sequence[Case], *, timeout_s: float,
                 untrusted: bool) -> tuple[list[Outcome] | None, float, bool]:
        """(outcomes or None when the exercise got its verdict here, seconds, False when the kernel must restart)."""
        started = time.perf_counter()
        timeout_s = min(timeout_s, max(1.0, self._remaining()))
        try:
            with request_file(self.requests, [dict(c.inputs) for c in cases], owner=self.settings.kernel_user) as path:
                payload = ask(client, self.notebook, request_code("answer", self.settings.lab, exercise.id, str(path)),
                              timeout_s=timeout_s)
            return replies.answer_outcomes(payload, exercise=exercise.id, cases=len(cases)), \
                time.perf_counter() - started, True
        except CellTimeoutError:
            self._set(unanswered(exercise, status=TIMEOUT, message=f"la comprobación no terminó en {timeout_s:.0f} s "
                                 "(¿un bucle infinito?)", time_s=time.perf_counter() - started))
            return None, 0.0, False
        except DeadKernelError:
            self._set(unanswered(exercise, status=CRASHED, message="el kernel terminó durante la comprobación"))
            return None, 0.0, False
        except (NoAnswer, wire.WireError) as error:
            if isinstance(error, wire.WireError):
                self.progress.rejected.append(f"answers {exercise.id}")
            text = str(error) if isinstance(error, NoAnswer) else f"la respuesta del cuaderno no es válida ({error})"
            self._set(unanswered(exercise, status=ERROR, message="el cuaderno no dio una respuesta válida en un caso "
                                 "oculto" if untrusted else text[:300], time_s=time.perf_counter() - started))
            return None, 0.0, True

    def _verdict(self, exercise: Exercise, public: list[Outcome], hidden: list[Outcome], *, elapsed: float,
                 untrusted: bool) -> Any:
        """The verdict over the public and the hidden cases; what the kernel wrote is kept out of untrusted cases' messages."""
        return guarded_verdict(exercise, self.tests.public[exercise.id], self.tests.hidden[exercise.id][:len(hidden)],
                               [*public, *hidden], elapsed=elapsed, untrusted=untrusted)

    # ---- the end -------------------------------------------------------------------------------
    def _set(self, result: Any) -> None:
        self.progress.verdicts[result.id] = result.as_dict()

    def _finish(self) -> None:
        progress = self.progress
        if progress.safe_outputs is not None:  # the outputs of the runs before any hidden input was sent
            for cell, outputs in zip(self.notebook.cells, progress.safe_outputs, strict=False):
                if outputs is not None:
                    cell.outputs = outputs
        for exercise in self.tests.exercises:
            found = progress.verdicts.get(exercise.id)
            if exercise.id in self.placeholders:
                self._set(unanswered(exercise, status=NOT_ATTEMPTED, message=PLACEHOLDER.format(id=exercise.id)))
            elif found is None:
                self._set(unanswered(exercise, status=ERROR, message=progress.message or "el ejercicio no se evaluó"))
            elif found["status"] != PASSED and exercise.id in progress.placeholders:
                self._set(unanswered(exercise, status=NOT_ATTEMPTED, message=progress.placeholders[exercise.id]))
        self._require_training()

    def _require_training(self) -> None:
        """An exercise that requires others (a trained model) earns nothing while one of them earns nothing (its
        function missing, still the placeholder, or wrong in every criterion); a partial mistake in one of them costs
        points there only."""
        verdicts = self.progress.verdicts
        for exercise in self.tests.exercises:
            unmet = [name for name in exercise.requires
                     if verdicts.get(name, {}).get("status", NOT_ATTEMPTED) == NOT_ATTEMPTED
                     or not verdicts.get(name, {}).get("score", 0) > 0]
            if unmet and verdicts[exercise.id]["score"] > 0:
                names = ", ".join(f"«{name}»" for name in unmet)
                self._set(unanswered(exercise, status=FAILED, message=f"cuenta cuando tu cuaderno hace su propio "
                                     f"{names} y gana puntos en él: el modelo entregado tiene que salir de tu "
                                     "entrenamiento"))

    def _mark(self, label: str) -> None:
        self.progress.timeline.append((label, round(time.monotonic() - self.started, 3)))

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()


def guarded_verdict(exercise: Exercise, public: Sequence[Case], hidden: Sequence[Case], outcomes: list[Outcome], *,
                    elapsed: float, untrusted: bool) -> Any:
    """The verdict over the public then the hidden cases (outcomes in that order): a hidden case's failure, and every
    case's when the kernel's text is untrusted, names its criterion only, never an input or a value the kernel wrote."""
    cases = [*public, *hidden]
    guarded = {id(case) for case in cases[0 if untrusted else len(public):]}
    outcomes = [Outcome(o.kind, o.value, HIDDEN_KINDS.get(o.kind, "")) if id(case) in guarded else o
                for case, o in zip(cases, outcomes, strict=True)]
    return verdict(replace(exercise, compare=_guarded_compare(exercise, guarded)), cases, outcomes, time_s=elapsed)


def _guarded_compare(exercise: Exercise, guarded: set[int]) -> Any:
    """exercise.compare, whose failures in the guarded cases say only which criterion failed."""

    def compare(checks: CaseChecks, case: Case, value: Any) -> None:
        if id(case) not in guarded:
            exercise.compare(checks, case, value)
            return
        try:
            exercise.compare(checks, case, value)
        except Exception:  # an answer of an unexpected shape: its criteria fail, the reason stays unsaid
            log.debug("a guarded case's comparison raised", exc_info=True)
        for criterion in exercise.tested_by(case):
            if criterion in checks.failures or criterion not in checks.passes:
                checks.failures[criterion] = HIDDEN_FAILURE.format(criterion=criterion)

    return compare


def placeholder_exercises(notebook: NotebookNode) -> set[str]:
    """The exercises whose cell still holds its placeholder: `raise NotImplementedError("PENDIENTE...")`."""
    found = set()
    for cell in notebook.cells:
        exercise = exercise_of(cell) if cell.get("cell_type") == "code" else None
        if exercise and _holds_placeholder(str(cell.get("source", ""))):
            found.add(exercise)
    return found


def _holds_placeholder(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: the placeholder's line, uncommented, still counts
        return any(line.lstrip().startswith("raise NotImplementedError") and PLACEHOLDER_MARK in line
                   for line in source.splitlines())
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and \
                getattr(node.exc.func, "id", None) == "NotImplementedError":
            texts = [a.value for a in node.exc.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if any(text.startswith(PLACEHOLDER_MARK) for text in texts):
                return True
    return False
