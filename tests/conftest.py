"""Shared fixtures: the real Docker engine, the built images, and a check that nothing is left behind."""

from __future__ import annotations

import contextlib
import os
import secrets

import docker
import pytest

from harness.config import SESSION_ENV, Variant, facts
from harness.engine.containers import docker_client, image_exists, labelled_resources
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


def pytest_configure(config: pytest.Config) -> None:
    """One session label for the whole run: set in the controller before pytest-xdist starts its workers, which
    inherit it, as do the harness processes and hubs the tests start (config.SESSION_ENV)."""
    if not os.environ.get(SESSION_ENV):
        os.environ[SESSION_ENV] = f"pytest-{secrets.token_hex(6)}"


def _project_resources(client: docker.DockerClient) -> set[str]:
    """This run's containers, volumes and networks (images are build products, not run-time resources).

    Only those with this run's session label: a grading run or a hub beside the tests on the same engine is
    not the tests' doing."""
    filters = {"label": [facts().project_label, f"{facts().session_label}={os.environ[SESSION_ENV]}"]}
    return set(labelled_resources(client, filters))


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


_BEFORE = pytest.StashKey[set[str]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    """Note the project's resources before the run (in the controller only, when pytest-xdist runs workers)."""
    if _is_xdist_worker(session.config):
        return
    # No engine: nothing to compare; the tests that need one fail with their own message.
    with contextlib.suppress(HarnessError):
        session.config.stash[_BEFORE] = _project_resources(docker_client())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if it left a labelled container, volume or network behind.

    Checked once, after every worker has finished: a worker's own check would see the
    containers of the tests still running in the other workers.
    """
    if _is_xdist_worker(session.config) or _BEFORE not in session.config.stash:
        return
    leftovers = _project_resources(docker_client()) - session.config.stash[_BEFORE]
    if leftovers:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = f"the test run left these project resources behind: {sorted(leftovers)}"
        if reporter is not None:
            reporter.write_line(f"FAILED nothing-left-behind check: {message}", red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
