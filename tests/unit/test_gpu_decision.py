"""Use the GPU? The decision from the recorded `nvidia-smi` answers of real machines, for each CUDA line.

The recordings are what `nvidia-smi --query-gpu=driver_version,compute_cap,name --format=csv,noheader`
prints (one line per GPU, in index order), or what it says when it cannot answer.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from harness.config import Variant, facts
from harness.engine import gpu
from harness.errors import HarnessError
from tests.utils.cuda_line import select

V100_DGX1 = "535.183.01, 7.0, Tesla V100-SXM2-32GB\n" * 4
T4 = "570.133.20, 7.5, Tesla T4\n"
A100 = "580.82.07, 8.0, NVIDIA A100-SXM4-80GB\n580.82.07, 8.0, NVIDIA A100-SXM4-80GB\n"
H100 = "580.95.05, 9.0, NVIDIA H100 80GB HBM3\n"
RTX_3090 = "580.76.05, 8.6, NVIDIA GeForce RTX 3090\n"
DRIVER_550 = "550.54.15, 8.9, NVIDIA L40S\n550.54.15, 8.9, NVIDIA L40S\n"
RTX_PRO_BLACKWELL = "580.65.06, 12.0, NVIDIA RTX PRO 6000 Blackwell Server Edition\n"
B200_DRIVER_570 = "570.124.06, 10.0, NVIDIA B200\n"
K80 = "470.256.02, 3.7, Tesla K80\n"
A100_AND_V100 = "580.65.06, 8.0, NVIDIA A100-PCIE-40GB\n580.65.06, 7.0, Tesla V100-PCIE-32GB\n"

UPGRADE_580 = "upgrade the NVIDIA driver to 580 or newer"
USE_12_6 = "use the CUDA 12.6 line (make CUDA_LINE=12.6 image-cuda lab)"
USE_13_0 = "use the CUDA 13.0 line (make CUDA_LINE=13.0 image-cuda lab)"
MINOR_COMPAT = "minor version compatibility"


def decide(recording: str, line: str) -> gpu.GpuDecision:
    lines = facts().cuda_lines
    return gpu.assess_gpus(gpu.parse_gpu_query(recording), lines[line], lines.values())


@pytest.mark.parametrize(
    ("recording", "line", "use_gpu", "in_reason", "not_in_reason"),
    [
        # Volta: CUDA 13.0 dropped it; a newer driver would not help. The 12.6 line runs it (535 >= 525,
        # through minor version compatibility: 560 is 12.6's own driver).
        (V100_DGX1, "13.0", False, ["compute capability 7.0", "older than CUDA 13.0 supports (7.5 and newer)", USE_12_6],
         [UPGRADE_580]),
        (V100_DGX1, "12.6", True, ["4 GPU(s): Tesla V100-SXM2-32GB", MINOR_COMPAT, "560 or newer gives all of it"], []),
        # Turing on a 570 driver: CUDA 13.0 needs 580; the GPU itself is fine.
        (T4, "13.0", False, ["driver 570.133.20 is older than 580", UPGRADE_580, USE_12_6], []),
        (T4, "12.6", True, ["1 GPU(s): Tesla T4"], [MINOR_COMPAT]),
        (A100, "13.0", True, ["2 GPU(s): NVIDIA A100-SXM4-80GB, driver 580.82.07"], ["left out", MINOR_COMPAT]),
        (A100, "12.6", True, ["2 GPU(s)"], [MINOR_COMPAT]),
        (H100, "13.0", True, ["NVIDIA H100 80GB HBM3"], []),
        (H100, "12.6", True, ["NVIDIA H100 80GB HBM3"], []),
        (RTX_3090, "13.0", True, ["NVIDIA GeForce RTX 3090"], []),
        (RTX_3090, "12.6", True, ["NVIDIA GeForce RTX 3090"], []),
        # A driver-550 host: too old for CUDA 13; runs the 12.6 line through minor version compatibility.
        (DRIVER_550, "13.0", False, ["driver 550.54.15 is older than 580", UPGRADE_580, USE_12_6], []),
        (DRIVER_550, "12.6", True, ["2 GPU(s): NVIDIA L40S", MINOR_COMPAT], []),
        # Blackwell: only CUDA 13.0's torch is built for it.
        (RTX_PRO_BLACKWELL, "13.0", True, ["RTX PRO 6000"], []),
        (RTX_PRO_BLACKWELL, "12.6", False, ["compute capability 12.0", "newer than CUDA 12.6's torch is built for", USE_13_0],
         []),
        (B200_DRIVER_570, "13.0", False, ["older than 580", UPGRADE_580], [USE_12_6]),
        (B200_DRIVER_570, "12.6", False, ["newer than CUDA 12.6", f"{UPGRADE_580} and {USE_13_0}"], []),
        # Kepler: no line of the image.
        (K80, "13.0", False, ["compute capability 3.7", "no CUDA line of the image supports this GPU"], [UPGRADE_580]),
        (K80, "12.6", False, ["older than CUDA 12.6 supports (5.0 to 9.0)", "no CUDA line"], []),
    ],
    ids=[
        "v100-13.0", "v100-12.6", "t4-570-13.0", "t4-570-12.6", "a100-13.0", "a100-12.6", "h100-13.0", "h100-12.6",
        "rtx3090-13.0", "rtx3090-12.6", "driver550-13.0", "driver550-12.6", "blackwell-13.0", "blackwell-12.6",
        "b200-570-13.0", "b200-570-12.6", "k80-13.0", "k80-12.6",
    ],
)
def test_decision_from_recorded_nvidia_smi(
    recording: str, line: str, use_gpu: bool, in_reason: list[str], not_in_reason: list[str]
) -> None:
    decision = decide(recording, line)
    assert decision.use_gpu is use_gpu, f"CUDA {line} on {recording.splitlines()[0]!r}: {decision.reason}"
    assert "\n" not in decision.reason, f"the reason must be one line: {decision.reason!r}"
    for fragment in in_reason:
        assert fragment in decision.reason, f"expected {fragment!r} in: {decision.reason}"
    for fragment in not_in_reason:
        assert fragment not in decision.reason, f"did not expect {fragment!r} in: {decision.reason}"
    assert decision.variant == ("cuda" if use_gpu else "cpu")
    assert decision.incompatible is (not use_gpu), "GPUs found but unusable is a definite no"
    assert (decision.device_requests() is not None) is use_gpu, "GPUs are passed exactly when they are used"


@pytest.mark.parametrize(
    ("line", "device_ids", "in_reason"),
    [
        ("13.0", ["0"], ["1 GPU(s): NVIDIA A100-PCIE-40GB", "left out: GPU 1 (Tesla V100-PCIE-32GB, compute capability 7.0)"]),
        ("12.6", None, ["2 GPU(s)"]),
    ],
)
def test_a_mixed_host_passes_only_the_usable_gpus(line: str, device_ids: list[str] | None, in_reason: list[str]) -> None:
    decision = decide(A100_AND_V100, line)
    assert decision.use_gpu, decision.reason
    requests = decision.device_requests()
    assert requests is not None and len(requests) == 1
    if device_ids is None:
        assert requests[0]["Count"] == -1, f"every GPU is usable: --gpus all, got {requests}"
    else:
        assert requests[0]["DeviceIDs"] == device_ids, f"only the usable GPUs: {requests}"
    for fragment in in_reason:
        assert fragment in decision.reason, f"expected {fragment!r} in: {decision.reason}"


@pytest.mark.parametrize(
    ("returncode", "stdout", "stderr", "in_reason"),
    [
        # Drivers before R510 do not know the field.
        (2, 'Field "compute_cap" is not a valid field to query.\n\n', "", "too old to report compute capabilities"),
        (6, "No devices were found\n", "", "nvidia-smi found no GPU (No devices were found)"),
        (9, "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest "
            "NVIDIA driver is installed and running.\n\n", "", "found no GPU (NVIDIA-SMI has failed"),
        (0, "", "", "found no GPU (exit code 0)"),
        (0, "[N/A], [N/A], NVIDIA GRID\n", "", "unexpected nvidia-smi line"),
    ],
    ids=["driver-before-510", "no-devices", "driver-not-loaded", "empty", "garbage"],
)
def test_nvidia_smi_failures_are_one_line_reasons(returncode: int, stdout: str, stderr: str, in_reason: str) -> None:
    gpus, reason = gpu.read_query_output(returncode, stdout, stderr)
    assert gpus == [] and reason is not None, f"no GPU can be used from {stdout!r}"
    assert in_reason in reason and "\n" not in reason, reason


def test_parse_reads_every_gpu_in_index_order() -> None:
    gpus = gpu.parse_gpu_query(A100_AND_V100)
    assert [(g.index, g.name, g.driver, g.capability) for g in gpus] == [
        (0, "NVIDIA A100-PCIE-40GB", "580.65.06", (8, 0)),
        (1, "Tesla V100-PCIE-32GB", "580.65.06", (7, 0)),
    ]


class FakeEngine:
    """A docker client whose engine reports the given runtimes (the decision only asks `info()`)."""

    def __init__(self, runtimes: dict[str, Any]) -> None:
        self.runtimes = runtimes

    def info(self) -> dict[str, Any]:
        return {"Runtimes": self.runtimes}


@dataclass
class FakeHost:
    """A host whose `nvidia-smi` (first on PATH) prints a recording, with the CUDA line chosen by CUDA_LINE."""

    folder: Path
    monkeypatch: pytest.MonkeyPatch

    def install(self, recording: str, *, line: str) -> None:
        script = self.folder / "nvidia-smi"
        script.write_text(f"#!/bin/sh\n[ \"$1\" = \"{gpu.NVIDIA_SMI_QUERY[0]}\" ] || exit 64\ncat <<'EOF'\n{recording}EOF\n")
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
        self.monkeypatch.setenv("PATH", f"{self.folder}{os.pathsep}{os.environ['PATH']}")
        select(self.monkeypatch, line)

    def decide(self, recording: str, *, line: str, want_gpu: bool | None = None, runtimes: dict[str, Any] | None = None,
               otherwise: str = "use the CPU image") -> gpu.GpuDecision:
        self.install(recording, line=line)
        engine = FakeEngine({"nvidia": {"path": "nvidia-container-runtime"}} if runtimes is None else runtimes)
        return gpu.gpu_decision(engine, want_gpu=want_gpu, otherwise=otherwise)  # type: ignore[arg-type]


@pytest.fixture
def fake_host(tmp_path: Path, cuda_line: pytest.MonkeyPatch) -> FakeHost:
    """A fake host for one test (its CUDA line, and facts() cleared after it, by the cuda_line fixture)."""
    return FakeHost(tmp_path, cuda_line)


@pytest.mark.parametrize(
    ("recording", "line", "want_gpu", "expected"),
    [
        (H100, "13.0", None, (True, "NVIDIA H100")),
        (DRIVER_550, "13.0", None, (False, USE_12_6)),
        (DRIVER_550, "12.6", None, (True, MINOR_COMPAT)),
        (H100, "13.0", False, (False, "no GPU, as asked")),
    ],
    ids=["h100", "driver550-default-line", "driver550-cuda12-line", "asked-for-no-gpu"],
)
def test_gpu_decision_runs_nvidia_smi_for_the_selected_line(
    recording: str, line: str, want_gpu: bool | None, expected: tuple[bool, str], fake_host: FakeHost
) -> None:
    decision = fake_host.decide(recording, line=line, want_gpu=want_gpu)
    assert decision.use_gpu == expected[0], decision.reason
    assert expected[1] in decision.reason, decision.reason


def test_asking_for_an_unusable_gpu_is_a_one_line_error(fake_host: FakeHost) -> None:
    with pytest.raises(HarnessError) as raised:
        fake_host.decide(V100_DGX1, line="13.0", want_gpu=True, otherwise="use VARIANT=cpu")
    message = str(raised.value)
    assert message.startswith("a GPU was asked for but GPU 0 (Tesla V100") and message.endswith("; use VARIANT=cpu"), message
    assert USE_12_6 in message and "\n" not in message, message


def test_no_nvidia_runtime_means_no_gpu(fake_host: FakeHost, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gpu.shutil, "which", lambda name: None if name != "nvidia-smi" else "/bin/false")
    decision = fake_host.decide(H100, line="13.0", runtimes={"runc": {}})
    assert not decision.use_gpu and "no NVIDIA runtime" in decision.reason, decision.reason
    assert not decision.incompatible, "a missing runtime is not a verdict on the GPUs"


def test_an_unknown_cuda_line_is_a_one_line_error(cuda_line: pytest.MonkeyPatch) -> None:
    select(cuda_line, "12.4")
    with pytest.raises(HarnessError, match=r"CUDA_LINE=12.4 is not a CUDA line of the image: choose 13.0 or 12.6"):
        _ = facts().cuda_line


@pytest.mark.parametrize(
    ("recording", "variant", "gpu_flag", "expected"),
    [
        (H100, None, None, ("cuda", True, "CUDA 13.0 image with 1 GPU(s): NVIDIA H100")),
        (DRIVER_550, None, None, ("cpu", False, f"CPU image: NVIDIA driver 550.54.15 is older than 580, the oldest that runs "
                                                f"CUDA 13.0: {UPGRADE_580}, or {USE_12_6}")),
        (H100, "cpu", None, ("cpu", False, "CPU image, as asked")),
        (H100, "cuda", False, ("cuda", False, "CUDA image without GPUs, as asked (GPU=0)")),
    ],
    ids=["gpu-host", "driver-550", "cpu-asked", "cuda-without-gpus"],
)
def test_make_lab_picks_the_image_from_the_decision(
    fake_host: FakeHost, recording: str, variant: Variant | None, gpu_flag: bool | None, expected: tuple[str, bool, str]
) -> None:
    fake_host.install(recording, line="13.0")
    choice = gpu.choose_variant(FakeEngine({"nvidia": {}}), variant=variant, gpu=gpu_flag)  # type: ignore[arg-type]
    assert choice.variant == expected[0], choice
    assert choice.with_gpus == expected[1], choice
    assert choice.why.startswith(expected[2]), f"make lab says: {choice.why}"


@pytest.mark.parametrize(
    ("recording", "variant", "gpu_flag", "message"),
    [
        (DRIVER_550, "cuda", None, "a GPU was asked for but NVIDIA driver 550.54.15 is older than 580"),
        (V100_DGX1, None, True, "use VARIANT=cpu (or GPU=0) for the CPU image"),
    ],
    ids=["driver-550-cuda-asked", "v100-gpu-asked"],
)
def test_make_lab_refuses_a_gpu_it_cannot_use(
    fake_host: FakeHost, recording: str, variant: Variant | None, gpu_flag: bool | None, message: str
) -> None:
    fake_host.install(recording, line="13.0")
    with pytest.raises(HarnessError, match=re.escape(message)):
        gpu.choose_variant(FakeEngine({"nvidia": {}}), variant=variant, gpu=gpu_flag)  # type: ignore[arg-type]
