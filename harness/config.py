"""The project's facts, read from docker/versions.env (the one place they are written)."""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from harness.errors import HarnessError

Variant = Literal["cpu", "cuda"]
VARIANTS: tuple[Variant, ...] = ("cpu", "cuda")

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = REPO_ROOT / "docker" / "versions.env"
BUILD_DIR = REPO_ROOT / "build"
LOG_DIR = BUILD_DIR / "logs"
REPORTS_DIR = REPO_ROOT / "reports"
# When set (the test suite sets it), every container, volume and network also carries org.dl-lab.session=<value>,
# so that a run can tell its own resources from those of a grading run or a hub beside it on the same engine.
SESSION_ENV = "DL_LAB_SESSION"


def labs_dir() -> Path:
    """The course's labs (source/, practica/, hidden/): labs/ here, or DL_LAB_LABS_DIR (a course kept elsewhere)."""
    return Path(os.environ.get("DL_LAB_LABS_DIR") or REPO_ROOT / "labs").resolve()


def parse_env_file(path: Path) -> dict[str, str]:
    """KEY=value lines; '#' comments and blank lines are skipped (the same syntax make and bash read)."""
    facts: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            facts[key.strip()] = value.strip()
    return facts


ComputeCapability = tuple[int, int]


def parse_compute_capability(text: str) -> ComputeCapability:
    """'8.6' -> (8, 6); a one-line error for anything else."""
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", text)
    if match is None:
        raise HarnessError(f"{text!r} is not a compute capability like 8.6")
    return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class CudaLine:
    """One CUDA line of the CUDA image (docker/versions.env CUDA_<MAJOR>_<MINOR>_*)."""

    version: str  # "13.0"
    image: str  # tag prefix: dl-lab:<image>-<COURSE_VERSION>, docker/requirements-<image>.lock
    torch_index_url: str  # "" = pip's configured sources
    local_version: str  # "cu126" for torch 2.13.0+cu126; "" for PyPI's plain release
    min_driver: str  # oldest NVIDIA driver it runs on (CUDA minor version compatibility)
    full_driver: str  # oldest driver with every feature of this CUDA release
    min_capability: ComputeCapability
    max_capability: ComputeCapability | None  # None: newer GPUs run its PTX

    @property
    def capability_range(self) -> str:
        low = f"{self.min_capability[0]}.{self.min_capability[1]}"
        if self.max_capability is None:
            return f"{low} and newer"
        return f"{low} to {self.max_capability[0]}.{self.max_capability[1]}"


def cuda_lines(raw: dict[str, str]) -> dict[str, CudaLine]:
    """Every CUDA line defined in the versions file, by version ("13.0", "12.6")."""
    lines: dict[str, CudaLine] = {}
    for key, image in raw.items():
        match = re.fullmatch(r"CUDA_(\d+)_(\d+)_IMAGE", key)
        if match is None:
            continue
        version = f"{match.group(1)}.{match.group(2)}"
        prefix = f"CUDA_{match.group(1)}_{match.group(2)}_"
        low, _, high = raw[prefix + "COMPUTE_CAPABILITY"].partition("-")
        lines[version] = CudaLine(
            version=version,
            image=image,
            torch_index_url=raw.get(prefix + "TORCH_INDEX_URL", ""),
            local_version=raw.get(prefix + "LOCAL_VERSION", ""),
            min_driver=raw[prefix + "MIN_DRIVER"],
            full_driver=raw.get(prefix + "FULL_DRIVER", raw[prefix + "MIN_DRIVER"]),
            min_capability=parse_compute_capability(low),
            max_capability=parse_compute_capability(high) if high.strip() else None,
        )
    return lines


@dataclass(frozen=True)
class Facts:
    course_version: str
    image_name: str
    base_image_name: str
    debian_release: str
    debian_mirror: str
    python_version: str
    torch_version: str
    torchvision_version: str
    cuda_line_name: str  # CUDA_LINE: the versions file's, or the environment's (make CUDA_LINE=12.6 ...)
    cuda_lines: dict[str, CudaLine]
    nb_user: str
    nb_uid: int
    nb_gid: int
    jupyter_port: int
    hub_port: int
    labs_dir: str
    project_label: str

    @property
    def cuda_line(self) -> CudaLine:
        """The CUDA line the CUDA image is built from and run as; a one-line error for an unknown one."""
        line = self.cuda_lines.get(self.cuda_line_name)
        if line is None:
            known = " or ".join(sorted(self.cuda_lines, reverse=True))
            raise HarnessError(f"CUDA_LINE={self.cuda_line_name} is not a CUDA line of the image: choose {known} "
                               "(docker/versions.env, or make CUDA_LINE=... )")
        return line

    @property
    def cuda_version(self) -> str:
        return self.cuda_line.version

    @property
    def base_image(self) -> str:
        return f"{self.base_image_name}:{self.debian_release}-py{self.python_version}"

    def image_key(self, variant: Variant) -> str:
        """'cpu', or the CUDA line's prefix ('cuda', 'cuda126'): names the tag, lock file, wheelhouse and logs."""
        return variant if variant == "cpu" else self.cuda_line.image

    def image_tag(self, variant: Variant) -> str:
        return f"{self.image_key(variant)}-{self.course_version}"

    def image(self, variant: Variant) -> str:
        """The lab image reference, e.g. dl-lab:cpu-2026.11 (never 'latest')."""
        return f"{self.image_name}:{self.image_tag(variant)}"

    def labels(self, component: str) -> dict[str, str]:
        """Labels for every container, volume and network the project starts (with the session's, when set)."""
        labels = {self.project_label: component}
        session = os.environ.get(SESSION_ENV, "").strip()
        if session:
            labels[self.session_label] = session
        return labels

    @property
    def session_label(self) -> str:
        """org.dl-lab.session: the session (a test run) that started a resource."""
        return self.label("session")

    def label(self, name: str) -> str:
        """Another label key in the project's namespace: label("hub-user") is org.dl-lab.hub-user."""
        return f"{self.project_label.rsplit('.', 1)[0]}.{name}"


@functools.cache
def facts() -> Facts:
    raw = parse_env_file(VERSIONS_FILE)
    return Facts(
        course_version=raw["COURSE_VERSION"],
        image_name=raw["IMAGE_NAME"],
        base_image_name=raw["BASE_IMAGE_NAME"],
        debian_release=raw["DEBIAN_RELEASE"],
        debian_mirror=raw["DEBIAN_MIRROR"],
        python_version=raw["PYTHON_VERSION"],
        torch_version=raw["TORCH_VERSION"],
        torchvision_version=raw["TORCHVISION_VERSION"],
        cuda_line_name=os.environ.get("CUDA_LINE", "").strip() or raw["CUDA_LINE"],
        cuda_lines=cuda_lines(raw),
        nb_user=raw["NB_USER"],
        nb_uid=int(raw["NB_UID"]),
        nb_gid=int(raw["NB_GID"]),
        jupyter_port=int(raw["JUPYTER_PORT"]),
        hub_port=int(raw["HUB_PORT"]),
        labs_dir=raw["LABS_DIR"],
        project_label=raw["PROJECT_LABEL"],
    )
