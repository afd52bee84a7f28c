"""Build the lab images: stage a small build context per variant and run the classic builder.

The context holds only what the Dockerfile copies: this variant's wheelhouse (hard links, so
staging is instant), its lock file, docker/, the in-image code (in_image/), the students' helper package and the
student notebooks. Build output goes to build/logs/image-<variant>.log; the terminal shows the
current step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import docker
import docker.errors
from rich.console import Console

from harness.config import BUILD_DIR, LOG_DIR, REPO_ROOT, Variant, facts, labs_dir
from harness.course import versions
from harness.engine.containers import docker_client, image_exists
from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.images import wheels
from harness.ui import stderr_console

log = logging.getLogger(__name__)
BUILD_TIMEOUT_S = 1800


def build_log(variant: Variant) -> Path:
    return LOG_DIR / f"image-{facts().image_key(variant)}.log"


def build_args(variant: Variant) -> dict[str, str]:
    f = facts()
    args = {
        "BASE_IMAGE": tools_image(),
        "VARIANT": variant,
        "TORCH_VERSION": f.torch_version,
        "TORCHVISION": wheels.torchvision_status(wheels.require_lock(variant)),
        "COURSE_VERSION": f.course_version,
        "NB_USER": f.nb_user,
        "NB_UID": str(f.nb_uid),
        "NB_GID": str(f.nb_gid),
        "CUDA_VERSION": "none",
    }
    if variant == "cuda":
        args |= {
            "CUDA_VERSION": f.cuda_version,
            "NVIDIA_VISIBLE_DEVICES": "all",
            "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
        }
    return args


def run_step(command: list[str], *, what: str, log_file: Path) -> None:
    """Run a preparation step (base image, wheelhouse), its output appended to log_file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("a") as sink:
        result = subprocess.run(command, cwd=REPO_ROOT, stdout=sink, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise HarnessError(f"{what} failed: see {log_file}")


def build_base(*, console: Console | None = None) -> None:
    """The Debian base image: pulled when a registry answers, else debootstrap (docker/build-base.sh)."""
    console = console or stderr_console()
    console.print(f"[bold]Building the base image {facts().base_image}[/] (registry, else debootstrap; about a minute)")
    run_step(["bash", "docker/build-base.sh"], what="building the base image", log_file=LOG_DIR / "base-steps.log")


def ensure_base(console: Console) -> None:
    if not image_exists(docker_client(), facts().base_image):
        build_base(console=console)


TOOLS_FILES = (REPO_ROOT / "docker" / "tools.Dockerfile", REPO_ROOT / "docker" / "system-packages.sh")


def tools_image() -> str:
    """The base image plus the lab's Debian packages, tagged by a digest of what makes it."""
    digest = hashlib.sha256(facts().base_image.encode())
    for path in TOOLS_FILES:
        digest.update(path.read_bytes())
    return f"{facts().base_image}-tools-{digest.hexdigest()[:12]}"


def ensure_tools(console: Console) -> str:
    """Build the tools image when missing: apt in a build container (Debian's archive must answer)."""
    tag = tools_image()
    client = docker_client(timeout=BUILD_TIMEOUT_S)
    if image_exists(client, tag):
        return tag
    ensure_base(console)
    (BUILD_DIR / "context").mkdir(parents=True, exist_ok=True)
    context = Path(tempfile.mkdtemp(prefix="tools-", dir=BUILD_DIR / "context"))
    try:
        shutil.copy2(TOOLS_FILES[0], context / "Dockerfile")
        shutil.copy2(TOOLS_FILES[1], context / TOOLS_FILES[1].name)
        console.print(f"[bold]Building the tools image {tag}[/] (Debian packages from {facts().debian_mirror}; about a minute)")
        try:
            run_build(client, context=context, tag=tag, buildargs={"BASE_IMAGE": facts().base_image},
                      labels=facts().labels("base"), log_file=LOG_DIR / "tools.log", console=console)
        except HarnessError as error:
            raise HarnessError(f"{error}; the lab's Debian packages come from {facts().debian_mirror}: is it reachable?") \
                from None
    finally:
        shutil.rmtree(context, ignore_errors=True)
    return tag


def ensure_wheelhouse(variant: Variant, console: Console) -> None:
    if wheels.is_fetched(lock_file=wheels.require_lock(variant), wheelhouse=wheels.lab_wheelhouse(variant)):
        return
    size = "about 400 MB" if variant == "cpu" else "about 3 GB"
    console.print(f"[bold]Fetching the {variant} wheelhouse[/] ({size}) into {wheels.lab_wheelhouse(variant)}")
    wheels.fetch_lab(variant)


def prepare_build(variant: Variant, console: Console) -> None:
    """What a build of the lab image needs beside its context: the tools image and the wheelhouse."""
    ensure_tools(console)
    ensure_wheelhouse(variant, console)


DIGEST_LABEL = facts().label("context-digest")


def link_tree(source: Path, target: Path, *, ignore: tuple[str, ...] = ()) -> None:
    """Hard-link a tree (copy where links are impossible): cheap even for GB of wheels."""
    def link(src: str, dst: str) -> None:
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    shutil.copytree(source, target, copy_function=link,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".complete", *ignore))


def stage_context(variant: Variant) -> Path:
    # A fresh folder per build, so that two builds at once never share a context.
    (BUILD_DIR / "context").mkdir(parents=True, exist_ok=True)
    context = Path(tempfile.mkdtemp(prefix=f"{variant}-", dir=BUILD_DIR / "context"))
    shutil.copy2(wheels.require_lock(variant), context / "requirements.lock")
    shutil.copy2(REPO_ROOT / "docker" / "Dockerfile", context / "Dockerfile")
    for part in ("scripts", "jupyter"):
        link_tree(REPO_ROOT / "docker" / part, context / "docker" / part)
    link_tree(REPO_ROOT / "in_image", context / "in_image")
    link_tree(labs_dir() / "practica", context / "practica", ignore=("data",))
    link_tree(labs_dir() / "answer_key", context / "answer_key")
    # Only the student notebooks enter the context; the instructor versions stay outside it.
    generated = Path(tempfile.mkdtemp(prefix="labs-", dir=BUILD_DIR / "context"))
    try:
        versions.generate(out=generated)
        shutil.copytree(generated / "student", context / "labs")
    finally:
        shutil.rmtree(generated, ignore_errors=True)
    return context


def context_digest(context: Path, args: dict[str, str]) -> str:
    """A digest of everything the image is made of: the context (the lock stands for the wheels) and build args."""
    digest = hashlib.sha256(json.dumps(args, sort_keys=True).encode())
    for path in sorted(context.rglob("*")):
        relative = path.relative_to(context)
        if path.is_file() and relative.parts[0] != "wheelhouse":
            digest.update(str(relative).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def image_digest(client: docker.DockerClient, reference: str) -> str | None:
    try:
        label: str | None = client.images.get(reference).labels.get(DIGEST_LABEL)
        return label
    except docker.errors.ImageNotFound:
        return None


def run_build(client: docker.DockerClient, *, context: Path, tag: str, buildargs: dict[str, str],
              labels: dict[str, str], log_file: Path, console: Console) -> None:
    """Build context into tag with the classic builder: the output into log_file, the current step
    on the terminal, a one-line error (naming the log) when a step fails."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    try:
        with log_file.open("w") as sink, console.status(f"{tag}: sending the build context") as status:
            stream = client.api.build(path=str(context), tag=tag, buildargs=buildargs, rm=True, forcerm=True,
                                      decode=True, labels=labels)
            for chunk in stream:
                if "stream" in chunk:
                    text = chunk["stream"]
                    sink.write(text)
                    if text.startswith("Step "):
                        status.update(f"{tag}: {text.strip()[:110]}")
                if "error" in chunk:
                    sink.write(chunk["error"] + "\n")
                    raise HarnessError(f"building {tag} failed: {chunk['error'].strip().splitlines()[-1]} (log: {log_file})")
    except docker.errors.APIError as error:
        raise HarnessError(f"building {tag} failed: {first_line(error)} (log: {log_file})") from None


def build_image(variant: Variant, *, console: Console | None = None, prepare: bool = True, if_changed: bool = False) -> str:
    """Build the lab image of a variant (base and wheelhouse first when prepare); returns its tag.

    if_changed: skip the build when the image exists and was built from the same sources.
    """
    console = console or stderr_console()
    tag = facts().image(variant)
    wheels.require_lock(variant)  # the CUDA 12.6 line before its first lock: one line that says what to do
    client = docker_client(timeout=BUILD_TIMEOUT_S)
    # The digest does not need the wheels (the lock stands for them): an up-to-date image costs no download.
    context = stage_context(variant)
    args = build_args(variant)  # once: it hashes the tools image's files and reads the lock
    digest = context_digest(context, args)
    if if_changed and image_digest(client, tag) == digest:
        shutil.rmtree(context, ignore_errors=True)
        console.print(f"{tag} is up to date")
        return tag
    try:
        if prepare:
            prepare_build(variant, console)
        link_tree(wheels.lab_wheelhouse(variant), context / "wheelhouse")
    except BaseException:
        shutil.rmtree(context, ignore_errors=True)
        raise
    log_file = build_log(variant)
    console.print(f"[bold]Building {tag}[/] (log: {log_file})")
    try:
        run_build(client, context=context, tag=tag, buildargs=args, log_file=log_file, console=console,
                  labels={facts().project_label: "image", DIGEST_LABEL: digest})
    finally:
        shutil.rmtree(context, ignore_errors=True)
    console.print(f"[green]built {tag}[/]")
    vision = args["TORCHVISION"]
    if vision.startswith("absent"):
        console.print(f"torchvision {vision} for {tag}: {torchvision_fix(variant)}", highlight=False)
    return tag


def torchvision_fix(variant: Variant) -> str:
    """What gives the image its torchvision: the official index of its torch builds, then a new lock."""
    official = "https://download.pytorch.org/whl/cpu" if variant == "cpu" else facts().cuda_line.torch_index_url
    line = "" if variant == "cpu" else f"CUDA_LINE={facts().cuda_version} "
    return f"set {wheels.torch_index_setting(variant)}={official or '<its index>'} in docker/versions.env, then 'make {line}lock'"


def ensure_image(variant: Variant, *, console: Console | None = None) -> str:
    tag = facts().image(variant)
    if not image_exists(docker_client(), tag):
        build_image(variant, console=console)
    return tag
