"""What each image variant and CUDA line is built from: tags, lock files, torch and torchvision builds.

The CUDA 12.6 line's wheels live on the official cu126 index, which this machine may not reach: its
selection logic is tested here without a network, and its build stops with one line that says why.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from harness.config import Variant, facts
from harness.errors import HarnessError
from harness.images import lab_image, wheels
from tests.utils.cuda_line import select


@pytest.mark.parametrize(
    ("line", "variant", "expected"),
    [
        ("13.0", "cpu", ("dl-lab:cpu-", "requirements-cpu.lock", "cpu", "torch==2.13.0+cpu", "torchvision==0.28.0+cpu")),
        ("13.0", "cuda", ("dl-lab:cuda-", "requirements-cuda.lock", "cuda", "torch===2.13.0", "torchvision===0.28.0")),
        ("12.6", "cuda", ("dl-lab:cuda126-", "requirements-cuda126.lock", "cuda126", "torch==2.13.0+cu126",
                          "torchvision==0.28.0+cu126")),
        ("12.6", "cpu", ("dl-lab:cpu-", "requirements-cpu.lock", "cpu", "torch==2.13.0+cpu", "torchvision==0.28.0+cpu")),
    ],
    ids=["cpu", "cuda-13.0", "cuda-12.6", "cpu-unchanged-by-the-line"],
)
def test_each_line_has_its_own_tag_lock_wheelhouse_and_builds(
    cuda_line: pytest.MonkeyPatch, line: str, variant: Variant, expected: tuple[str, str, str, str, str]
) -> None:
    select(cuda_line, line)
    actual = (
        facts().image(variant).removesuffix(facts().course_version),
        wheels.lab_lock_file(variant).name,
        wheels.lab_wheelhouse(variant).name,
        wheels.torch_requirement(variant),
        wheels.torchvision_requirement(variant),
    )
    assert actual == expected, f"CUDA_LINE={line}, {variant}: {actual}"
    assert facts().torch_version == "2.13.0" and facts().torchvision_version == "0.28.0", \
        "the tests above assume the pinned releases; update them with docker/versions.env"


@pytest.mark.parametrize(
    ("line", "index", "cuda_version", "build_arg"),
    [("13.0", [], "13.0", "13.0"), ("12.6", ["--extra-index-url", "https://download.pytorch.org/whl/cu126"], "12.6", "12.6")],
)
def test_the_line_picks_the_index_and_the_cuda_label(
    cuda_line: pytest.MonkeyPatch, line: str, index: list[str], cuda_version: str, build_arg: str
) -> None:
    select(cuda_line, line)
    assert wheels.torch_index_options("cuda") == index
    assert facts().cuda_version == cuda_version
    cuda_line.setattr(lab_image, "tools_image", lambda: "tools")
    cuda_line.setattr(wheels, "require_lock", lambda variant: Path(__file__))  # any file: no torchvision line in it
    assert lab_image.build_args("cuda")["CUDA_VERSION"] == build_arg


def test_building_a_line_that_was_never_locked_is_one_line(cuda_line: pytest.MonkeyPatch, tmp_path: Path) -> None:
    select(cuda_line, "12.6")
    cuda_line.setattr(wheels, "DOCKER_DIR", tmp_path)

    def no_engine(**_: object) -> None:
        raise AssertionError("the build must stop before talking to the engine")

    cuda_line.setattr(lab_image, "docker_client", no_engine)
    with pytest.raises(HarnessError) as raised:
        lab_image.build_image("cuda")
    message = str(raised.value)
    assert "\n" not in message, message
    for part in ("the CUDA 12.6 line has no lock file yet", "requirements-cuda126.lock", "make CUDA_LINE=12.6 lock",
                 "https://download.pytorch.org/whl/cu126"):
        assert part in message, f"expected {part!r} in: {message}"


@pytest.mark.parametrize(
    ("lock_text", "status"),
    [
        ("# header\ntorch===2.13.0\ntorchvision===0.28.0\n", "0.28.0"),
        ("torch==2.13.0+cu126\ntorchvision==0.28.0+cu126\n", "0.28.0+cu126"),
        ("# header\n# torchvision absent: no torchvision 0.28.0+cpu build in the package sources\ntorch==2.13.0+cpu\n",
         "absent: no torchvision 0.28.0+cpu build in the package sources"),
        ("torch==2.13.0+cpu\n", "absent: not in the lock file (run make lock)"),
    ],
    ids=["pypi-build", "local-build", "absent-with-reason", "old-lock"],
)
def test_torchvision_status_comes_from_the_lock(tmp_path: Path, lock_text: str, status: str) -> None:
    lock_file = tmp_path / "requirements.lock"
    lock_file.write_text(lock_text)
    assert wheels.torchvision_status(lock_file) == status


def fake_wheel(folder: Path, version: str) -> None:
    """A wheel with only its metadata: enough for pip to resolve it."""
    name = f"torchvision-{version}-cp311-cp311-manylinux_2_28_x86_64.whl"
    info = f"torchvision-{version.split('+', maxsplit=1)[0]}.dist-info"
    with zipfile.ZipFile(folder / name, "w") as wheel:
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: torchvision\nVersion: {version}\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                                        "Tag: cp311-cp311-manylinux_2_28_x86_64\n")
        wheel.writestr(f"{info}/RECORD", "")


@pytest.mark.parametrize(
    ("available", "variant", "found"),
    [
        (["0.28.0"], "cpu", False),  # only the CUDA build, as on this machine: it would not import beside torch+cpu
        (["0.28.0"], "cuda", True),
        (["0.28.0", "0.28.0+cpu"], "cpu", True),
        (["0.28.0+cpu"], "cuda", False),  # never the CPU build in the CUDA image
        (["0.27.0+cpu"], "cpu", False),  # never a release built for another torch
    ],
    ids=["cuda-build-only-for-cpu", "cuda-build-for-cuda", "cpu-build-for-cpu", "cpu-build-for-cuda", "older-release"],
)
def test_torchvision_is_taken_only_as_the_variants_own_build(
    cuda_line: pytest.MonkeyPatch, tmp_path: Path, available: list[str], variant: Variant, found: bool
) -> None:
    select(cuda_line, "13.0")
    for version in available:
        fake_wheel(tmp_path, version)
    cuda_line.setattr(wheels, "LOG_DIR", tmp_path / "logs")
    requirement = wheels.torchvision_requirement(variant)
    result = wheels.resolves(requirement, index_options=["--no-index", "--find-links", str(tmp_path)], log_name="probe.log")
    pip_said = (tmp_path / "logs" / "probe.log").read_text()[-600:]
    assert result is found, f"{requirement} among {available}: {pip_said}"
