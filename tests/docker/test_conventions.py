"""The Jupyter Docker Stacks' runtime conventions, each asserted on a real container of the CPU image.

start.sh and the start scripts are the same in both images; the CPU image is the cheaper to start.
"""

from __future__ import annotations

import os
import secrets
import ssl
import stat
import urllib.error
import urllib.request
from pathlib import Path

import docker
import pytest
from docker.models.containers import Container

from harness.config import facts
from harness.engine.containers import run_in, running_container
from harness.engine.waiting import wait_until
from tests.utils.jupyter import COMPONENT, host_port, jupyter_server, run_in_image

pytestmark = pytest.mark.docker

EXEC_TIMEOUT_S = 30
HIDDEN_TOKEN = "'--IdentityProvider.token=***'"  # how the start scripts log a token given as an argument
HOOKS = "/usr/local/bin"


def exec_in(container: Container, command: list[str], *, user: str = "") -> tuple[int, str]:
    return run_in(container, command, timeout_s=EXEC_TIMEOUT_S, user=user)


def last_lines(output: str, count: int) -> list[str]:
    return output.strip().splitlines()[-count:]


def poll_health(container: Container) -> bool:
    container.reload()
    state = container.attrs["State"]
    assert state["Status"] == "running", f"the container exited: {container.logs(tail=15).decode(errors='replace')}"
    return bool(state["Health"]["Status"] == "healthy")


def image_healthcheck(client: docker.DockerClient, image: str) -> dict[str, object]:
    """The image's own HEALTHCHECK command, polled every second (same verdict as every 10 s, sooner)."""
    test = client.images.get(image).attrs["Config"]["Healthcheck"]["Test"]
    return {"test": test, "interval": 1_000_000_000, "timeout": 5_000_000_000, "retries": 3}


# ---- start hooks ---------------------------------------------------------------------------------
def write_hooks(folder: Path, stage: str) -> None:
    """A sourced hook that exports a variable, an executable one, one that is neither, and one that fails."""
    folder.mkdir()
    (folder / "10-export.sh").write_text(f"export HOOK_{stage.upper()}=hola\necho \"{stage} sh $(id -u)\" >> /tmp/hooks.log\n")
    runnable = folder / "20-run"
    runnable.write_text(f"#!/bin/sh\necho \"{stage} exe $(id -u)\" >> /tmp/hooks.log\n")
    runnable.chmod(0o755)
    (folder / "30-not-executable").write_text(f"#!/bin/sh\necho \"{stage} WRONG\" >> /tmp/hooks.log\n")
    (folder / "40-fails.sh").write_text("return 3\n")


@pytest.mark.parametrize(
    ("user", "hook_uid"),
    [("root", "0"), ("", str(facts().nb_uid))],
    ids=["started-as-root", "started-as-jovyan"],
)
def test_start_hooks_are_sourced_or_run(
    docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path, user: str, hook_uid: str
) -> None:
    # Both hook folders run as the user the container started as (root: before dropping to jovyan).
    write_hooks(tmp_path / "start", "start")
    write_hooks(tmp_path / "before", "before")
    volumes = {str(tmp_path / "start"): {"bind": f"{HOOKS}/start-notebook.d", "mode": "ro"},
               str(tmp_path / "before"): {"bind": f"{HOOKS}/before-notebook.d", "mode": "ro"}}
    script = "cat /tmp/hooks.log; echo $HOOK_START $HOOK_BEFORE; id -u"
    status, output = run_in_image(docker_engine, cpu_image, ["sh", "-c", script], user=user, volumes=volumes,
                                  expected_log=[r"warning: .*/40-fails\.sh failed with status 3; continuing"])
    assert status == 0, f"a failing hook must not stop the start: {output[-800:]}"
    lines = output.strip().splitlines()
    expected = [f"start sh {hook_uid}", f"start exe {hook_uid}", f"before sh {hook_uid}", f"before exe {hook_uid}",
                "hola hola", str(facts().nb_uid)]
    assert lines == expected, f"hooks in order, sourced *.sh exporting variables, the command as the user: {lines}"


# ---- the user: name, ids, group, umask, sudo -------------------------------------------------------
@pytest.mark.parametrize(
    ("environment", "script", "expected"),
    [
        ({"NB_USER": "alicia"}, "id -un; echo $HOME; pwd; ls ~/work | head -1", ["alicia", "/home/alicia", "/home/alicia",
                                                                             "00-introduccion.ipynb"]),
        ({"NB_UID": "1234", "NB_GID": "4321", "NB_GROUP": "alumnos"}, "id -u; id -g; id -gn", ["1234", "4321", "alumnos"]),
        ({"NB_GROUP": "alumnos"}, "id -g; id -gn", [str(facts().nb_gid), "alumnos"]),
        ({"NB_UMASK": "002"}, "touch ~/work/f && stat -c %a ~/work/f; umask", ["664", "0002"]),
        ({}, "touch ~/work/f && stat -c %a ~/work/f; umask", ["644", "0022"]),
        ({"GRANT_SUDO": "yes"}, "sudo -n id -u", ["0"]),
        ({}, "sudo -n id -u 2>/dev/null || echo refused", ["refused"]),
    ],
    ids=["nb-user", "nb-uid-gid-group", "nb-group-renames", "nb-umask", "default-umask", "grant-sudo", "no-sudo-by-default"],
)
def test_root_start_prepares_the_user(
    docker_engine: docker.DockerClient, cpu_image: str, environment: dict[str, str], script: str, expected: list[str]
) -> None:
    status, output = run_in_image(docker_engine, cpu_image, ["bash", "-c", script], user="root", environment=environment)
    assert status == 0, f"{environment}: {output[-800:]}"
    assert last_lines(output, len(expected)) == expected, f"{environment}: `{script}` printed {output!r}"


@pytest.mark.parametrize(
    ("environment", "warning"),
    [({"GRANT_SUDO": "yes"}, "GRANT_SUDO=yes needs the container started as root"),
     ({"NB_USER": "alicia"}, "NB_USER=alicia needs the container started as root")],
    ids=["grant-sudo", "nb-user"],
)
def test_root_only_settings_warn_when_started_as_the_user(
    docker_engine: docker.DockerClient, cpu_image: str, environment: dict[str, str], warning: str
) -> None:
    script = "id -un; sudo -n true 2>/dev/null || echo no-sudo"
    with running_container(docker_engine, cpu_image, component=COMPONENT, environment=environment,
                           command=["sh", "-c", script]) as container:
        status = int(container.wait(timeout=60)["StatusCode"])
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    assert status == 0 and last_lines(stdout, 2) == ["jovyan", "no-sudo"], f"{stdout!r} {stderr[-500:]}"
    assert warning in stderr, f"expected the warning {warning!r}: {stderr[-600:]}"


@pytest.mark.parametrize(
    ("options", "nested_owner"),
    [("-R", 4321), ("", 0)],
    ids=["recursive", "top-level-only"],
)
def test_chown_extra(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path, options: str, nested_owner: int) -> None:
    folders = [tmp_path / "datos", tmp_path / "modelos"]
    for folder in folders:
        (folder / "sub").mkdir(parents=True)
        os.chown(folder, 0, 0)
    volumes = {str(folder): {"bind": f"/{folder.name}", "mode": "rw"} for folder in folders}
    environment = {"NB_UID": "4321", "CHOWN_EXTRA": "/datos,/modelos", "CHOWN_EXTRA_OPTS": options}
    status, output = run_in_image(docker_engine, cpu_image, ["touch", "/datos/escrito"], user="root",
                                  environment=environment, volumes=volumes)
    assert status == 0, f"the user could not write into a CHOWN_EXTRA folder: {output[-600:]}"
    owners = {path.name: path.stat().st_uid for path in [*folders, folders[0] / "sub", folders[0] / "escrito"]}
    assert owners == {"datos": 4321, "modelos": 4321, "sub": nested_owner, "escrito": 4321}, \
        f"CHOWN_EXTRA={environment['CHOWN_EXTRA']} CHOWN_EXTRA_OPTS={options!r}: owners {owners}"


# ---- refusals: one line, never Jupyter as root or without a token ----------------------------------
@pytest.mark.parametrize(
    ("environment", "command", "message"),
    [
        ({"NB_USER": "root"}, [], "NB_USER=root is already an account of the image"),
        ({"NB_USER": "Alicia Pérez"}, [], "is not a user name"),
        ({"NB_UMASK": "abc"}, [], "NB_UMASK='abc' is not an octal umask"),
        ({"CHOWN_EXTRA": "/no/existe"}, [], "CHOWN_EXTRA: could not chown /no/existe"),
        ({}, ["start-notebook.py", "--IdentityProvider.token="], "--IdentityProvider.token is empty"),
        ({"NOTEBOOK_ARGS": "--ServerApp.token ''"}, [], "--ServerApp.token is empty"),
    ],
    ids=["nb-user-root", "nb-user-invalid", "nb-umask-invalid", "chown-extra-missing", "empty-token-argument",
         "empty-token-notebook-args"],
)
def test_unsafe_or_wrong_settings_are_refused_in_one_line(
    docker_engine: docker.DockerClient, cpu_image: str, environment: dict[str, str], command: list[str], message: str
) -> None:
    status, output = run_in_image(docker_engine, cpu_image, command, user="root",
                                  environment={"JUPYTER_TOKEN": secrets.token_hex(8), **environment})
    assert status != 0, f"the container started with {environment} {command}: {output[-500:]}"
    errors = [line for line in output.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0], f"expected one error line with {message!r}: {output[-800:]}"


# ---- the server: names, logging, renamed user, RESTARTABLE, GEN_CERT, healthcheck --------------------
@pytest.mark.parametrize(
    ("script", "expected_version", "logged"),
    [
        ("start-notebook.sh", "4.6.6", f"[start-notebook.py] executing: jupyter lab {HIDDEN_TOKEN} --version"),
        ("start-notebook.py", "4.6.6", f"[start-notebook.py] executing: jupyter lab {HIDDEN_TOKEN} --version"),
        ("start-singleuser.sh", "6.1.1", f"[start-singleuser.py] executing: jupyterhub-singleuser {HIDDEN_TOKEN} --version"),
        ("start-singleuser.py", "6.1.1", f"[start-singleuser.py] executing: jupyterhub-singleuser {HIDDEN_TOKEN} --version"),
    ],
)
def test_start_scripts_by_both_names_log_the_command(
    docker_engine: docker.DockerClient, cpu_image: str, script: str, expected_version: str, logged: str
) -> None:
    secret = secrets.token_hex(12)
    with running_container(docker_engine, cpu_image, component=COMPONENT, command=[script, "--version"],
                           environment={"NOTEBOOK_ARGS": f"--IdentityProvider.token={secret}"}) as container:
        status = int(container.wait(timeout=60)["StatusCode"])
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    assert status == 0 and stdout.strip() == expected_version, f"{script} --version: {stdout!r} {stderr[-500:]}"
    assert f"[start.sh] executing: {script} --version" in stderr, f"start.sh must log its command: {stderr}"
    assert logged in stderr, f"{script} must log the server command: {stderr}"
    assert secret not in stderr, f"the token must not reach the log: {stderr}"


@pytest.mark.parametrize(("quiet", "logged"), [("1", False), ("", True)], ids=["quiet", "verbose"])
def test_quiet_start_logs_only_warnings(docker_engine: docker.DockerClient, cpu_image: str, quiet: str, logged: bool) -> None:
    with running_container(docker_engine, cpu_image, component=COMPONENT, user="root", command=["start-notebook.py", "--version"],
                           environment={"JUPYTER_DOCKER_STACKS_QUIET": quiet, "NB_USER": "alicia"}) as container:
        status = int(container.wait(timeout=60)["StatusCode"])
        stderr = container.logs(stdout=False, stderr=True).decode(errors="replace")
    assert status == 0, f"JUPYTER_DOCKER_STACKS_QUIET={quiet!r}: {stderr[-600:]}"
    assert ("executing:" in stderr) is logged and ("renamed the user jovyan to alicia" in stderr) is logged, stderr


def jupyter_processes(container: Container) -> list[tuple[str, str]]:
    """(uid, command line) of every jupyter process in the container ([b]: the probe does not list itself)."""
    script = ("for d in /proc/[0-9]*; do c=$(tr '\\0' ' ' < $d/cmdline 2>/dev/null); case \"$c\" in *[b]in/jupyter*) "
              "echo \"$(awk '/^Uid/{print $2}' $d/status) $c\";; esac; done")
    _, output = exec_in(container, ["sh", "-c", script])
    return [tuple(line.split(" ", 1)) for line in output.strip().splitlines() if line]  # type: ignore[misc]


def test_renamed_user_serves_its_home_and_never_root(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    with jupyter_server(docker_engine, cpu_image, user="root", environment={"NB_USER": "alicia", "NB_UID": "1500"}) as server:
        status, listing = server.request("/api/contents/work")
        assert status == 200, f"the work folder of the renamed user: {status}"
        names = sorted(item["name"] for item in listing["content"])
        assert "00-introduccion.ipynb" in names, f"course notebooks in /home/alicia/work: {names}"
        processes = jupyter_processes(server.container)
        assert processes and all(uid == "1500" for uid, _ in processes), f"Jupyter must run as alicia (1500): {processes}"
        _, home = exec_in(server.container, ["sh", "-c", "getent passwd alicia | cut -d: -f6"])
        assert home.strip() == "/home/alicia", home


@pytest.mark.parametrize(("restartable", "restarted"), [("yes", True), ("", False)], ids=["restartable", "not-restartable"])
def test_restartable_restarts_the_server(docker_engine: docker.DockerClient, cpu_image: str, restartable: str,
                                         restarted: bool) -> None:
    stopping = [r"\[C .* ServerApp\] received signal 15, stopping"]  # the test's own SIGTERM
    with jupyter_server(docker_engine, cpu_image, environment={"RESTARTABLE": restartable}, expected_log=stopping) as server:
        servers = [command for _, command in jupyter_processes(server.container) if "jupyter-lab" in command]
        assert len(servers) == 1, f"one jupyter-lab process expected: {servers}"
        exec_in(server.container, ["pkill", "-TERM", "-f", "bin/jupyter-lab"])
        if restarted:
            def answers_again() -> bool:
                server.container.reload()
                assert server.container.status == "running", "RESTARTABLE=yes: the container must outlive its server"
                logs = server.container.logs().decode(errors="replace")
                return "starting it again" in logs and server.request("/api/status")[0] == 200

            wait_until(answers_again, timeout_s=90, interval_s=0.5, what="the server to be restarted")
        else:
            def stopped() -> bool:
                server.container.reload()
                return server.container.status == "exited"

            wait_until(stopped, timeout_s=60, interval_s=0.5, what="the container to stop with its server")


def test_gen_cert_serves_https_with_a_token(docker_engine: docker.DockerClient, cpu_image: str) -> None:
    token = secrets.token_hex(16)
    port_key = f"{facts().jupyter_port}/tcp"
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with running_container(docker_engine, cpu_image, component=COMPONENT, ports={port_key: ("127.0.0.1", None)},
                           environment={"GEN_CERT": "yes", "JUPYTER_TOKEN": token},
                           healthcheck=image_healthcheck(docker_engine, cpu_image)) as container:
        port = host_port(container)

        def status_of(url: str) -> int:
            with urllib.request.urlopen(url, timeout=5, context=context) as response:
                return int(response.status)

        wait_until(lambda: status_of(f"https://127.0.0.1:{port}/api/status?token={token}") == 200, timeout_s=90,
                   interval_s=0.5, what="Jupyter to answer over https")
        with pytest.raises(urllib.error.HTTPError) as refused:
            status_of(f"https://127.0.0.1:{port}/api/contents")
        assert refused.value.code == 403, "https, and still a token"
        with pytest.raises(OSError):
            status_of(f"http://127.0.0.1:{port}/api/status")  # plain http is not served
        wait_until(lambda: poll_health(container), timeout_s=60, interval_s=1, what="the HEALTHCHECK over https")


@pytest.mark.parametrize(
    ("command", "environment"),
    [
        (["start-notebook.py", "--ServerApp.base_url=/curso/ia/"], {}),
        (["start-notebook.py", "--ServerApp.port=9999"], {}),
        ([], {"NOTEBOOK_ARGS": "--ServerApp.base_url=/curso --ServerApp.port=9000"}),
    ],
    ids=["base-url", "port", "notebook-args"],
)
def test_healthcheck_follows_the_server(
    docker_engine: docker.DockerClient, cpu_image: str, command: list[str], environment: dict[str, str]
) -> None:
    options = {"command": command} if command else {}
    with running_container(docker_engine, cpu_image, component=COMPONENT, healthcheck=image_healthcheck(docker_engine, cpu_image),
                           environment={"JUPYTER_TOKEN": secrets.token_hex(8), **environment}, **options) as container:
        wait_until(lambda: poll_health(container), timeout_s=90, interval_s=1, what=f"healthy with {command or environment}")


def test_course_notebooks_copy_respects_the_umask(docker_engine: docker.DockerClient, cpu_image: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    os.chown(work, facts().nb_uid, facts().nb_gid)
    status, output = run_in_image(docker_engine, cpu_image, ["true"], environment={"NB_UMASK": "007"},
                                  volumes={str(work): {"bind": "/home/jovyan/work", "mode": "rw"}})
    assert status == 0, output
    copied = work / "00-introduccion.ipynb"
    assert copied.exists(), sorted(p.name for p in work.iterdir())
    assert stat.S_IMODE(copied.stat().st_mode) & 0o007 == 0, f"NB_UMASK=007 leaves others no access: {oct(copied.stat().st_mode)}"
