"""`make lab` (harness lab) as a user runs it: a real engine, a real container, real signals."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import docker
import pytest

from harness.config import facts
from harness.lab.launcher import LAB_PATH, URL_LABEL, WORKDIR_LABEL, pick_port
from tests.utils.cli import HARNESS, assert_one_error_line, run_to_end
from tests.utils.lab_process import free_port, http_status, lab_command, lab_process

pytestmark = pytest.mark.docker

def lab_containers(client: docker.DockerClient, work: Path) -> list[str]:
    return [c.name for c in client.containers.list(all=True, filters={"label": f"{WORKDIR_LABEL}={work.resolve()}"})]


def test_lab_serves_with_token_on_localhost_and_stops_cleanly(docker_engine: docker.DockerClient, tmp_path: Path) -> None:
    work = tmp_path / "work"
    port = free_port()
    with lab_process(work, "--port", str(port)) as lab:
        parsed = urlparse(lab.url)
        token = parse_qs(parsed.query)["token"][0]
        assert parsed.hostname == "127.0.0.1", f"unexpected URL {lab.url}"
        assert parsed.port == port, f"unexpected URL {lab.url}"
        assert parsed.path == LAB_PATH, f"unexpected URL {lab.url}"
        assert len(token) >= 32, f"the generated token is too short: {token!r}"
        assert http_status(lab.url) == 200, f"{lab.url} does not answer"
        assert http_status(f"http://127.0.0.1:{port}/api/contents") == 403, "the server answers without the token"
        (container,) = docker_engine.containers.list(filters={"label": f"{WORKDIR_LABEL}={work.resolve()}"})
        bindings = container.attrs["HostConfig"]["PortBindings"][f"{facts().jupyter_port}/tcp"]
        assert [b["HostIp"] for b in bindings] == ["127.0.0.1"], f"published beyond localhost: {bindings}"
        assert container.attrs["HostConfig"]["ShmSize"] >= 1 << 30, "shm too small for DataLoader workers"
        assert container.labels[URL_LABEL] == lab.url
        # A second `make lab` for the same folder prints the running lab's URL and starts nothing.
        second = run_to_end(lab_command(work))
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == lab.url, f"second lab printed {second.stdout!r}"
        assert "already running" in second.stderr
        assert len(lab_containers(docker_engine, work)) == 1, "a second lab container was started"
        # Ctrl-C: the container goes, the work folder and the notebooks stay.
        lab.process.send_signal(signal.SIGINT)
        assert lab.process.wait(timeout=60) == 0, lab.process.stderr.read() if lab.process.stderr else ""
    assert lab_containers(docker_engine, work) == [], "Ctrl-C left the lab container behind"
    notebooks = sorted(p.name for p in work.glob("*.ipynb"))
    assert notebooks, "the course notebooks did not reach ./work"
    # The next `make lab` shows the same files (and does not overwrite them).
    with (work / notebooks[0]).open("a") as edited:
        edited.write("\n")  # the student's edit
    marker = (work / notebooks[0]).stat().st_mtime_ns
    with lab_process(work) as lab:
        assert http_status(lab.url.replace("/lab?", f"/api/contents/work/{notebooks[0]}?")) == 200
    assert (work / notebooks[0]).stat().st_mtime_ns == marker, "a second start overwrote the student's notebook"


def _refuses_with_one_line(tmp_path: Path, arguments: list[str], environment: dict[str, str], message: str) -> None:
    command = [*HARNESS, "lab", "--no-browser", "--work", str(tmp_path / "work"), *arguments]
    result = run_to_end(command, environment=environment)
    assert_one_error_line(result, message, what=f"`harness lab {' '.join(arguments)}`", prefix="error: ")


@pytest.mark.parametrize(
    ("arguments", "environment", "message"),
    [
        (["--port", "99999"], {}, "is not a TCP port"),
        (["--gpu", "maybe"], {}, "GPU must be 0 or 1"),
        ([], {"JUPYTER_TOKEN": ""}, "JUPYTER_TOKEN is set but empty"),
        ([], {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}, "no Docker engine reachable"),
    ],
    ids=["bad-port", "bad-gpu-flag", "empty-token", "no-engine"],
)
def test_lab_refuses_with_one_clear_line(tmp_path: Path, arguments: list[str], environment: dict[str, str],
                                         message: str) -> None:
    _refuses_with_one_line(tmp_path, arguments, environment, message)


@pytest.mark.skipif(os.path.exists("/usr/bin/nvidia-smi"),
                    reason="this machine has an NVIDIA driver: the refusal without a GPU cannot be observed here")
@pytest.mark.parametrize("arguments", [["--gpu", "1"], ["--variant", "cuda", "--gpu", "1"]],
                         ids=["gpu-without-runtime", "cuda-without-runtime"])
def test_asking_for_a_gpu_where_there_is_none_is_one_clear_line(tmp_path: Path, arguments: list[str]) -> None:
    _refuses_with_one_line(tmp_path, arguments, {}, "a GPU was asked for but")


def test_lab_refuses_a_taken_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        result = run_to_end(lab_command(tmp_path / "work", "--port", str(taken)))
    assert result.returncode == 2, result.stderr
    assert f"port {taken} on 127.0.0.1 is taken" in result.stderr, result.stderr


def test_default_port_moves_on_when_taken() -> None:
    default = facts().jupyter_port
    with socket.socket() as holder:
        # SO_REUSEADDR: an earlier lab's connections in TIME_WAIT must not stop the holder from holding it.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            holder.bind(("127.0.0.1", default))
            holder.listen()
        except OSError:
            pass  # something else holds it already: the search must still skip it
        chosen = pick_port(bind="127.0.0.1", wanted=None)
    assert chosen != default, f"pick_port returned the taken default port {default}"
    assert default < chosen < default + 100
