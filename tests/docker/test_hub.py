"""JupyterHub + DockerSpawner (deploy/jupyterhub/) with a real hub and real students' containers.

One hub instance for the module, on a random 127.0.0.1 port and with its own name, networks
and volumes (so a `make hub` running beside it is untouched). Ten students get accounts the way
an instructor makes them (`harness hub users`: a random password each) and their servers are
started at once; every check goes through the hub's proxy as a browser would, and the isolation
checks run from inside a student's container. Everything the instance created is removed at the
end, and checked to be.
"""

from __future__ import annotations

import csv
import ipaddress
import json
import secrets
import socket
import sqlite3
import stat
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from harness.config import facts
from harness.engine.containers import run_in
from harness.engine.gpu import gpu_decision
from harness.errors import HarnessError
from harness.hub.accounts import Accounts, create_accounts
from harness.hub.client import Hub, change_password, login
from harness.hub.credentials import admin_password_file
from harness.hub.instance import instance_resources, purge_hub, start_hub
from harness.hub.settings import HubSettings, instance_label
from tests.utils.cli import HARNESS, assert_one_error_line, run_to_end
from tests.utils.hub import hub_instance
from tests.utils.kernel_client import execute

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

STUDENTS = [f"alumno{number:02d}" for number in range(1, 11)]
SPAWN_TIMEOUT_S = 420  # 10 servers starting at once on 2 cores: generous, but bounded
EXEC_TIMEOUT_S = 30  # bounds a probe run inside a student's container (exec_run has no timeout)


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    with hub_instance(docker_engine, "dl-lab-hubtest", variant="cpu", gpu=False) as started:
        yield started
    assert not admin_password_file(started.name).exists(), "the admin password file of a purged hub was kept"


@pytest.fixture(scope="module")
def class_accounts(hub: Hub) -> Accounts:
    """The ten students' accounts, made as `harness hub users` makes them: a random password each."""
    return create_accounts(hub, STUDENTS)


@pytest.fixture(scope="module")
def tokens(hub: Hub, class_accounts: Accounts) -> dict[str, str]:
    """The ten students' servers, started concurrently; each student's own API token."""
    hub.start_servers(STUDENTS, timeout_s=SPAWN_TIMEOUT_S)
    return {student: hub.user_token(student, note="test") for student in STUDENTS}


@pytest.fixture(scope="module")
def containers(docker_engine: docker.DockerClient, hub: Hub, tokens: dict[str, str]) -> dict[str, Any]:
    """Each running student's container."""
    return {student: container_of(docker_engine, hub, student) for student in tokens}


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


def probe(container: Any, host: str, port: int) -> str:
    """From inside a container, as its user: 'open' when host:port accepts a connection, else the error."""
    code = (
        "import socket, sys\n"
        "try:\n"
        f"    socket.create_connection(({host!r}, {port}), timeout=3).close()\n"
        "    print('open')\n"
        "except OSError as error:\n"
        "    print(type(error).__name__, error)\n"
    )
    exit_code, output = run_in(container, ["python", "-c", code], timeout_s=EXEC_TIMEOUT_S, user=str(facts().nb_uid))
    assert exit_code == 0, f"the probe itself failed in {container.name}: {output}"
    return output.strip()


def address_of(container: Any) -> str:
    networks = container.attrs["NetworkSettings"]["Networks"]
    assert len(networks) == 1, f"{container.name} is on {sorted(networks)}: a student's server is on its own network"
    return str(next(iter(networks.values()))["IPAddress"])


@pytest.fixture(scope="module")
def host_service() -> Iterator[int]:
    """A service of this machine (the Docker host) listening on all its addresses: its port."""
    with socket.socket() as listener:
        listener.bind(("0.0.0.0", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def host_address() -> str:
    """This machine's first address other than loopback and Docker's bridges' (its LAN address, usually)."""
    output = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10, check=False).stdout
    addresses = [item for item in output.split() if ":" not in item and not item.startswith(("127.", "172."))]
    return addresses[0] if addresses else output.split()[0]


def gateway_address(ipam: dict[str, str]) -> str:
    """The address the container routes through (the subnet's first, when Docker names none)."""
    return ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))


@pytest.fixture(scope="module")
def addresses(docker_engine: docker.DockerClient, hub: Hub, containers: dict[str, Any],
              host_service: int) -> dict[str, str]:
    """What the isolation targets name: the hub, the victim, the intruder's gateway, the host, the listener."""
    intruder_network = docker_engine.networks.get(next(iter(containers[STUDENTS[0]].attrs["NetworkSettings"]["Networks"])))
    return {"hub": hub.name, "victim": address_of(containers[STUDENTS[1]]),
            "gateway": gateway_address(intruder_network.attrs["IPAM"]["Config"][0]), "host": host_address(),
            "listener": str(host_service)}


ISOLATION = [
    # (what, how to find host and port, reachable?)
    ("the hub's proxy, the way to the hub's API", "hub:8000", True),
    ("another student's server", "victim:8888", False),
    ("the hub's internal API", "hub:8081", False),
    ("the proxy's own API", "hub:8001", False),
    ("cloud metadata (link-local)", "169.254.169.254:80", False),
    ("a public address", "1.1.1.1:443", False),
    ("a service of the Docker host, at the network's gateway", "gateway:listener", False),
    ("a service of the Docker host, at its own address", "host:listener", False),
]


@pytest.mark.parametrize(("what", "target", "reachable"), ISOLATION, ids=[case[0] for case in ISOLATION])
def test_a_students_container_reaches_only_the_proxy(containers: dict[str, Any], addresses: dict[str, str],
                                                     what: str, target: str, reachable: bool) -> None:
    intruder = containers[STUDENTS[0]]
    host, port = (addresses.get(part, part) for part in target.rsplit(":", 1))
    outcome = probe(intruder, host, int(port))
    assert (outcome == "open") == reachable, (
        f"from {STUDENTS[0]}'s container, {what} ({host}:{port}) should be "
        f"{'reachable' if reachable else 'unreachable'}: {outcome}"
    )


def test_each_student_is_alone_with_the_hub_on_an_internal_network(docker_engine: docker.DockerClient, hub: Hub,
                                                                   tokens: dict[str, str]) -> None:
    hub_container = docker_engine.containers.get(hub.name)
    for student in tokens:
        container = container_of(docker_engine, hub, student)
        (network_name,) = container.attrs["NetworkSettings"]["Networks"]
        network = docker_engine.networks.get(network_name)
        members = {c.name for c in network.containers}
        assert members == {container.name, hub_container.name}, f"{student}'s network {network_name} holds {members}"
        assert network.attrs["Internal"], f"{network_name} is not internal: {student} has a route out"
        assert network.attrs["Labels"].get(instance_label()) == hub.name, f"{network_name} is not labelled"


def test_each_container_mounts_only_its_own_volume(docker_engine: docker.DockerClient, hub: Hub,
                                                   tokens: dict[str, str]) -> None:
    for student in tokens:
        mounts = container_of(docker_engine, hub, student).attrs["Mounts"]
        names = [mount.get("Name") for mount in mounts]
        assert names == [f"{hub.name}-user-{student}-work"], f"{student}'s container mounts {names}"
        assert mounts[0]["Destination"] == f"/home/{facts().nb_user}/work", f"{student}: {mounts[0]}"


def _cpus(host: dict[str, Any]) -> float:
    return float(host["NanoCpus"] / 1e9 if host.get("NanoCpus") else host["CpuQuota"] / host["CpuPeriod"])


@pytest.mark.parametrize(
    ("setting", "read", "expected"),
    [
        ("Memory", lambda host: host["Memory"], 1024**3),
        ("MemorySwap", lambda host: host["MemorySwap"], 1024**3),  # = Memory: no swap
        ("CPUs", _cpus, 1.0),
        ("ShmSize", lambda host: host["ShmSize"], 1024**3),
        ("CapDrop", lambda host: host["CapDrop"], ["ALL"]),
        ("DeviceRequests", lambda host: host["DeviceRequests"], None),  # a hub without GPUs gives none
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_limits_of_every_students_container(docker_engine: docker.DockerClient, hub: Hub, tokens: dict[str, str], *,
                                            setting: str, read: Callable[[dict[str, Any]], object],
                                            expected: object) -> None:
    for student in tokens:
        value = read(container_of(docker_engine, hub, student).attrs["HostConfig"])
        assert value == expected, f"{student}'s container has {setting}={value!r}, expected {expected!r}"


def test_every_students_torch_threads_fit_its_cpus(docker_engine: docker.DockerClient, hub: Hub,
                                                   tokens: dict[str, str]) -> None:
    for student in tokens:
        environment = container_of(docker_engine, hub, student).attrs["Config"]["Env"]
        assert {"OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1"} <= set(environment), (
            f"{student}'s server has 1 CPU: torch must run 1 thread, not one per host core: {environment}")


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
        ("profesor", "the saved one", True),  # the admin, whose password `hub up` set before the hub started
        ("profesor", "a-guess-of-the-password", False),
        ("alumno01", "the one in the list", True),
        ("alumno01", "a-guess-of-the-password", False),
        ("intruso", "any-password-at-all", False),  # no account: logging in does not create one
    ],
)
def test_only_known_accounts_log_in(hub: Hub, class_accounts: Accounts, user: str, password: str,
                                    admitted: bool) -> None:
    known = {"the saved one": admin_password_file(hub.name).read_text().strip(),
             "the one in the list": class_accounts.passwords.get(user, "")}
    try:
        # An initial password leads to choosing a new one (tests/docker/test_hub_accounts.py): then the student is in.
        login(hub, user, known.get(password, password), new_password="elegida-por-mi-1")
        logged_in = True
    except HarnessError:
        logged_in = False
    assert logged_in == admitted, f"{user} {'could not' if admitted else 'could'} log in"


def test_an_account_without_a_password_cannot_be_claimed(hub: Hub) -> None:
    """Created some other way (the admin panel, the API), the account waits for a password from an admin."""
    hub.create_users(["sinclave"])
    for attempt in ("first-visitor-password", "first-visitor-password"):
        with pytest.raises(HarnessError):
            login(hub, "sinclave", attempt)
    assert "sinclave has no password yet" in hub.log_text(), "the hub's log does not say why the login was refused"


def test_the_password_list_is_the_instructors_only(hub: Hub, class_accounts: Accounts) -> None:
    path = class_accounts.password_list
    assert path is not None and path.exists(), "create_accounts wrote no password list"
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, f"{path} has mode {oct(mode)}: others could read the class's passwords"
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["username"] for row in rows) == STUDENTS, f"the list has {[row['username'] for row in rows]}"
    assert all(len(row["password"]) >= 10 and row["url"] == f"{hub.url}/hub/login" for row in rows), rows[0]


def test_a_student_changes_their_password(hub: Hub, class_accounts: Accounts) -> None:
    student, old = STUDENTS[9], class_accounts.passwords[STUDENTS[9]]
    session = login(hub, student, old, new_password="una-clave-nueva-41")
    page = session.get(f"{hub.url}/hub/auth/change-password", timeout=30)
    assert page.status_code == 200, f"the change-password page answered {page.status_code}"
    changed = change_password(hub, session, student, current="una-clave-nueva-41", new="una-clave-nueva-42")
    assert changed.status_code == 200 and "Contraseña cambiada" in changed.text, changed.text[:300]
    login(hub, student, "una-clave-nueva-42")
    with pytest.raises(HarnessError):
        login(hub, student, old)


def test_an_instructor_resets_a_forgotten_password(hub: Hub, class_accounts: Accounts, tmp_path: Path) -> None:
    student = STUDENTS[8]
    listing = tmp_path / "reset.csv"
    result = run_to_end([*HARNESS, "hub", "users", "--name", hub.name, "--reset", student, "--out", str(listing)])
    assert result.returncode == 0, f"`harness hub users --reset` failed: {result.stderr}"
    with listing.open() as handle:
        (row,) = list(csv.DictReader(handle))
    login(hub, student, row["password"], new_password="elegida-tras-olvidarla")
    with pytest.raises(HarnessError):
        login(hub, student, class_accounts.passwords[student])


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


def _refused_in_one_line(client: docker.DockerClient, name: str, arguments: list[str], expected: str) -> None:
    try:
        result = run_to_end([*HARNESS, *arguments])
    finally:
        purge_hub(name)
    assert_one_error_line(result, expected, what=f"`harness {' '.join(arguments)}`")
    assert not instance_resources(client, name), "a refused `hub up` still started something"


def test_hub_up_on_a_taken_port_says_what_to_fix(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    name = f"dl-lab-hubtest-{secrets.token_hex(3)}"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        arguments = ["hub", "up", "--name", name, "--port", str(taken.getsockname()[1]), "--variant", "cpu"]
        _refused_in_one_line(docker_engine, name, arguments, "is taken")


def test_hub_up_asking_for_a_gpu_where_there_is_none_says_what_to_fix(docker_engine: docker.DockerClient,
                                                                      cpu_image: str) -> None:
    if gpu_decision(docker_engine).use_gpu:
        pytest.skip("this engine gives containers a GPU: the refusal cannot be observed here")
    name = f"dl-lab-hubtest-{secrets.token_hex(3)}"
    arguments = ["hub", "up", "--name", name, "--port", "0", "--variant", "cpu", "--gpu", "1"]
    _refused_in_one_line(docker_engine, name, arguments, "a GPU was asked for but")


def test_backup_of_a_running_hub_holds_every_students_work(hub: Hub, tokens: dict[str, str], tmp_path: Path) -> None:
    result = run_to_end([*HARNESS, "hub", "backup", "--name", hub.name, "--out", str(tmp_path)])
    assert result.returncode == 0, f"`harness hub backup` failed: {result.stderr}"
    (archive,) = list(tmp_path.glob(f"{hub.name}-*.tar.gz"))
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600, "the backup holds password hashes: it must be 0600"
    with tarfile.open(archive, "r:gz") as tar:
        names = tar.getnames()
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
        database = tar.extractfile(f"volumes/{hub.name}-data/jupyterhub.sqlite")
        assert database is not None, "the hub's database is not in the backup"
        (tmp_path / "hub.sqlite").write_bytes(database.read())
    for student in STUDENTS:
        volume = f"{hub.name}-user-{student}-work"
        notebooks = [name for name in names if name.startswith(f"volumes/{volume}/") and name.endswith(".ipynb")]
        assert notebooks, f"{student}'s notebooks are not in the backup"
    assert {v["name"] for v in manifest["volumes"]} >= {f"{hub.name}-data"}, manifest
    with sqlite3.connect(tmp_path / "hub.sqlite") as db:
        users = {row[0] for row in db.execute("select name from users")}
    assert set(STUDENTS) <= users, f"the backed-up database lacks accounts: {sorted(set(STUDENTS) - users)}"


def test_restarting_the_hub_keeps_the_students_servers(docker_engine: docker.DockerClient, hub: Hub,
                                                       tokens: dict[str, str]) -> None:
    """`make hub` again (an upgrade): the new hub joins the students' networks and reaches their servers."""
    old_id = hub.container.id
    restarted = start_hub(HubSettings(name=hub.name, port=0, variant="cpu", gpu=False, restart=False, mem_limit="1G"))
    assert restarted.container.id != old_id, "the hub container was not replaced"
    for student in (STUDENTS[3], STUDENTS[4]):
        response = requests.get(restarted.user_url(student, "api/me"), timeout=60,
                                headers={"Authorization": f"token {tokens[student]}"})
        assert response.status_code == 200, (
            f"{student}'s server, started before the restart, answered {response.status_code} through the new hub"
        )
        network = next(iter(container_of(docker_engine, hub, student).attrs["NetworkSettings"]["Networks"]))
        members = {c.name for c in docker_engine.networks.get(network).containers}
        assert hub.name in members, f"the restarted hub is not on {student}'s network {network}"
