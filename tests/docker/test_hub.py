"""JupyterHub + DockerSpawner (deploy/jupyterhub/) with a real hub and real students' containers.

One hub instance for the module, on a random 127.0.0.1 port and with its own name, network
and volumes (so a `make hub` running beside it is untouched). Ten students are created through
the hub's REST API and their servers started at once; every check goes through the hub's proxy
as a browser would. Everything the instance created is removed at the end, and checked to be.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import pytest
import requests

from harness.config import REPO_ROOT, facts
from harness.engine.gpu import engine_gpu_support
from harness.errors import HarnessError
from harness.hub.instance import (
    Hub,
    HubSettings,
    admin_password_file,
    claim_admin,
    instance_label,
    instance_resources,
    login,
    start_hub,
    stop_hub,
)
from tests.utils.kernel_client import execute

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

STUDENTS = [f"alumno{number:02d}" for number in range(1, 11)]
SPAWN_TIMEOUT_S = 420  # 10 servers starting at once on 2 cores: generous, but bounded


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    name = f"dl-lab-hubtest-{secrets.token_hex(3)}"
    settings = HubSettings(name=name, port=0, variant="cpu", gpu=False, restart=False, mem_limit="1G")
    try:
        started = start_hub(settings)
        claim_admin(started, password_file=admin_password_file(name))
        yield started
    finally:
        stop_hub(name, volumes=True)
        left = instance_resources(docker_engine, name)
        assert not left, f"stopping the hub left these behind: {left}"
        assert not admin_password_file(name).exists(), "the admin password file of a removed hub was kept"


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    """The ten students' servers, started concurrently; each student's own API token."""
    hub.create_users(STUDENTS)
    hub.start_servers(STUDENTS, timeout_s=SPAWN_TIMEOUT_S)
    return {student: hub.user_token(student, note="test") for student in STUDENTS}


def get(hub: Hub, student: str, path: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return requests.get(hub.user_url(student, path), headers=headers, timeout=60, allow_redirects=False)


def container_of(client: docker.DockerClient, hub: Hub, student: str) -> Any:
    return client.containers.get(f"{hub.name}-user-{student}")


def lab00(hub: Hub, student: str, token: str) -> tuple[str, dict[str, Any]]:
    """(path, notebook) of lab 00 in the student's work folder, copied there on first start."""
    listing = get(hub, student, "api/contents/", token).json()
    names = sorted(item["name"] for item in listing.get("content", []))
    candidates = [name for name in names if name.startswith("00") and name.endswith(".ipynb")]
    assert candidates, (
        f"{student}'s work folder has no lab 00 notebook (has {names}): start.sh copies {facts().labs_dir} "
        f"of the image into ~/work on first start; is the image built with the labs (make image-cpu)?"
    )
    notebook = get(hub, student, f"api/contents/{candidates[0]}?content=1", token).json()["content"]
    return candidates[0], notebook


def test_every_students_server_answers_through_the_proxy(hub: Hub, tokens: dict[str, str]) -> None:
    for student, token in tokens.items():
        response = get(hub, student, "api/me", token)
        assert response.status_code == 200, f"{student}'s server answered {response.status_code} through the proxy"
        assert response.json()["identity"]["username"] == student, f"{student} reached {response.json()}"


def test_every_server_runs_a_cell_of_lab_00(hub: Hub, tokens: dict[str, str]) -> None:
    def run_first_cell(student: str) -> tuple[str, str, str]:
        path, notebook = lab00(hub, student, tokens[student])
        code = next(("".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                     for cell in notebook["cells"] if cell["cell_type"] == "code"), None)
        assert code is not None, f"{path} has no code cell"
        result = execute(hub.user_url(student), tokens[student], code, timeout_s=240)
        return path, result.status, result.error

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        results = dict(zip(tokens, pool.map(run_first_cell, tokens), strict=True))
    failed = {student: r for student, r in results.items() if r[1] != "ok"}
    assert not failed, f"the first code cell of lab 00 failed for: {failed}"


@pytest.mark.parametrize(
    ("what", "path"),
    [("the server", "api/me"), ("the files", "api/contents/"), ("the kernels", "api/kernels")],
)
def test_a_student_cannot_reach_another_students(hub: Hub, tokens: dict[str, str], what: str, path: str) -> None:
    intruder, victim = STUDENTS[0], STUDENTS[1]
    response = get(hub, victim, path, tokens[intruder])
    assert response.status_code in {302, 403, 404}, (
        f"{intruder}'s token reached {what} of {victim} through the proxy ({response.status_code})"
    )


def test_the_network_does_not_bypass_authentication(
    docker_engine: docker.DockerClient, hub: Hub, tokens: dict[str, str]
) -> None:
    """From inside one student's container, another's server (same network) still wants credentials."""
    intruder, victim = STUDENTS[0], STUDENTS[1]
    victim_ip = next(iter(container_of(docker_engine, hub, victim).attrs["NetworkSettings"]["Networks"].values()))[
        "IPAddress"]
    url = f"http://{victim_ip}:{facts().jupyter_port}/user/{victim}/api/contents/"
    probe = (
        "import urllib.request, urllib.error\n"
        f"request = urllib.request.Request({url!r}, headers={{'Authorization': 'token {tokens[intruder]}'}})\n"
        "try:\n    print(urllib.request.urlopen(request, timeout=10).status)\n"
        "except urllib.error.HTTPError as error:\n    print(error.code)\n"
    )
    code, output = container_of(docker_engine, hub, intruder).exec_run(["python", "-c", probe], user=str(facts().nb_uid))
    assert code == 0 and output.decode().strip() in {"302", "403"}, (
        f"{intruder} asked {victim}'s server directly over the network and got: {output.decode().strip()}"
    )


def test_each_container_mounts_only_its_own_volume(docker_engine: docker.DockerClient, hub: Hub,
                                                   tokens: dict[str, str]) -> None:
    for student in tokens:
        mounts = container_of(docker_engine, hub, student).attrs["Mounts"]
        names = [mount.get("Name") for mount in mounts]
        assert names == [f"{hub.name}-user-{student}-work"], f"{student}'s container mounts {names}"
        assert mounts[0]["Destination"] == f"/home/{facts().nb_user}/work", f"{student}: {mounts[0]}"


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("Memory", 1024**3),
        ("NanoCpus or CpuQuota/CpuPeriod", 1.0),
        ("ShmSize", 1024**3),
        ("CapDrop", ["ALL"]),
    ],
)
def test_limits_of_every_students_container(docker_engine: docker.DockerClient, hub: Hub, tokens: dict[str, str],
                                            setting: str, expected: object) -> None:
    for student in tokens:
        host = container_of(docker_engine, hub, student).attrs["HostConfig"]
        if setting.startswith("NanoCpus"):
            value: object = host["NanoCpus"] / 1e9 if host.get("NanoCpus") else host["CpuQuota"] / host["CpuPeriod"]
        else:
            value = host[setting]
        assert value == expected, f"{student}'s container has {setting}={value!r}, expected {expected!r}"


def test_every_students_kernels_are_culled_when_idle(docker_engine: docker.DockerClient, hub: Hub,
                                                    tokens: dict[str, str]) -> None:
    # The image's Jupyter config reads it (tests/test_images.py checks that it does cull).
    wanted = f"DL_LAB_KERNEL_CULL_TIMEOUT={HubSettings().kernel_cull_timeout_s}"
    for student in tokens:
        environment = container_of(docker_engine, hub, student).attrs["Config"]["Env"]
        assert wanted in environment, f"{student}'s server does not cull idle kernels: {wanted} not in its environment"


def test_everything_the_hub_creates_is_labelled(docker_engine: docker.DockerClient, hub: Hub,
                                                tokens: dict[str, str]) -> None:
    flt = {"label": f"{instance_label()}={hub.name}"}
    containers = {c.name for c in docker_engine.containers.list(filters=flt)}
    volumes = {v.name for v in docker_engine.volumes.list(filters=flt)}
    expected_containers = {hub.name} | {f"{hub.name}-user-{s}" for s in STUDENTS}
    assert expected_containers <= containers, f"unlabelled containers: {sorted(expected_containers - containers)}"
    expected_volumes = {f"{hub.name}-data"} | {f"{hub.name}-user-{s}-work" for s in STUDENTS}
    assert expected_volumes <= volumes, f"unlabelled volumes: {sorted(expected_volumes - volumes)}"
    for container in docker_engine.containers.list(filters=flt):
        assert container.labels.get(facts().project_label) == "hub", f"{container.name} lacks the project label"


@pytest.mark.parametrize(
    ("who", "path"),
    [("nobody", "hub/api/users"), ("nobody", "user/{student}/api/contents/"), ("nobody", "user/{student}/lab")],
)
def test_nothing_is_open_without_credentials(hub: Hub, tokens: dict[str, str], who: str, path: str) -> None:
    url = f"{hub.url}/{path.format(student=STUDENTS[0])}"
    response = requests.get(url, timeout=30, allow_redirects=False)
    location = response.headers.get("Location", "")
    refused = response.status_code in {401, 403} or (
        response.status_code == 302 and ("/login" in location or "/oauth2/authorize" in location)
    )
    assert refused, f"{who} got {response.status_code} from {path} ({response.headers.get('Location')})"


@pytest.mark.parametrize(
    ("user", "password", "admitted"),
    [
        ("profesor", None, True),  # the admin, whose password `hub up` set at once
        ("profesor", "a-guess-of-the-password", False),
        ("intruso", "any-password-at-all", False),  # no account: first use does not create one
    ],
)
def test_only_known_accounts_log_in(hub: Hub, user: str, password: str | None, admitted: bool) -> None:
    password = password or admin_password_file(hub.name).read_text().strip()
    try:
        login(hub, user, password)
        logged_in = True
    except HarnessError:
        logged_in = False
    assert logged_in == admitted, f"{user} {'could not' if admitted else 'could'} log in"


def test_idle_culler_runs(hub: Hub) -> None:
    services = hub.checked("GET", "services", ok=[200]).json()
    culler = services.get("idle-culler", {})
    assert culler.get("pid"), f"the idle-culler service is not running: {services}"


def test_work_survives_stopping_and_restarting_the_server(docker_engine: docker.DockerClient, hub: Hub,
                                                          tokens: dict[str, str]) -> None:
    student, token = STUDENTS[2], tokens[STUDENTS[2]]
    headers = {"Authorization": f"token {token}"}
    path, notebook = lab00(hub, student, token)
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "Mi respuesta: 42"})
    saved = requests.put(hub.user_url(student, f"api/contents/{path}"), headers=headers, timeout=60,
                         json={"type": "notebook", "format": "json", "content": notebook})
    assert saved.status_code == 200, f"saving {path} failed: {saved.status_code} {saved.text[:200]}"
    extra = requests.put(hub.user_url(student, "api/contents/notas.txt"), headers=headers, timeout=60,
                         json={"type": "file", "format": "text", "content": "apuntes"})
    assert extra.status_code in {200, 201}, f"saving notas.txt failed: {extra.status_code}"

    hub.stop_server(student)
    assert not docker_engine.containers.list(all=True, filters={"name": f"^{hub.name}-user-{student}$"}), (
        f"{student}'s container outlived its server"
    )
    hub.start_server(student)
    hub.wait_ready(student, timeout_s=SPAWN_TIMEOUT_S)

    _, reloaded = lab00(hub, student, token)
    sources = ["".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
               for cell in reloaded["cells"]]
    assert "Mi respuesta: 42" in sources, f"{student}'s edit of {path} was lost (or overwritten by the course copy)"
    notes = get(hub, student, "api/contents/notas.txt?content=1", token)
    assert notes.status_code == 200 and notes.json()["content"] == "apuntes", f"notas.txt was lost: {notes.status_code}"


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *arguments], capture_output=True, text=True, timeout=120,
                          check=False, cwd=REPO_ROOT)


@pytest.mark.parametrize("problem", ["port taken", "GPU without runtime"])
def test_hub_up_says_what_to_fix(docker_engine: docker.DockerClient, cpu_image: str, problem: str) -> None:
    name = f"dl-lab-hubtest-{secrets.token_hex(3)}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        arguments = ["hub", "up", "--name", name, "--port", str(taken.getsockname()[1]), "--variant", "cpu"]
        if problem == "GPU without runtime":
            if engine_gpu_support(docker_engine).available:
                pytest.skip("this engine does give containers a GPU")
            taken.close()
            arguments += ["--gpu", "1"]
        try:
            result = cli(*arguments)
        finally:
            stop_hub(name, volumes=True)
    expected = {"port taken": "is taken", "GPU without runtime": "GPU=1 but"}[problem]
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and expected in lines[0], (
        f"`harness {' '.join(arguments)}` should fail with one line saying {expected!r}: "
        f"exit {result.returncode}, {result.stderr!r}"
    )
    assert not instance_resources(docker_engine, name), "a refused `hub up` still started something"
