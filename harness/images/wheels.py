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

from harness.config import BUILD_DIR, LOG_DIR, REPO_ROOT, VERSIONS_FILE, Variant, facts, parse_env_file
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


# Packages whose builds differ by a local version (+cpu, +cu126) for the same release.
LOCAL_BUILD_PACKAGES = ("torch", "torchvision")
ABSENT_PREFIX = "# torchvision absent: "


def pin(name: str, version: str) -> str:
    # "===" is exact string equality: "torch==2.13.0" would also accept a local "2.13.0+cpu" wheel.
    operator = "===" if name in LOCAL_BUILD_PACKAGES and "+" not in version else "=="
    return f"{name}{operator}{version}"


def lab_lock_file(variant: Variant) -> Path:
    """docker/requirements-cpu.lock, or the CUDA line's (requirements-cuda.lock, requirements-cuda126.lock)."""
    return DOCKER_DIR / f"requirements-{facts().image_key(variant)}.lock"


def lab_wheelhouse(variant: Variant) -> Path:
    return BUILD_DIR / "wheelhouse" / facts().image_key(variant)


def torch_index_url(variant: Variant) -> str:
    """The configured torch index (the official CPU or CUDA-line index for real users); "" = pip's own sources."""
    if variant == "cpu":
        return parse_env_file(VERSIONS_FILE).get("TORCH_INDEX_URL_CPU", "")
    return facts().cuda_line.torch_index_url


def torch_index_setting(variant: Variant) -> str:
    """The versions.env key that holds the variant's torch index."""
    if variant == "cpu":
        return "TORCH_INDEX_URL_CPU"
    return f"CUDA_{facts().cuda_line.version.replace('.', '_')}_TORCH_INDEX_URL"


def torch_index_options(variant: Variant) -> list[str]:
    index_url = torch_index_url(variant)
    return ["--extra-index-url", index_url] if index_url else []


def local_build(variant: Variant, release: str) -> str:
    """The release as the variant's build: 2.13.0+cpu, 2.13.0+cu126, or PyPI's plain 2.13.0 (CUDA 13.0)."""
    local = "cpu" if variant == "cpu" else facts().cuda_line.local_version
    return f"{release}+{local}" if local else release


def torch_requirement(variant: Variant) -> str:
    return pin("torch", local_build(variant, facts().torch_version))


def torchvision_requirement(variant: Variant) -> str:
    return pin("torchvision", local_build(variant, facts().torchvision_version))


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


def line_name(variant: Variant) -> str:
    return "the CPU image" if variant == "cpu" else f"the CUDA {facts().cuda_version} line"


def resolves(requirement: str, *, index_options: list[str], log_name: str) -> bool:
    """Whether pip's sources (plus index_options) hold a build of requirement for the image's platform."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            run_pip(["install", "--dry-run", "--no-deps", "--ignore-installed", "--quiet",
                     "--target", str(Path(tmp) / "target"), *target_options(), requirement, *index_options],
                    what=f"resolving {requirement}", log_name=log_name)
        except HarnessError:
            return False
    return True


def lock_lab(variant: Variant) -> int:
    """Resolve requirements.in, torch and torchvision for the variant into its lock file; returns the pin count.

    torchvision goes in only as the build of the variant (2.13.0+cpu beside torch+cpu): a build for another
    variant would fail to import. Where the sources have none, the lock says so in a comment, which the
    image build turns into a label.
    """
    raw = parse_env_file(VERSIONS_FILE)
    lock_file = lab_lock_file(variant)
    log_name = f"lock-{facts().image_key(variant)}.log"
    line = "" if variant == "cpu" else f" (CUDA {facts().cuda_version} line)"
    header = (
        f"# Pinned Python packages of the {variant} lab image{line}, for "
        f"manylinux (glibc 2.{raw['WHEEL_MAX_GLIBC_MINOR']}) {raw['WHEEL_ARCH']} / CPython {raw['PYTHON_VERSION']}.\n"
        f"# Generated by `harness wheels lock {variant}` (make lock) from requirements.in; do not edit.\n"
    )
    requirements = ["-r", str(LAB_REQUIREMENTS_IN), torch_requirement(variant)]
    vision = torchvision_requirement(variant)
    if resolves(vision, index_options=torch_index_options(variant), log_name=log_name):
        requirements.append(vision)
    else:
        build = local_build(variant, facts().torchvision_version)
        header += f"{ABSENT_PREFIX}no torchvision {build} build in the package sources\n"
        log.info("torchvision %s: not in the package sources; %s is locked without it", build, lock_file.name)
    try:
        return lock(requirements=requirements, lock_file=lock_file, header=header,
                    index_options=torch_index_options(variant), log_name=log_name)
    except HarnessError:
        index = torch_index_url(variant) or "pip's configured sources"
        raise HarnessError(
            f"resolving {lock_file.name} failed: {torch_requirement(variant)} and the lab's packages were not found "
            f"in {index} (is it reachable from here?); see {LOG_DIR / log_name}"
        ) from None


def torchvision_status(lock_file: Path) -> str:
    """The locked torchvision version, or 'absent: <why>' from the lock's comment."""
    for line in lock_file.read_text().splitlines():
        if line.startswith(ABSENT_PREFIX):
            return "absent: " + line.removeprefix(ABSENT_PREFIX).strip()
        name, _, version = line.partition("=")
        if name == "torchvision":
            return version.lstrip("=")
    return "absent: not in the lock file (run make lock)"


def require_lock(variant: Variant) -> Path:
    """The variant's lock file, or a one-line error saying how to make it (the CUDA 12.6 line before its first lock)."""
    lock_file = lab_lock_file(variant)
    if lock_file.exists():
        return lock_file
    index = torch_index_url(variant)
    where = f" on a machine that reaches {index}" if index else ""
    cuda_line = f"CUDA_LINE={facts().cuda_version} " if variant == "cuda" else ""
    shown = lock_file.relative_to(REPO_ROOT) if lock_file.is_relative_to(REPO_ROOT) else lock_file
    raise HarnessError(
        f"{line_name(variant)} has no lock file yet ({shown}): run "
        f"'make {cuda_line}lock'{where}, or build the other line"
    )


def fetch_lab(variant: Variant) -> int:
    index = torch_index_url(variant)
    lock_file = require_lock(variant)  # its own one-line error, as it is
    try:
        return fetch(lock_file=lock_file, wheelhouse=lab_wheelhouse(variant),
                     index_options=torch_index_options(variant), log_name=f"wheels-{facts().image_key(variant)}.log")
    except HarnessError as error:  # pip's download failed
        if not index:
            raise
        raise HarnessError(f"{error}; {line_name(variant)} takes torch from {index}: is it reachable from here?") from None
