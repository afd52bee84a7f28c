"""Host side of grading: one fresh, locked-down container (or a local process) per notebook.

The container runs the image's runner as root with every capability dropped but the four it needs
(SETUID/SETGID to start the kernel as the notebook user, CHOWN for the kernel's connection file,
KILL to end whatever the notebook forked), no-new-privileges, no network, CPU, memory (no swap),
pids and log-size limits and size-limited tmpfs for /tmp and the home. The job (settings, the
hidden tests, the notebook) is copied in with put_archive before the container starts, as a
root-only folder: no bind mount, nothing on the host a student could reach. The host enforces a
wall-clock limit, reads result.json back with get_archive and checks the nonce it gave, and
always removes the container (also on Ctrl-C: `cancel_all`).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.types import LogConfig

from harness.config import REPO_ROOT, Variant, facts
from harness.course.catalog import Lab
from harness.engine.containers import docker_client, first_line, image_exists, remove_container
from harness.engine.gpu import all_gpus, engine_gpu_support
from harness.errors import HarnessError
from harness.grading.model import Limits, SubmissionResult, failed_submission, from_runner
from in_image.exercises.declared import declared_exercises

log = logging.getLogger(__name__)
JOB_DIR = "/dl-lab-job"
RESULT_LIMIT_BYTES = 20_000_000
COMPONENT = "grading"


@dataclass(frozen=True)
class GradingJob:
    lab: Lab
    notebook: Path
    name: str
    parameters: dict[str, Any] = field(default_factory=dict)
    save_executed: Path | None = None  # where to keep the executed notebook

    def exercises(self) -> list[dict[str, Any]]:
        declared = declared_exercises(self.lab.hidden_tests.read_text(), origin=str(self.lab.hidden_tests))
        return [{"id": d.id, "title": d.title, "max_score": d.points, "checks_total": d.checks} for d in declared]


def job_files(job: GradingJob, *, nonce: str, limits: Limits, container: bool, workdir: str) -> dict[str, bytes]:
    """The runner's three inputs."""
    uid, gid = facts().nb_uid, facts().nb_gid
    settings = {
        "lab": job.lab.id, "nonce": nonce, "cell_timeout_s": limits.cell_timeout_s,
        "exercise_timeout_s": limits.exercise_timeout_s, "budget_s": limits.budget_s,
        "output_limit_bytes": limits.output_limit_bytes, "parameters": job.parameters, "workdir": workdir,
        "kernel_user": [uid, gid] if container else None, "delete_inputs": container, "kill_user_processes": container,
    }
    return {
        "job.json": json.dumps(settings).encode(),
        "tests.py": job.lab.hidden_tests.read_bytes(),
        "submission.ipynb": job.notebook.read_bytes(),
    }


def job_archive(files: dict[str, bytes]) -> bytes:
    """A tar of JOB_DIR: a root-owned 0700 folder of 0600 files (the notebook user can read none)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(JOB_DIR.strip("/"))
        folder.type, folder.mode, folder.uid, folder.gid, folder.mtime = tarfile.DIRTYPE, 0o700, 0, 0, int(time.time())
        tar.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{JOB_DIR.strip('/')}/{name}")
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), 0o600, 0, 0, int(time.time())
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Executor(Protocol):
    description: str

    def run(self, job: GradingJob) -> SubmissionResult: ...

    def cancel_all(self) -> None: ...


def _interpret(raw: dict[str, Any] | None, *, job: GradingJob, nonce: str, started: float, startup_s: float | None,
               failure: str, failure_status: str, executed: bytes | None) -> SubmissionResult:
    elapsed = time.monotonic() - started
    if raw is None or raw.get("nonce") != nonce:
        if raw is not None:
            failure, failure_status = "el resultado no lleva el nonce de esta calificación: no es fiable", "tampered"
        return failed_submission(lab=job.lab.id, notebook=job.notebook, name=job.name, exercises=job.exercises(),
                                 status=failure_status, message=failure, time_s=elapsed)
    result = from_runner(raw, lab=job.lab.id, notebook=job.notebook, name=job.name, time_s=elapsed, startup_s=startup_s)
    if executed is not None and job.save_executed is not None:
        job.save_executed.parent.mkdir(parents=True, exist_ok=True)
        job.save_executed.write_bytes(executed)
        result.executed_notebook = str(job.save_executed)
    return result


class ContainerExecutor:
    """Grade each job in a fresh container of the lab image."""

    def __init__(self, *, variant: Variant, limits: Limits, gpu: bool = False, image: str | None = None) -> None:
        self.client = docker_client()
        self.image = image or facts().image(variant)
        if not image_exists(self.client, self.image):
            if image:
                raise HarnessError(f"image {image} is not in this Docker engine: check --image against 'docker images' "
                                   f"(or leave it out to use {facts().image(variant)})")
            raise HarnessError(f"image {self.image} is not built: build it with 'make image-{variant}' "
                               f"(or '.venv/bin/harness build {variant}')")
        if gpu:
            support = engine_gpu_support(self.client)
            if not support.available:
                raise HarnessError(f"the cuda variant passes the GPUs in, but {support.reason}: use --variant cpu")
        self.variant = variant
        self.limits = limits
        self.gpu = gpu
        self.description = f"{self.image}{' with GPUs' if gpu else ''}"
        self._active: dict[str, Container] = {}
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def _create(self, job: GradingJob) -> Container:
        limits, f = self.limits, facts()
        home = f"/home/{f.nb_user}"
        options: dict[str, Any] = {
            "command": ["python", "-m", "in_image.judge.runner", JOB_DIR],
            "entrypoint": ["tini", "--"], "user": "0", "working_dir": "/",
            "name": f"dl-lab-grade-{job.lab.id}-{secrets.token_hex(4)}",
            "labels": f.labels(COMPONENT), "detach": True,
            "network_disabled": True, "cap_drop": ["ALL"], "cap_add": ["SETUID", "SETGID", "CHOWN", "KILL"],
            "security_opt": ["no-new-privileges"], "mem_limit": limits.memory, "memswap_limit": limits.memory,
            "nano_cpus": int(limits.cpus * 1e9), "pids_limit": limits.pids,
            "tmpfs": {"/tmp": f"size={limits.tmpfs_size},mode=1777",
                      home: f"size={limits.tmpfs_size},uid={f.nb_uid},gid={f.nb_gid},mode=0755"},
            "environment": {"HOME": home, "PYTHONDONTWRITEBYTECODE": "1"},
            # A flood on the container's stdout must not fill the host's disk.
            "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        }
        if self.gpu:
            options["device_requests"] = all_gpus()
        return self.client.containers.create(self.image, **options)

    def _fetch(self, container: Container, name: str) -> bytes | None:
        try:
            chunks, _ = container.get_archive(f"{JOB_DIR}/{name}")
            data = b""
            for chunk in chunks:
                data += chunk
                if len(data) > RESULT_LIMIT_BYTES:
                    return None
        except docker.errors.NotFound:
            return None
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            member = tar.extractfile(name)
            return member.read() if member else None

    def run(self, job: GradingJob) -> SubmissionResult:
        started = time.monotonic()
        nonce = secrets.token_hex(16)
        limits = self.limits
        workdir = f"/home/{facts().nb_user}/work"
        container: Container | None = None
        raw: dict[str, Any] | None = None
        executed: bytes | None = None
        failure, failure_status, startup_s = "", "error", None
        try:
            if self._cancelled.is_set():
                raise HarnessError("cancelled")
            created_at = time.time()
            container = self._create(job)
            with self._lock:
                self._active[container.id] = container
            container.put_archive("/", job_archive(job_files(job, nonce=nonce, limits=limits, container=True,
                                                            workdir=workdir)))
            container.start()
            try:
                container.wait(timeout=limits.host_timeout_s)
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                failure, failure_status = f"la calificación superó {limits.host_timeout_s:.0f} s y se detuvo", "timeout"
                with contextlib.suppress(docker.errors.APIError):
                    container.kill()
            container.reload()
            state = container.attrs.get("State", {})
            result_bytes = self._fetch(container, "result.json")
            if result_bytes:
                raw = json.loads(result_bytes)
                executed = self._fetch(container, "executed.ipynb")
                started_in_container = raw.get("started_at")
                if isinstance(started_in_container, int | float):
                    startup_s = max(0.0, started_in_container - created_at)
            elif not failure:
                if state.get("OOMKilled"):
                    failure, failure_status = f"se agotó la memoria ({limits.memory}) y el calificador terminó", "crashed"
                else:
                    tail = container.logs(stdout=True, stderr=True, tail=5).decode(errors="replace").strip()
                    failure = f"el calificador terminó sin resultado (código {state.get('ExitCode')}): {tail[-300:]}"
                    failure_status = "crashed"
        except (docker.errors.APIError, requests.exceptions.RequestException, HarnessError, ValueError) as error:
            failure = "cancelada" if self._cancelled.is_set() else f"error del motor de contenedores: {first_line(error)}"
        finally:
            if container is not None:
                remove_container(container, timeout_s=1)
                with self._lock:
                    self._active.pop(container.id, None)
        return _interpret(raw, job=job, nonce=nonce, started=started, startup_s=startup_s, failure=failure,
                          failure_status=failure_status, executed=executed)

    def cancel_all(self) -> None:
        self._cancelled.set()
        with self._lock:
            containers = list(self._active.values())
        for container in containers:
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                container.remove(force=True, v=True)


class LocalExecutor:
    """Run the same runner in the host's Python (no isolation: for the course's own notebooks)."""

    description = "local Python"

    def __init__(self, *, limits: Limits) -> None:
        self.limits = limits
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()

    def run(self, job: GradingJob) -> SubmissionResult:
        started = time.monotonic()
        nonce = secrets.token_hex(16)
        failure, failure_status = "", "error"
        raw: dict[str, Any] | None = None
        executed: bytes | None = None
        with tempfile.TemporaryDirectory(prefix="dl-lab-job-") as tmp:
            folder = Path(tmp)
            for name, data in job_files(job, nonce=nonce, limits=self.limits, container=False,
                                        workdir=str(folder / "work")).items():
                (folder / name).write_bytes(data)
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "labs"), str(REPO_ROOT)])}
            created_at = time.time()
            process = subprocess.Popen([sys.executable, "-m", "in_image.judge.runner", str(folder)], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            with self._lock:
                self._processes.add(process)
            try:
                _, stderr = process.communicate(timeout=self.limits.host_timeout_s)
            except subprocess.TimeoutExpired:
                self._kill(process)
                _, stderr = process.communicate()
                failure, failure_status = f"la calificación superó {self.limits.host_timeout_s:.0f} s y se detuvo", "timeout"
            finally:
                with self._lock:
                    self._processes.discard(process)
            if (folder / "result.json").exists():
                raw = json.loads((folder / "result.json").read_text())
                if (folder / "executed.ipynb").exists():
                    executed = (folder / "executed.ipynb").read_bytes()
            elif not failure:
                failure = f"el calificador terminó sin resultado: {stderr.decode(errors='replace').strip()[-300:]}"
                failure_status = "crashed"
        startup_s = None
        if raw and isinstance(raw.get("started_at"), int | float):
            startup_s = max(0.0, raw["started_at"] - created_at)
        return _interpret(raw, job=job, nonce=nonce, started=started, startup_s=startup_s, failure=failure,
                          failure_status=failure_status, executed=executed)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def cancel_all(self) -> None:
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            self._kill(process)


def grade_all(jobs: list[GradingJob], executor: Executor, *, parallel: int,
              on_done: Callable[[GradingJob, SubmissionResult], None] | None = None) -> list[SubmissionResult]:
    """Run every job, `parallel` at a time; results in the jobs' order. Ctrl-C removes what runs."""
    results: dict[int, SubmissionResult] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="grade")
    futures: dict[Future[SubmissionResult], int] = {}
    try:
        futures = {pool.submit(executor.run, job): index for index, job in enumerate(jobs)}
        pending = set(futures)
        while pending:
            # A short timeout keeps the main thread responsive to Ctrl-C.
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            for future in done:
                index = futures[future]
                results[index] = future.result()
                if on_done:
                    on_done(jobs[index], results[index])
    except BaseException:
        executor.cancel_all()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return [results[i] for i in range(len(jobs))]
