"""Grading in containers: one fresh, locked-down container of the lab image per notebook.

The container runs the judge (`python -m in_image.judge`) as root with every capability dropped but
the four it needs (SETUID/SETGID to start the kernel as the notebook user, CHOWN for the kernel's
files, KILL to end whatever the notebook forked), no-new-privileges, no network, a read-only root
filesystem, size-limited tmpfs for /tmp, /var/tmp and the home, CPU, memory (no swap), process,
file-size, open-file and core limits, and a capped log. The job (settings, hidden tests, notebook)
goes into a labelled volume at JOB_DIR with put_archive before the container starts, as a root-only
folder: no bind mount, nothing of the host a student could reach. The host enforces a wall-clock
limit, reads result.json back and checks the nonce it gave, and always removes the container and
the volume (also on Ctrl-C: `cancel_all`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import secrets
import tarfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container
from docker.models.volumes import Volume
from docker.types import LogConfig, Ulimit

from harness.config import Variant, facts
from harness.engine.containers import docker_client, image_exists, not_built, remove_container
from harness.engine.gpu import gpu_decision
from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.grading.jobs import JOB_DIR, GradingJob, job_archive, job_files
from harness.grading.pool import interpret, timed_out
from harness.grading.results import Limits, SubmissionResult, with_host_facts

COMPONENT = "grading"
RESULT_LIMIT_BYTES = 20_000_000
REMOVE_TIMEOUT_S = 1


def owner_label() -> str:
    """org.dl-lab.owner-pid: the process that started a grading container (tell concurrent runs apart)."""
    return facts().label("owner-pid")


# The image's label with its torch release (docker/Dockerfile's LABEL), the torch a report names.
TORCH_VERSION_LABEL = "org.dl-lab.torch-version"


def owner_labels() -> dict[str, str]:
    return {**facts().labels(COMPONENT), owner_label(): str(os.getpid())}


@dataclass
class _Outcome:
    raw: dict[str, Any] | None = None
    executed: bytes | None = None
    executed_reason: str = ""
    failure: str = ""
    failure_status: str = "error"
    created_at: float | None = None


class ContainerExecutor:
    """Grade each job in a fresh container of the lab image."""

    def __init__(self, *, variant: Variant, limits: Limits, gpu: bool = False, image: str | None = None) -> None:
        self.client = docker_client()
        self.image = image or facts().image(variant)
        if not image_exists(self.client, self.image):
            if image:
                raise HarnessError(f"image {image} is not in this Docker engine: check --image against 'docker images' "
                                   f"(or leave it out to use {facts().image(variant)})")
            raise not_built(self.image, make_target=f"image-{variant}")
        # The one GPU decision (driver, compute capability, runtime): a cuda variant that cannot use them says why.
        self.device_requests = gpu_decision(self.client, want_gpu=True, otherwise="use --variant cpu").device_requests() \
            if gpu else None
        self.limits = limits
        self.description = f"{self.image}{' with GPUs' if gpu else ''}"
        self.image_torch = self.client.images.get(self.image).labels.get(TORCH_VERSION_LABEL)
        self._active: dict[str, tuple[Container, Volume]] = {}
        self._lock = threading.Lock()
        self._cancelled = threading.Event()

    def options(self, job: GradingJob, *, volume: str) -> dict[str, Any]:
        """The container's settings: every limit and lock of the module's docstring."""
        limits, f = self.limits, facts()
        home = f"/home/{f.nb_user}"
        tmpfs = f"size={limits.tmpfs_size}"
        options: dict[str, Any] = {
            "command": ["python", "-m", "in_image.judge", JOB_DIR],
            "entrypoint": ["tini", "--"], "user": "0", "working_dir": "/",
            "name": f"dl-lab-grade-{job.lab.id}-{secrets.token_hex(4)}",
            "labels": owner_labels(), "detach": True,
            "network_disabled": True, "cap_drop": ["ALL"], "cap_add": ["SETUID", "SETGID", "CHOWN", "KILL"],
            "security_opt": ["no-new-privileges"], "read_only": True,
            "mem_limit": limits.memory, "memswap_limit": limits.memory,
            "nano_cpus": int(limits.cpus * 1e9), "pids_limit": limits.pids,
            "tmpfs": {"/tmp": f"{tmpfs},mode=1777", "/var/tmp": f"{tmpfs},mode=1777", "/run": "size=16m,mode=0755",
                      home: f"{tmpfs},uid={f.nb_uid},gid={f.nb_gid},mode=0755",
                      f"{home}/work": f"{tmpfs},uid={f.nb_uid},gid={f.nb_gid},mode=0755"},
            "volumes": {volume: {"bind": JOB_DIR, "mode": "rw"}},
            "ulimits": [Ulimit(name="fsize", soft=limits.file_size_bytes, hard=limits.file_size_bytes),
                        Ulimit(name="nofile", soft=limits.open_files, hard=limits.open_files),
                        Ulimit(name="core", soft=0, hard=0)],
            "environment": {"HOME": home, "PYTHONDONTWRITEBYTECODE": "1", "MPLCONFIGDIR": f"{home}/.config/matplotlib"},
            # A flood on the container's stdout must not fill the host's disk.
            "log_config": LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
        }
        if self.device_requests:
            options["device_requests"] = self.device_requests
        return options

    def run(self, job: GradingJob) -> SubmissionResult:
        started = time.monotonic()
        nonce = secrets.token_hex(16)
        outcome = _Outcome()
        container: Container | None = None
        volume: Volume | None = None
        try:
            if self._cancelled.is_set():
                raise HarnessError("cancelled")
            volume = self.client.volumes.create(f"dl-lab-job-{secrets.token_hex(6)}", labels=owner_labels())
            outcome.created_at = time.time()
            container = self.client.containers.create(self.image, **self.options(job, volume=volume.name))
            with self._lock:  # registered, or cancelled already: never a container that cancel_all misses
                if self._cancelled.is_set():
                    raise HarnessError("cancelled")
                self._active[container.id] = (container, volume)
            # As many torch threads as the container's CPUs: more threads than its CPU quota spin against each
            # other and run a convolutional network's training 20 times slower.
            files = job_files(job, nonce=nonce, limits=self.limits, container=True, workdir=f"/home/{facts().nb_user}/work",
                              threads=max(1, int(self.limits.cpus)))
            container.put_archive(JOB_DIR, job_archive(files))
            container.start()
            self._wait(container, outcome)
            self._collect(container, outcome)
        except (docker.errors.APIError, requests.exceptions.RequestException, HarnessError, ValueError) as error:
            outcome.failure = "cancelada" if self._cancelled.is_set() else f"error del motor de contenedores: {first_line(error)}"
        finally:
            self._remove(container, volume)
        result = interpret(outcome.raw, job=job, nonce=nonce, started=started, created_at=outcome.created_at,
                           failure=outcome.failure, failure_status=outcome.failure_status, executed=outcome.executed,
                           executed_reason=outcome.executed_reason)
        return with_host_facts(result, gpu=bool(self.device_requests), image_torch=self.image_torch)

    def _wait(self, container: Container, outcome: _Outcome) -> None:
        try:
            container.wait(timeout=self.limits.host_timeout_s)
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            outcome.failure = timed_out(self.limits)
            outcome.failure_status = "timeout"
            with contextlib.suppress(docker.errors.APIError):
                container.kill()

    def _collect(self, container: Container, outcome: _Outcome) -> None:
        container.reload()
        state = container.attrs.get("State", {})
        result_bytes = self._fetch(container, "result.json")
        if result_bytes:
            try:
                outcome.raw = json.loads(result_bytes)
            except ValueError:
                outcome.failure = "el resultado del calificador no es JSON válido"
                return
            outcome.executed = self._fetch(container, "executed.ipynb")
            if outcome.executed is None:
                outcome.executed_reason = self._missing(container, "executed.ipynb")
        elif not outcome.failure:
            outcome.failure_status = "crashed"
            if state.get("OOMKilled"):
                outcome.failure = f"se agotó la memoria ({self.limits.memory}) y el calificador terminó"
            else:
                tail = container.logs(stdout=True, stderr=True, tail=5).decode(errors="replace").strip()
                outcome.failure = f"el calificador terminó sin resultado (código {state.get('ExitCode')}): {tail[-300:]}"

    @staticmethod
    def _fetch(container: Container, name: str) -> bytes | None:
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

    @staticmethod
    def _missing(container: Container, name: str) -> str:
        """Why a file of the judge's did not come back: too big, or never written."""
        try:
            chunks, stat = container.get_archive(f"{JOB_DIR}/{name}")
            chunks.close()
        except docker.errors.NotFound:
            return "el calificador no escribió el cuaderno ejecutado"
        return (f"el cuaderno ejecutado ocupa {int(stat.get('size', 0)) / 1e6:.1f} MB, más que el límite de "
                f"{RESULT_LIMIT_BYTES // 1_000_000} MB")

    def _remove(self, container: Container | None, volume: Volume | None) -> None:
        if container is not None:
            remove_container(container, timeout_s=REMOVE_TIMEOUT_S)
            with self._lock:
                self._active.pop(container.id, None)
        if volume is not None:
            with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError):
                volume.remove(force=True)

    def cancel_all(self) -> None:
        with self._lock:
            self._cancelled.set()
            active = list(self._active.values())
        for container, volume in active:
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                container.remove(force=True, v=True)
            with contextlib.suppress(docker.errors.APIError, requests.exceptions.RequestException):
                volume.remove(force=True)

