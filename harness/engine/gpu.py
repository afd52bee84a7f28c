"""Does the Docker engine give containers an NVIDIA GPU? Used to pick the image for `make lab`."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import docker
from docker.types import DeviceRequest


@dataclass(frozen=True)
class GpuSupport:
    available: bool
    reason: str


def all_gpus() -> list[DeviceRequest]:
    """The docker-py equivalent of `docker run --gpus all`."""
    return [DeviceRequest(count=-1, capabilities=[["gpu"]])]


def engine_gpu_support(client: docker.DockerClient) -> GpuSupport:
    runtimes = client.info().get("Runtimes", {}) or {}
    has_toolkit = "nvidia" in runtimes or shutil.which("nvidia-container-runtime-hook") or shutil.which("nvidia-ctk")
    if not has_toolkit:
        return GpuSupport(False, "the Docker engine has no NVIDIA runtime (install the NVIDIA Container Toolkit to use a GPU)")
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return GpuSupport(False, "nvidia-smi is not installed, so no NVIDIA driver answers on this machine")
    try:
        listed = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=15, check=False)
    except subprocess.TimeoutExpired:
        return GpuSupport(False, "nvidia-smi did not answer within 15 s (driver problem?)")
    gpus = [line for line in listed.stdout.splitlines() if line.startswith("GPU ")]
    if listed.returncode != 0 or not gpus:
        return GpuSupport(False, f"nvidia-smi found no GPU ({(listed.stderr or listed.stdout).strip()[:120]})")
    return GpuSupport(True, f"{len(gpus)} GPU(s): {gpus[0].split('(')[0].strip()}")
