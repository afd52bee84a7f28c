"""Limits of the one-server hub with real students' containers: disk, idle culling, broken permissions.

One hub with a short cull timeout (75 s), a 300 MB work folder checked every 10 s (this engine's volumes have
no quota: the hub watches them, and the writable layer too; a student who stops the check blocks no one else)
and 100 MB for /tmp and ~/.cache (or a limited writable layer where the storage driver can). Each test starts
only the servers it needs.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator

import docker
import pytest
import requests
from docker.models.containers import Container
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

from harness.engine.containers import run_in
from harness.engine.waiting import wait_until
from harness.hub.client import Hub
from tests.utils.hub import hub_instance

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

CULL_TIMEOUT_S = 75
WORK_SIZE_MB = 300
SPAWN_TIMEOUT_S = 300
NOTICE = "/tmp/dl-lab-disk-notice"


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    with hub_instance(docker_engine, "dl-lab-hublim", variant="cpu", gpu=False, cull_timeout_s=CULL_TIMEOUT_S,
                      work_size=f"{WORK_SIZE_MB}M", tmp_size="100m", disk_check_interval_s=10) as started:
        started.create_users(["lleno", "temporal", "permisos", "ocupado", "quieto", "congela", "vecino", "capa"])
        yield started


def running(docker_engine: docker.DockerClient, hub: Hub, student: str) -> Container:
    hub.start_server(student)
    hub.wait_ready(student, timeout_s=SPAWN_TIMEOUT_S)
    return docker_engine.containers.get(f"{hub.name}-user-{student}")


def as_student(container: Container, command: str, *, timeout_s: int = 120) -> tuple[int, str]:
    return run_in(container, ["sh", "-c", command], timeout_s=timeout_s, user="jovyan")


def test_writing_past_the_limit_fails_in_tmp_and_the_cache(docker_engine: docker.DockerClient, hub: Hub) -> None:
    container = running(docker_engine, hub, "temporal")
    for folder in ("/tmp", "/home/jovyan/.cache"):
        code, output = as_student(container, f"dd if=/dev/zero of={folder}/grande bs=1M count=150")
        assert code != 0 and "No space left" in output, f"150 MB into {folder} did not fail: {output[-300:]}"
    hub.stop_server("temporal")


def test_the_hub_warns_then_stops_a_server_whose_work_folder_passes_its_limit(docker_engine: docker.DockerClient,
                                                                             hub: Hub) -> None:
    container = running(docker_engine, hub, "lleno")
    code, output = as_student(container, "dd if=/dev/zero of=/home/jovyan/work/datos1 bs=1M count=250")
    assert code == 0, output

    def warned() -> bool:
        return "Aviso" in as_student(container, f"cat {NOTICE} 2>/dev/null")[1]

    wait_until(warned, timeout_s=90, interval_s=3, what="the warning at 80 % of the work folder")
    as_student(container, "dd if=/dev/zero of=/home/jovyan/work/datos2 bs=1M count=100")
    wait_until(lambda: not hub.server_state("lleno"), timeout_s=120, interval_s=3, what="the full server to be stopped")
    assert "stopping the server" in hub.log_text(), "the hub's log does not say why it stopped the server"

    restarted = running(docker_engine, hub, "lleno")  # the student may come back to delete files
    environment = restarted.attrs["Config"]["Env"]
    assert any(item.startswith("DL_LAB_DISK_STOPPED=") and "límite" in item for item in environment), (
        "the restarted server does not tell the student why it was stopped")
    code, listing = as_student(restarted, "ls /home/jovyan/work")
    assert "datos1" in listing and "datos2" in listing, f"files were deleted: {listing}"
    time.sleep(30)  # a few checks: over the limit but not growing, it stays up
    assert hub.server_state("lleno"), "the restarted server was stopped although it did not grow"
    hub.stop_server("lleno")


def test_the_home_outside_the_work_folder_is_watched_where_the_layer_has_no_limit(docker_engine: docker.DockerClient,
                                                                                  hub: Hub) -> None:
    container = running(docker_engine, hub, "capa")
    if container.attrs["HostConfig"].get("StorageOpt"):
        pytest.skip("the storage driver limits the writable layer here (--storage-opt size=): nothing to watch")
    code, output = as_student(container, "mkdir -p ~/.local/relleno && dd if=/dev/zero of=$HOME/.local/relleno/a bs=1M "
                                         "count=250")
    assert code == 0, output

    def warned() -> bool:
        return "fuera de tu carpeta de trabajo" in as_student(container, f"cat {NOTICE} 2>/dev/null")[1]

    wait_until(warned, timeout_s=90, interval_s=3, what="the warning at 80 % of the writable layer")
    as_student(container, "dd if=/dev/zero of=$HOME/.local/relleno/b bs=1M count=100")
    wait_until(lambda: not hub.server_state("capa"), timeout_s=120, interval_s=3,
               what="the server whose writable layer passed the limit to be stopped")
    assert "writable layer holds" in hub.log_text(), "the hub's log does not say why it stopped the server"
    restarted = running(docker_engine, hub, "capa")
    environment = restarted.attrs["Config"]["Env"]
    assert any(item.startswith("DL_LAB_DISK_STOPPED=") and "fuera de tu carpeta" in item for item in environment), (
        "the restarted server does not tell the student why it was stopped")
    hub.stop_server("capa")


def test_a_work_folder_with_broken_permissions_is_repaired_at_start(docker_engine: docker.DockerClient,
                                                                   hub: Hub) -> None:
    container = running(docker_engine, hub, "permisos")
    code, output = as_student(container, "chmod 000 /home/jovyan/work")
    assert code == 0, output
    hub.stop_server("permisos")
    running(docker_engine, hub, "permisos")
    token = hub.user_token("permisos")
    listing = requests.get(hub.user_url("permisos", "api/contents/"), headers={"Authorization": f"token {token}"},
                           timeout=60)
    assert listing.status_code == 200, f"the contents API answered {listing.status_code} after chmod 000 ~/work"
    assert any(item["name"].endswith(".ipynb") for item in listing.json()["content"])
    hub.stop_server("permisos")


# What a student's notebook can run in the background: stop every `du` (the hub's disk check) the moment it starts.
FREEZE_DU = """
import os, signal
me = os.getpid()
while True:
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != me:
            try:
                if open(f"/proc/{pid}/comm").read().strip() == "du":
                    os.kill(int(pid), signal.SIGSTOP)
            except OSError:
                pass
"""
STOPPED_DU = 'for p in /proc/[0-9]*; do [ "$(cat $p/comm 2>/dev/null)" = du ] && cut -d" " -f3 $p/stat; done; true'


def test_a_student_who_stops_the_disk_check_blocks_no_one_and_is_stopped(docker_engine: docker.DockerClient,
                                                                        hub: Hub) -> None:
    """The student SIGSTOPs the hub's `du`: another student's server still starts and stops in normal time, and
    after a few checks that could not measure the folder the student's server is stopped (its volume kept)."""
    container = running(docker_engine, hub, "congela")
    # Many small files: a `du` that lives long enough for the loop to catch it every time.
    code, output = as_student(container, "mkdir -p ~/work/muchos && cd ~/work/muchos && seq 1 30000 | xargs touch",
                              timeout_s=300)
    assert code == 0, output
    code, output = run_in(container, ["sh", "-c", 'printf "%s" "$1" > /tmp/congela.py && '
                                      "(nohup python3 /tmp/congela.py >/dev/null 2>&1 &)", "sh", FREEZE_DU],
                          timeout_s=30, user="jovyan")
    assert code == 0, output
    wait_until(lambda: "T" in as_student(container, STOPPED_DU)[1], timeout_s=120, interval_s=2,
               what="the student to stop the hub's du")
    started = time.monotonic()
    running(docker_engine, hub, "vecino")
    hub.stop_server("vecino")
    took_s = time.monotonic() - started
    assert took_s < 180, f"another student's start and stop took {took_s:.0f} s while the disk check was stopped"
    wait_until(lambda: not hub.server_state("congela"), timeout_s=300, interval_s=5,
               what="the server whose work folder cannot be measured to be stopped")
    assert "could not be measured" in hub.log_text(), "the hub's log does not say why it stopped the server"
    docker_engine.volumes.get(f"{hub.name}-user-congela-work")  # the work folder stays

    def container_gone() -> bool:
        return not docker_engine.containers.list(all=True, filters={"name": f"{hub.name}-user-congela"})

    wait_until(container_gone, timeout_s=90, interval_s=3, what="the stopped server's container to be removed")


async def start_silent_cell(server_url: str, token: str, code: str) -> None:
    """Start a kernel, send it a cell and leave without waiting: it runs on, printing nothing."""
    headers = {"Authorization": f"token {token}"}
    kernel = requests.post(f"{server_url}api/kernels", headers=headers, json={}, timeout=60).json()
    url = server_url.replace("http", "ws", 1) + f"api/kernels/{kernel['id']}/channels"
    for attempt in range(3):  # a busy machine may drop the first connection
        try:
            connection = await websocket_connect(HTTPRequest(url, headers=headers, connect_timeout=60,
                                                             request_timeout=60))
            break
        except HTTPClientError:
            if attempt == 2:
                raise
            await asyncio.sleep(5)
    request = {"header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "",
                          "session": uuid.uuid4().hex, "version": "5.3", "date": ""},
               "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
               "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                           "allow_stdin": False, "stop_on_error": True}}
    await connection.write_message(json.dumps(request))
    await asyncio.sleep(2)
    connection.close()


def test_a_silent_busy_kernel_outlives_the_cull_timeout_and_an_idle_one_does_not(
        docker_engine: docker.DockerClient, hub: Hub) -> None:
    running(docker_engine, hub, "ocupado")
    running(docker_engine, hub, "quieto")
    busy_token, idle_token = hub.user_token("ocupado"), hub.user_token("quieto")
    asyncio.run(start_silent_cell(hub.user_url("ocupado"), busy_token,
                                  "import time\nfor _ in range(600):\n    time.sleep(0.5)\n"))
    requests.post(hub.user_url("quieto", "api/kernels"), headers={"Authorization": f"token {idle_token}"}, json={},
                  timeout=60)
    started = time.monotonic()
    wait_until(lambda: not hub.server_state("quieto"), timeout_s=CULL_TIMEOUT_S * 3, interval_s=5,
               what="the idle server to be culled")
    assert time.monotonic() - started >= CULL_TIMEOUT_S - 15, "the idle server was stopped before its timeout"
    time.sleep(max(0.0, CULL_TIMEOUT_S * 1.5 - (time.monotonic() - started)))
    assert hub.server_state("ocupado").get("ready"), "the server computing in silence was culled"
    hub.stop_server("ocupado")
