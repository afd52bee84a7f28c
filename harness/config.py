"""The project's facts, read from docker/versions.env (the one place they are written)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Variant = Literal["cpu", "cuda"]
VARIANTS: tuple[Variant, ...] = ("cpu", "cuda")

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = REPO_ROOT / "docker" / "versions.env"
BUILD_DIR = REPO_ROOT / "build"
LOG_DIR = BUILD_DIR / "logs"
REPORTS_DIR = REPO_ROOT / "reports"


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; '#' comments and blank lines are skipped (the same syntax make and bash read)."""
    facts: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            facts[key.strip()] = value.strip()
    return facts


@dataclass(frozen=True)
class Facts:
    course_version: str
    image_name: str
    base_image_name: str
    debian_release: str
    python_version: str
    torch_version: str
    cuda_version: str
    nb_user: str
    nb_uid: int
    nb_gid: int
    jupyter_port: int
    hub_port: int
    labs_dir: str
    project_label: str

    @property
    def base_image(self) -> str:
        return f"{self.base_image_name}:{self.debian_release}-py{self.python_version}"

    def image_tag(self, variant: Variant) -> str:
        return f"{variant}-{self.course_version}"

    def image(self, variant: Variant) -> str:
        """The lab image reference, e.g. dl-lab:cpu-2026.11 (never 'latest')."""
        return f"{self.image_name}:{self.image_tag(variant)}"

    def labels(self, component: str) -> dict[str, str]:
        """Labels for every container, volume and network the project starts."""
        return {self.project_label: component}


@functools.cache
def facts() -> Facts:
    raw = parse_env_file(VERSIONS_FILE)
    return Facts(
        course_version=raw["COURSE_VERSION"],
        image_name=raw["IMAGE_NAME"],
        base_image_name=raw["BASE_IMAGE_NAME"],
        debian_release=raw["DEBIAN_RELEASE"],
        python_version=raw["PYTHON_VERSION"],
        torch_version=raw["TORCH_VERSION"],
        cuda_version=raw["CUDA_VERSION"],
        nb_user=raw["NB_USER"],
        nb_uid=int(raw["NB_UID"]),
        nb_gid=int(raw["NB_GID"]),
        jupyter_port=int(raw["JUPYTER_PORT"]),
        hub_port=int(raw["HUB_PORT"]),
        labs_dir=raw["LABS_DIR"],
        project_label=raw["PROJECT_LABEL"],
    )
