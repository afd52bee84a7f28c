"""GPU sharing on the one-server hub, on an engine without GPUs: what the spawner asks the engine for.

The hub is started as `make hub` would start it on a two-GPU server (DL_LAB_GPU_IDS=0,1) with GPU
servers for the group "cnn" only; only the engine's NVIDIA runtime is missing. So the hub's
round-robin really runs, the engine really records each GPU server's device request (the hub reads
it back from the engine and logs it) and then refuses to start it ("could not select device
driver"), which is what it must do without the runtime. CPU servers start for real, without one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import docker
import pytest

from harness.config import REPO_ROOT
from harness.engine.waiting import wait_until
from harness.errors import HarnessError
from harness.hub.accounts import store_passwords
from harness.hub.client import Hub, login
from harness.hub.plan import HubPlan
from tests.utils.hub import hub_instance
from tests.utils.jupyter import run_in_image

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(600)]

FAKE_GPUS = ("0", "1")
GROUP = "cnn"
MEMBERS = ["cnn01", "cnn02", "cnn03"]
OTHERS = ["otro01", "otro02"]
SPAWN_TIMEOUT_S = 180
ENGINE_RECORD = re.compile(r"GPU server (\S+) as the engine recorded it: (.*)$", re.MULTILINE)


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    # What plan_hub decides on a server with two GPUs, but for the CPU image (the one built here).
    plan = HubPlan(image=cpu_image, gpu_ids=FAKE_GPUS, work_size="")
    with hub_instance(docker_engine, "dl-lab-hubtest", plan=plan, gpu_group=GROUP, gpu_memory_fraction=0.25) as started:
        started.create_users(MEMBERS + OTHERS)
        started.add_to_group(GROUP, MEMBERS)
        yield started


def spawn_and_settle(hub: Hub, user: str, options: dict[str, str]) -> dict[str, Any]:
    """Ask for the server and wait until it is ready or gone; the hub's model of it (with stopped servers)."""
    response = hub.api("POST", f"users/{user}/server", json=options)
    assert response.status_code in {201, 202, 500}, f"{user}: {response.status_code} {response.text[:200]}"

    def settled() -> bool:
        state = hub.server_state(user)
        return not state or bool(state.get("ready"))

    wait_until(settled, timeout_s=SPAWN_TIMEOUT_S, interval_s=0.5, what=f"{user}'s spawn to finish")
    model: dict[str, Any] = hub.checked("GET", f"users/{user}?include_stopped_servers=1", ok=[200]).json()
    server: dict[str, Any] = model["servers"].get("", {})
    return server


@pytest.fixture(scope="module")
def gpu_spawns(hub: Hub) -> dict[str, dict[str, Any]]:
    """The group's members ask for GPU servers one after the other (each refused by the engine)."""
    return {member: spawn_and_settle(hub, member, {}) for member in MEMBERS}


def engine_records(hub: Hub) -> dict[str, dict[str, Any]]:
    """container name -> its DeviceRequests and GPU memory cap, as the hub read them back from the engine."""
    return {name: json.loads(record) for name, record in ENGINE_RECORD.findall(hub.log_text())}


def test_gpu_servers_get_one_gpu_each_round_robin(hub: Hub, gpu_spawns: dict[str, dict[str, Any]]) -> None:
    records = engine_records(hub)
    got = {}
    for member in MEMBERS:
        container = f"{hub.name}-user-{member}"
        assert container in records, f"no device request was recorded for {member}; hub log: {hub.log_tail(30)}"
        (request,) = records[container]["DeviceRequests"]
        assert request["Driver"] == "nvidia" and request["Capabilities"] == [["gpu"]], request
        got[member] = request["DeviceIDs"]
    assert got == {"cnn01": ["0"], "cnn02": ["1"], "cnn03": ["0"]}, f"not round-robin over {FAKE_GPUS}: {got}"


def test_the_engine_without_the_nvidia_runtime_refuses_them(hub: Hub, gpu_spawns: dict[str, dict[str, Any]]) -> None:
    log = hub.log_text()
    for member in MEMBERS:
        assert not gpu_spawns[member].get("ready"), f"{member}'s GPU server started on an engine without GPUs"
        assert re.search(rf"error starting {member}'s server: .*could not select device driver", log), (
            f"the hub's log does not show the engine refusing {member}'s GPU request"
        )


def test_the_admin_view_shows_each_servers_gpu(gpu_spawns: dict[str, dict[str, Any]]) -> None:
    """JupyterHub's admin panel shows user_options['profile'] in its 'Profile' column."""
    profiles = {member: server.get("user_options", {}).get("profile") for member, server in gpu_spawns.items()}
    assert profiles == {"cnn01": "gpu 0", "cnn02": "gpu 1", "cnn03": "gpu 0"}, profiles


def test_the_hub_log_records_every_assignment(hub: Hub, gpu_spawns: dict[str, dict[str, Any]]) -> None:
    assigned = re.findall(r"GPU assignment: (\S+) gets (\S+)", hub.log_text())
    assert assigned == [("cnn01", "0"), ("cnn02", "1"), ("cnn03", "0")], assigned
    released = re.findall(r"GPU assignment: (\S+) released", hub.log_text())
    assert sorted(released) == MEMBERS, f"a failed GPU server kept its device: released {released}"


def test_a_failed_spawn_says_what_the_hubs_log_says(hub: Hub, gpu_spawns: dict[str, dict[str, Any]]) -> None:
    """The hub answers 500 to a spawn the engine refuses; the harness's error carries the log's error line."""
    member = MEMBERS[0]
    with pytest.raises(HarnessError) as refused:
        hub.start_server(member)
    assert "answered 500" in str(refused.value), str(refused.value)
    assert re.search(r"its log says: .*could not select device driver", str(refused.value)), str(refused.value)


@pytest.mark.parametrize(
    ("user", "options"),
    [
        ("otro01", {}),  # not in the group: a CPU server
        ("otro02", {"profile": "gpu"}),  # not in the group, asking for a GPU: a CPU server all the same
    ],
)
def test_the_others_get_cpu_servers(docker_engine: docker.DockerClient, hub: Hub, user: str,
                                    options: dict[str, str]) -> None:
    server = spawn_and_settle(hub, user, options)
    assert server.get("ready"), f"{user}'s CPU server did not start: {hub.log_tail(20)}"
    assert server["user_options"]["profile"] == "cpu", server["user_options"]
    host = docker_engine.containers.get(f"{hub.name}-user-{user}").attrs
    assert not host["HostConfig"].get("DeviceRequests"), f"{user}'s CPU server asks for GPUs: {host['HostConfig']}"
    environment = host["Config"]["Env"]
    assert not any(item.startswith("DL_LAB_GPU_MEMORY_FRACTION=") for item in environment), (
        f"{user}'s CPU server got the GPU memory cap"
    )
    hub.stop_server(user)


def test_a_member_may_choose_a_cpu_server(docker_engine: docker.DockerClient, hub: Hub,
                                          gpu_spawns: dict[str, dict[str, Any]]) -> None:
    server = spawn_and_settle(hub, MEMBERS[0], {"profile": "cpu"})
    assert server.get("ready") and server["user_options"]["profile"] == "cpu", server
    host_config = docker_engine.containers.get(f"{hub.name}-user-{MEMBERS[0]}").attrs["HostConfig"]
    assert not host_config.get("DeviceRequests"), "a CPU server chosen by a member still asks for a GPU"
    hub.stop_server(MEMBERS[0])


def test_the_spawn_form_offers_a_gpu_to_members_only(hub: Hub) -> None:
    passwords = {user: f"clave-{user}-0123" for user in (MEMBERS[1], OTHERS[0])}
    store_passwords(hub, passwords, replace=True)
    for user, offered in ((MEMBERS[1], True), (OTHERS[0], False)):
        session = login(hub, user, passwords[user], new_password=f"propia-de-{user}")
        # Without a form to fill, the spawn page starts the (CPU) server at once: stopped again below.
        page = session.get(f"{hub.url}/hub/spawn/{user}", timeout=60)
        has_choice = 'name="profile"' in page.text
        assert has_choice == offered, f"{user} {'gets no' if offered else 'gets a'} GPU choice ({page.status_code})"
        spawn_and_settle_stop(hub, user)


def spawn_and_settle_stop(hub: Hub, user: str) -> None:
    wait_until(lambda: not hub.server_state(user).get("pending"), timeout_s=SPAWN_TIMEOUT_S, interval_s=0.5,
               what=f"{user}'s spawn to finish")
    if hub.server_state(user):
        hub.stop_server(user)


def test_the_gpu_memory_cap_goes_to_gpu_servers_only(hub: Hub, gpu_spawns: dict[str, dict[str, Any]]) -> None:
    records = engine_records(hub)
    caps = {member: records[f"{hub.name}-user-{member}"]["memory_fraction"] for member in MEMBERS}
    assert caps == dict.fromkeys(MEMBERS, "0.25"), f"GPU servers' DL_LAB_GPU_MEMORY_FRACTION: {caps}"


KERNEL_CONFIG = REPO_ROOT / "docker" / "jupyter" / "ipython_kernel_config.py"
# Starts a real IPython kernel in the image and asks it whether the cap's code ran at its start.
KERNEL_PROBE = (
    "from jupyter_client.manager import start_new_kernel\n"
    "km, kc = start_new_kernel(kernel_name='python3')\n"
    "out = []\n"
    "kc.execute_interactive(\"import sys; print('torch' in sys.modules, '_dl_lab_cap_gpu_memory' in dir())\",\n"
    "                       timeout=60, output_hook=lambda m: out.append(m['content'].get('text', '')))\n"
    "print('kernel:', ''.join(out).strip())\n"
    "kc.stop_channels(); km.shutdown_kernel(now=True)\n"
)


@pytest.mark.parametrize(("fraction", "applied"), [("0.25", True), ("", False), ("0", False)])
def test_the_image_applies_the_gpu_memory_cap_at_kernel_start(docker_engine: docker.DockerClient, cpu_image: str,
                                                              fraction: str, applied: bool) -> None:
    """docker/jupyter/ipython_kernel_config.py, mounted where the image's Dockerfile copies it (/etc/ipython)."""
    volumes = {str(KERNEL_CONFIG): {"bind": "/etc/ipython/ipython_kernel_config.py", "mode": "ro"}}
    status, output = run_in_image(docker_engine, cpu_image, ["python", "-c", KERNEL_PROBE], volumes=volumes,
                                  environment={"DL_LAB_GPU_MEMORY_FRACTION": fraction}, network_mode="none")
    assert status == 0, f"the kernel probe failed: {output[-1500:]}"
    # torch imported by the cap's code at start (no GPU here: nothing to cap), and its helper cleaned up.
    assert f"kernel: {applied} False" in output, f"DL_LAB_GPU_MEMORY_FRACTION={fraction!r}: {output[-500:]}"
