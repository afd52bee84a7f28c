"""Helpers for tests that start the lab image: run a labelled Jupyter container and reach its API."""

from __future__ import annotations

import json
import re
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
from docker.models.containers import Container

from harness.config import REPO_ROOT, facts
from harness.engine.containers import running_container
from harness.engine.waiting import wait_until

COMPONENT = "test"
# The in-container checks (tests/container_checks/*.py), mounted read-only where a command names them.
CHECKS_DIR = REPO_ROOT / "tests" / "container_checks"
CHECKS_MOUNT = "/opt/container-checks"


def container_check(name: str, *arguments: str) -> list[str]:
    """The command that runs tests/container_checks/NAME.py in the image's Python."""
    if not (CHECKS_DIR / f"{name}.py").is_file():
        raise FileNotFoundError(f"no container check {CHECKS_DIR / name}.py")
    return ["python", f"{CHECKS_MOUNT}/{name}.py", *arguments]


def with_checks_mounted(command: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """The container's options, with the checks' folder mounted when the command runs one."""
    if not any(part.startswith(f"{CHECKS_MOUNT}/") for part in command):
        return options
    volumes = {**options.get("volumes", {}), str(CHECKS_DIR): {"bind": CHECKS_MOUNT, "mode": "ro"}}
    return {**options, "volumes": volumes}


@dataclass(frozen=True)
class Server:
    container: Container
    base_url: str
    token: str

    def request(self, path: str, *, token: str | None = None, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        """(status, parsed JSON, or the text of a page) of a request; token=None uses the server's token, '' sends none."""
        token = self.token if token is None else token
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.base_url}{path}", data=data, method=method)
        if token:
            request.add_header("Authorization", f"token {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
                is_json = response.headers.get_content_type() == "application/json"
                return response.status, json.loads(text) if is_json and text else text
        except urllib.error.HTTPError as error:
            return error.code, None


# As docker-stacks' TrackedContainer does: a warning or error in the log of a container a test started fails the
# test, unless the test lists it as expected. The image's own words for them: start.sh's and the hooks'
# "warning:", Jupyter's [W]/[E]/[C] lines, Python's warnings, logging levels and tracebacks.
LOG_PROBLEMS = re.compile(
    r"\bwarning:|^\[[WEC] \d{4}-\d\d-\d\d |\b\w*Warning: |^\s*(WARNING|ERROR|CRITICAL)\b|Traceback \(most recent call last\)",
    re.IGNORECASE | re.MULTILINE,
)
# Lines every start of the image logs on this engine without anything being wrong, each with its reason.
EXPECTED_EVERYWHERE: tuple[str, ...] = ()


def unexpected_log_lines(log: str, *, expected: Sequence[str] = ()) -> list[str]:
    """The log's warning and error lines that match none of the `expected` patterns (re.search)."""
    allowed = [re.compile(pattern) for pattern in (*EXPECTED_EVERYWHERE, *expected)]
    return [line for line in log.splitlines()
            if LOG_PROBLEMS.search(line) and not any(pattern.search(line) for pattern in allowed)]


def check_container_log(container: Container, *, expected: Sequence[str] = ()) -> None:
    log = container.logs(stdout=True, stderr=True).decode(errors="replace")
    unexpected = unexpected_log_lines(log, expected=expected)
    assert not unexpected, (f"warnings or errors in the log of {container.name} (list them as expected_log if "
                            f"the test wants them): {unexpected[:10]}")


def host_port(container: Container) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][f"{facts().jupyter_port}/tcp"]
    return int(bindings[0]["HostPort"])


@contextmanager
def jupyter_server(client: docker.DockerClient, image: str, **options: Any) -> Iterator[Server]:
    """Start the image's default command published on a random 127.0.0.1 port; wait until the API answers.
    On leaving, the container's log holds no warning or error but those of `expected_log` (patterns)."""
    expected_log: Sequence[str] = options.pop("expected_log", ())
    token = secrets.token_hex(16)
    environment = {"JUPYTER_TOKEN": token, **options.pop("environment", {})}
    ports = {f"{facts().jupyter_port}/tcp": ("127.0.0.1", None)}
    with running_container(client, image, component=COMPONENT, environment=environment, ports=ports, **options) as container:
        server = Server(container, f"http://127.0.0.1:{host_port(container)}", token)

        def answers() -> bool:
            container.reload()
            assert container.status == "running", f"the server exited: {container.logs(tail=20).decode()}"
            return server.request("/api/status")[0] == 200

        wait_until(answers, timeout_s=90, interval_s=0.2, what=f"Jupyter in {image} to answer")
        yield server
        check_container_log(container, expected=expected_log)


def run_in_image(client: docker.DockerClient, image: str, command: list[str], **options: Any) -> tuple[int, str]:
    """Run a one-off command in a labelled container; (exit code, its stdout), or its stderr too when it failed.
    A command that succeeds leaves no warning or error in the log but those of `expected_log` (patterns)."""
    expected_log: Sequence[str] = options.pop("expected_log", ())
    options = with_checks_mounted(command, options)
    with running_container(client, image, component=COMPONENT, command=command, **options) as container:
        status = int(container.wait(timeout=120)["StatusCode"])
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        if status != 0:
            return status, stdout + container.logs(stdout=False, stderr=True).decode(errors="replace")
        check_container_log(container, expected=expected_log)
        return status, stdout
