"""`make lock` and `make hub-lock` for real: resolving the images' requirements from the package index here
reproduces the committed lock files' pins (written to a temporary place, the repository's stay as they are)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import Variant
from harness.images import hub_image, wheels


def pins(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return {line.split("=", 1)[0]: line for line in lines}


def requested(path: Path) -> set[str]:
    return {line.split("==")[0].strip().lower() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


@pytest.mark.parametrize("variant", ["cpu", "cuda"])
def test_lock_resolves_the_lab_image_as_committed(variant: Variant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = wheels.lab_lock_file(variant)
    monkeypatch.setattr(wheels, "lab_lock_file", lambda _variant: tmp_path / committed.name)
    wheels.lock_lab(variant)
    fresh, before = pins(tmp_path / committed.name), pins(committed)
    for name in {*requested(wheels.LAB_REQUIREMENTS_IN), "torch", "torchvision"} & before.keys():
        assert fresh.get(name) == before[name], f"{committed.name}: {name} resolves to {fresh.get(name)}, locked {before[name]}"
    assert wheels.torchvision_status(tmp_path / committed.name) == wheels.torchvision_status(committed), (
        "the torchvision status (version, or absent and why) must be what the committed lock says")


def test_hub_lock_resolves_as_committed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    committed = hub_image.LOCK_FILE
    monkeypatch.setattr(hub_image, "LOCK_FILE", tmp_path / committed.name)
    hub_image.lock()
    fresh, before = pins(tmp_path / committed.name), pins(committed)
    for name in requested(hub_image.REQUIREMENTS_IN):
        assert fresh.get(name) == before.get(name), f"{name}: resolves to {fresh.get(name)}, locked {before.get(name)}"
