"""Shared fixtures: the real Docker engine, the built images, and a check that nothing is left behind."""

from __future__ import annotations

from collections.abc import Iterator

import docker
import pytest

from harness.config import Variant, facts
from harness.containers import docker_client, image_exists, project_filter
from harness.errors import HarnessError


@pytest.fixture(scope="session")
def docker_engine() -> docker.DockerClient:
    try:
        return docker_client()
    except HarnessError as error:
        pytest.fail(f"these tests need a Docker engine: {error}")


def _image(client: docker.DockerClient, variant: Variant) -> str:
    reference = facts().image(variant)
    if not image_exists(client, reference):
        pytest.fail(f"image {reference} is not built; `make test` builds it first (or run `make image-{variant}`)")
    return reference


@pytest.fixture(scope="session")
def cpu_image(docker_engine: docker.DockerClient) -> str:
    return _image(docker_engine, "cpu")


@pytest.fixture(scope="session")
def cuda_image(docker_engine: docker.DockerClient) -> str:
    return _image(docker_engine, "cuda")


def _project_resources(client: docker.DockerClient) -> set[str]:
    # Images are build products, not run-time resources: only containers, volumes and networks count.
    names = {f"container {c.name}" for c in client.containers.list(all=True, filters=project_filter())}
    names |= {f"volume {v.name}" for v in client.volumes.list(filters=project_filter())}
    names |= {f"network {n.name}" for n in client.networks.list(filters=project_filter())}
    return names


@pytest.fixture(scope="session", autouse=True)
def nothing_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the run if it leaves a labelled container, volume or network behind."""
    try:
        client = docker_client()
    except HarnessError:
        yield
        return
    before = _project_resources(client)
    yield
    leftovers = _project_resources(client) - before
    assert not leftovers, f"the test run left these project resources behind: {sorted(leftovers)}"
