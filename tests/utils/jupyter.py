"""Helpers for tests that start the lab image: run a labelled Jupyter container and reach its API."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import docker
from docker.models.containers import Container

from harness.config import facts
from harness.engine.containers import running_container
from harness.engine.waiting import wait_until

COMPONENT = "test"


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


def host_port(container: Container) -> int:
    container.reload()
    bindings = container.attrs["NetworkSettings"]["Ports"][f"{facts().jupyter_port}/tcp"]
    return int(bindings[0]["HostPort"])


@contextmanager
def jupyter_server(client: docker.DockerClient, image: str, **options: Any) -> Iterator[Server]:
    """Start the image's default command published on a random 127.0.0.1 port; wait until the API answers."""
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


def run_in_image(client: docker.DockerClient, image: str, command: list[str], **options: Any) -> tuple[int, str]:
    """Run a one-off command in a labelled container; (exit code, its stdout), or its stderr too when it failed."""
    with running_container(client, image, component=COMPONENT, command=command, **options) as container:
        status = int(container.wait(timeout=120)["StatusCode"])
        stdout = container.logs(stdout=True, stderr=False).decode(errors="replace")
        if status != 0:
            return status, stdout + container.logs(stdout=False, stderr=True).decode(errors="replace")
        return status, stdout
