"""`python -m in_image.judge JOB_DIR`: grade one notebook; the grading container's command.

Runs as root in the grading container (every capability dropped but SETUID/SETGID/CHOWN/KILL), or in
the host's Python for --variant local. JOB_DIR holds job.json (the settings), hidden.py (the hidden
tests) and submission.ipynb; the judge reads all three into memory and, in a container, deletes them
before any student code runs. The student's kernel runs as the notebook user, so it can neither read
JOB_DIR (root-only) nor this process's memory, nor signal it. The result goes to JOB_DIR/result.json
(with the host's nonce) and the executed notebook, outputs capped, to JOB_DIR/executed.ipynb.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

from in_image.exercises.framework import ERROR, unanswered
from in_image.judge import STARTED_AT
from in_image.judge.engine import Judge, Progress
from in_image.judge.lab_tests import HiddenTestsError, lab_exercises, load_lab_tests
from in_image.judge.settings import EXECUTED_FILE, RESULT_FILE, JudgeSettings, read_job
from in_image.judge.static_scan import scan_submission

log = logging.getLogger("in_image.judge")


def prepare_notebook(notebook: NotebookNode, parameters: dict[str, Any]) -> NotebookNode:
    """Outputs cleared and, when given, parameters injected after the cell tagged `parameters` (or first)."""
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


def _read_submission(text: str, parameters: dict[str, Any]) -> tuple[NotebookNode | None, str]:
    try:
        notebook = nbformat.reads(text, as_version=4)  # type: ignore[no-untyped-call]
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("no list of cells")
        return prepare_notebook(notebook, parameters), ""
    except Exception as error:  # any unreadable notebook is the submission's fault, reported per exercise
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        return None, f"el cuaderno no es válido: {first}"[:300]


def _judge(settings: JudgeSettings, hidden_source: str, notebook: NotebookNode | None) -> Progress:
    try:
        tests = load_lab_tests(settings.lab, hidden_source, seed=settings.seed)
    except HiddenTestsError as error:
        return Progress(message=str(error))
    if notebook is None:
        return Progress()
    judge = Judge(settings, notebook, tests)
    try:
        return judge.run()
    except Exception as error:  # a judge bug must still give the host a result that says so
        log.exception("judging failed")
        judge.progress.message = f"error interno del calificador: {type(error).__name__}: {error}"[:300]
        return judge.progress


def judge_job(job_dir: Path) -> dict[str, Any]:
    """Grade the job in job_dir; write result.json and executed.ipynb there; return the result."""
    started = time.monotonic()
    inputs = read_job(job_dir)
    settings = inputs.settings
    exercises = lab_exercises(settings.lab)
    notebook, invalid = _read_submission(inputs.submission, settings.parameters)
    static_evidence = scan_submission(notebook) if notebook is not None else []  # read before any cell runs
    progress = _judge(settings, inputs.hidden_source, notebook)
    message = progress.message or invalid
    rows = [progress.verdicts.get(e.id) or unanswered(e, status=ERROR, message=message or "no se evaluó").as_dict()
            for e in exercises]
    result = {
        "nonce": settings.nonce, "lab": settings.lab, "seed": settings.seed, "started_at": STARTED_AT, "exercises": rows,
        "attempts": progress.attempts, "message": message,
        "cell_errors": sorted(progress.cell_errors.values(), key=lambda e: int(e["index"])),
        "skipped_cells": [{"index": i, "reason": r} for i, r in sorted(progress.skipped.items())],
        "output_truncated": progress.truncated, "display_updates_dropped": progress.display_updates_dropped,
        "kernel_start_s": progress.kernel_start_s, "time_s": round(time.monotonic() - started, 3),
        "timeline": progress.timeline, "rejected_replies": progress.rejected,
        # What the kernel said about itself (validated, never trusted): apart from the judge's own fields.
        "kernel_reported": {"environment": progress.environment, "evidence": progress.evidence},
    }
    result["static_evidence"] = static_evidence  # the judge's own field: set last, whatever the kernel said
    (job_dir / RESULT_FILE).write_text(json.dumps(result, ensure_ascii=False, indent=1))
    if notebook is not None:
        nbformat.write(notebook, job_dir / EXECUTED_FILE)  # type: ignore[no-untyped-call]
    return result


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m in_image.judge JOB_DIR", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.umask(0o077)
    judge_job(Path(args[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
