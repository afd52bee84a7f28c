"""Lock and fetch the Python wheels of an image, for the image's platform (not the host's).

lock:  resolve a requirements.in (plus torch for the lab images) into a lock file with
       ``pip install --dry-run --report`` for the image's glibc, architecture and Python, so a
       lock made on any machine fits the image.
fetch: ``pip download`` exactly the locked wheels into a wheelhouse; the Dockerfiles install
       them with ``--no-index`` (no network during ``docker build``).

The lab images (cpu, cuda) and the hub image all go through here.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.config import BUILD_DIR, LOG_DIR, REPO_ROOT, VERSIONS_FILE, Variant, parse_env_file
from harness.errors import HarnessError

log = logging.getLogger(__name__)

DOCKER_DIR = REPO_ROOT / "docker"
LAB_REQUIREMENTS_IN = DOCKER_DIR / "requirements.in"


def platform_tags() -> list[str]:
    """Every manylinux tag the image's glibc accepts (pip does not widen --platform by itself)."""
    raw = parse_env_file(VERSIONS_FILE)
    arch = raw["WHEEL_ARCH"]
    newest = int(raw["WHEEL_MAX_GLIBC_MINOR"])
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(newest, 4, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


def target_options() -> list[str]:
    """pip options that resolve for the image (binary wheels, its platform and CPython), not the host."""
    raw = parse_env_file(VERSIONS_FILE)
    platforms = [option for tag in platform_tags() for option in ("--platform", tag)]
    return ["--only-binary=:all:", *platforms, "--python-version", raw["PYTHON_VERSION"], "--implementation", "cp"]


def pin(name: str, version: str) -> str:
    # "===" is exact string equality: "torch==2.13.0" would also accept a local "2.13.0+cpu" wheel.
    operator = "===" if name == "torch" and "+" not in version else "=="
    return f"{name}{operator}{version}"


def lab_lock_file(variant: Variant) -> Path:
    return DOCKER_DIR / f"requirements-{variant}.lock"


def lab_wheelhouse(variant: Variant) -> Path:
    return BUILD_DIR / "wheelhouse" / variant


def torch_index_options(variant: Variant) -> list[str]:
    """The configured torch index (official CPU/CUDA index for real users); empty = pip's own sources."""
    index_url = parse_env_file(VERSIONS_FILE).get(f"TORCH_INDEX_URL_{variant.upper()}", "")
    return ["--extra-index-url", index_url] if index_url else []


def torch_requirement(variant: Variant) -> str:
    # The CPU build carries the "+cpu" local version; the CUDA build is PyPI's plain release.
    version = parse_env_file(VERSIONS_FILE)["TORCH_VERSION"]
    return pin("torch", version + ("+cpu" if variant == "cpu" else ""))


def run_pip(arguments: list[str], *, what: str, log_name: str) -> None:
    """pip with its output in build/logs/<log_name>; a one-line error that points there on failure."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_file = LOG_DIR / log_name
    with log_file.open("a") as sink:
        result = subprocess.run([sys.executable, "-m", "pip", *arguments], stdout=sink, stderr=subprocess.STDOUT,
                                check=False)
    if result.returncode != 0:
        raise HarnessError(f"{what} failed (is the package index reachable?): see {log_file}")


def lock(*, requirements: list[str], lock_file: Path, header: str, index_options: list[str], log_name: str) -> int:
    """Resolve requirements (pip arguments: '-r file' or specifiers) into lock_file; returns the pin count."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.json"
        run_pip(["install", "--dry-run", "--ignore-installed", "--quiet", "--report", str(report),
                 "--target", str(Path(tmp) / "target"), *target_options(), *requirements, *index_options],
                what=f"resolving {lock_file.name}", log_name=log_name)
        installs = json.loads(report.read_text())["install"]
    pins = sorted(pin(item["metadata"]["name"].lower(), item["metadata"]["version"]) for item in installs)
    lock_file.write_text(header + "\n".join(pins) + "\n")
    log.info("wrote %s (%d packages)", lock_file, len(pins))
    return len(pins)


def locked_names(lock_file: Path) -> set[str]:
    """Normalised project names of a lock file, as they start wheel file names."""
    return {
        line.split("=")[0].replace("-", "_").lower()
        for line in lock_file.read_text().splitlines()
        if line and not line.startswith("#")
    }


def _marker(wheelhouse: Path) -> Path:
    return wheelhouse / ".complete"  # holds the lock file it was fetched for


def is_fetched(*, lock_file: Path, wheelhouse: Path) -> bool:
    """Whether wheelhouse holds exactly the wheels of lock_file's current content."""
    marker = _marker(wheelhouse)
    return marker.exists() and marker.read_text() == lock_file.read_text()


def fetch(*, lock_file: Path, wheelhouse: Path, index_options: list[str], log_name: str) -> int:
    """Download exactly the locked wheels into wheelhouse (once per lock content); returns the wheel count."""
    if is_fetched(lock_file=lock_file, wheelhouse=wheelhouse):
        return len(list(wheelhouse.glob("*.whl")))
    wheelhouse.mkdir(parents=True, exist_ok=True)
    run_pip(["download", "--quiet", "--no-deps", "--dest", str(wheelhouse), *target_options(), "-r", str(lock_file),
             *index_options], what=f"fetching the wheels of {lock_file.name}", log_name=log_name)
    # Drop wheels that are no longer locked, so the image gets exactly the locked set.
    wanted = locked_names(lock_file)
    for wheel in wheelhouse.glob("*.whl"):
        if wheel.name.split("-")[0].lower() not in wanted:
            wheel.unlink()
    _marker(wheelhouse).write_text(lock_file.read_text())
    return len(list(wheelhouse.glob("*.whl")))


def lock_lab(variant: Variant) -> int:
    raw = parse_env_file(VERSIONS_FILE)
    header = (
        f"# Pinned Python packages of the {variant} lab image, for "
        f"manylinux (glibc 2.{raw['WHEEL_MAX_GLIBC_MINOR']}) {raw['WHEEL_ARCH']} / CPython {raw['PYTHON_VERSION']}.\n"
        f"# Generated by `harness wheels lock {variant}` (harness wheels lock) from requirements.in; do not edit.\n"
    )
    return lock(requirements=["-r", str(LAB_REQUIREMENTS_IN), torch_requirement(variant)],
                lock_file=lab_lock_file(variant), header=header, index_options=torch_index_options(variant),
                log_name=f"lock-{variant}.log")


def fetch_lab(variant: Variant) -> int:
    return fetch(lock_file=lab_lock_file(variant), wheelhouse=lab_wheelhouse(variant),
                 index_options=torch_index_options(variant), log_name=f"wheels-{variant}.log")
