"""A hub instance of a test module's own, removed at the end and checked to be."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import docker

from harness.hub.client import Hub
from harness.hub.instance import instance_resources, purge_hub, start_hub
from harness.hub.plan import HubPlan
from harness.hub.settings import HubSettings


@contextmanager
def hub_instance(client: docker.DockerClient, prefix: str, *, plan: HubPlan | None = None,
                 **settings: Any) -> Iterator[Hub]:
    """Start a hub named prefix-<random> on a port the engine picks (no restart, 1G per student; unless settings
    say otherwise); at the end purge it, and fail if it left any of its containers, networks or volumes behind."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    try:
        yield start_hub(HubSettings(name=name, **{"port": 0, "restart": False, "mem_limit": "1G", **settings}), plan=plan)
    finally:
        purge_hub(name)
        left = instance_resources(client, name)
        assert not left, f"purging the hub left these behind: {left}"
