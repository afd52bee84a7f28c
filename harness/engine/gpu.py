"""Use the GPU? The one decision every command makes before starting the CUDA image.

The CUDA image runs on a GPU only when three things hold: the Docker engine can pass GPUs to
containers (the NVIDIA Container Toolkit), the host's NVIDIA driver is new enough for the image's
CUDA line, and the GPU's compute capability is one its torch is built for. Otherwise torch in the
container falls back to the CPU without a word; so the decision says in one line what it found and
what to do (upgrade the driver, or use the other CUDA line), and the caller uses the CPU image.

`gpu_decision(client)` decides for the host; `assess_gpus(...)` is the pure part, tested against the
recorded `nvidia-smi` output of real machines.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass

import docker
from docker.types import DeviceRequest

from harness.config import CudaLine, Variant, facts, parse_compute_capability
from harness.errors import HarnessError

log = logging.getLogger(__name__)

# What `make lab`, the hub and `harness smoke` read from the host (one line per GPU, in index order).
NVIDIA_SMI_QUERY = ["--query-gpu=driver_version,compute_cap,name", "--format=csv,noheader"]
NVIDIA_SMI_TIMEOUT_S = 15
NO_RUNTIME = "the Docker engine has no NVIDIA runtime (install the NVIDIA Container Toolkit to use a GPU)"


@dataclass(frozen=True)
class Gpu:
    index: int
    name: str
    driver: str  # "550.54.15"
    capability: tuple[int, int]

    @property
    def label(self) -> str:
        return f"GPU {self.index} ({self.name}, compute capability {self.capability[0]}.{self.capability[1]})"


@dataclass(frozen=True)
class GpuDecision:
    """Whether the CUDA image gets GPUs, and the one line that says why (with the fix when it does not)."""

    use_gpu: bool
    reason: str
    usable: tuple[Gpu, ...] = ()  # the GPUs the CUDA image can use
    found: tuple[Gpu, ...] = ()  # every GPU nvidia-smi listed

    @property
    def variant(self) -> Variant:
        return "cuda" if self.use_gpu else "cpu"

    @property
    def incompatible(self) -> bool:
        """GPUs were found, but the image's CUDA line cannot use them (a definite no, not a missing runtime)."""
        return bool(self.found) and not self.use_gpu

    def device_requests(self) -> list[DeviceRequest] | None:
        """docker-py's `--gpus`: every GPU when all are usable, else only the usable ones; None without GPU."""
        if not self.use_gpu:
            return None
        if len(self.usable) == len(self.found):
            return all_gpus()
        return [DeviceRequest(device_ids=[str(gpu.index) for gpu in self.usable], capabilities=[["gpu"]])]


def all_gpus() -> list[DeviceRequest]:
    """The docker-py equivalent of `docker run --gpus all`."""
    return [DeviceRequest(count=-1, capabilities=[["gpu"]])]


# ---- the pure part ------------------------------------------------------------------------------
def parse_gpu_query(text: str) -> list[Gpu]:
    """The GPUs in `nvidia-smi --query-gpu=driver_version,compute_cap,name --format=csv,noheader` output."""
    gpus: list[Gpu] = []
    for line in text.strip().splitlines():
        fields = [field.strip() for field in line.split(",", 2)]
        if len(fields) != 3 or not fields[0][:1].isdigit():
            raise HarnessError(f"unexpected nvidia-smi line {line.strip()!r}: is the NVIDIA driver working ('nvidia-smi')?")
        gpus.append(Gpu(index=len(gpus), name=fields[2], driver=fields[0], capability=parse_compute_capability(fields[1])))
    return gpus


def driver_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def driver_at_least(driver: str, wanted: str) -> bool:
    return driver_tuple(driver) >= driver_tuple(wanted)


def capability_fits(gpu: Gpu, line: CudaLine) -> bool:
    above_max = line.max_capability is not None and gpu.capability > line.max_capability
    return gpu.capability >= line.min_capability and not above_max


def unusable_why(gpu: Gpu, line: CudaLine) -> str | None:
    """Why this CUDA line cannot use this GPU, or None when it can."""
    # The GPU first: a driver upgrade does not help a GPU the line is not built for.
    if gpu.capability < line.min_capability:
        return f"{gpu.label} is older than CUDA {line.version} supports ({line.capability_range})"
    if not capability_fits(gpu, line):
        return f"{gpu.label} is newer than CUDA {line.version}'s torch is built for ({line.capability_range})"
    if not driver_at_least(gpu.driver, line.min_driver):
        return f"NVIDIA driver {gpu.driver} is older than {line.min_driver}, the oldest that runs CUDA {line.version}"
    return None


def fix_for(gpus: list[Gpu], line: CudaLine, lines: Iterable[CudaLine]) -> str:
    """What to do when `line` can use none of `gpus`: upgrade the driver, use another CUDA line, both, or nothing."""
    driver = gpus[0].driver
    steps: list[str] = []
    if not driver_at_least(driver, line.min_driver) and any(capability_fits(gpu, line) for gpu in gpus):
        steps.append(f"upgrade the NVIDIA driver to {line.min_driver} or newer")
    for other in lines:
        if other.version == line.version or not any(capability_fits(gpu, other) for gpu in gpus):
            continue
        use = f"use the CUDA {other.version} line (make CUDA_LINE={other.version} image-cuda lab)"
        if driver_at_least(driver, other.min_driver):
            steps.append(use)
        elif not steps:
            steps.append(f"upgrade the NVIDIA driver to {other.min_driver} or newer and {use}")
    if not steps:
        return "no CUDA line of the image supports this GPU"
    return ", or ".join(steps)


def assess_gpus(gpus: list[Gpu], line: CudaLine, lines: Iterable[CudaLine]) -> GpuDecision:
    """The decision for GPUs found by nvidia-smi, for the image's CUDA line; `lines`: every line, for the fix."""
    if not gpus:
        return GpuDecision(False, "nvidia-smi lists no GPU")
    usable = tuple(gpu for gpu in gpus if unusable_why(gpu, line) is None)
    if not usable:
        why = unusable_why(gpus[0], line)
        return GpuDecision(False, f"{why}: {fix_for(gpus, line, lines)}", found=tuple(gpus))
    names = sorted({gpu.name for gpu in usable})
    reason = f"{len(usable)} GPU(s): {', '.join(names)}, driver {usable[0].driver}"
    if len(usable) < len(gpus):
        skipped = "; ".join(str(unusable_why(gpu, line)) for gpu in gpus if gpu not in usable)
        reason += f" (left out: {skipped})"
    if not driver_at_least(usable[0].driver, line.full_driver):
        reason += (f"; driver {usable[0].driver} runs CUDA {line.version} through NVIDIA's minor version compatibility "
                   f"(no JIT of newer PTX): {line.full_driver} or newer gives all of it")
    return GpuDecision(True, reason, usable=usable, found=tuple(gpus))


# ---- the host -----------------------------------------------------------------------------------
def engine_has_nvidia_runtime(client: docker.DockerClient) -> bool:
    runtimes = client.info().get("Runtimes", {}) or {}
    return bool("nvidia" in runtimes or shutil.which("nvidia-container-runtime-hook") or shutil.which("nvidia-ctk"))


def run_nvidia_smi(arguments: list[str]) -> subprocess.CompletedProcess[str]:
    """The host's nvidia-smi with these arguments (the one place the host runs it), or a HarnessError saying
    why it could not run."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        raise HarnessError("nvidia-smi is not installed, so no NVIDIA driver answers on this machine")
    try:
        return subprocess.run([smi, *arguments], capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise HarnessError(f"nvidia-smi did not answer within {NVIDIA_SMI_TIMEOUT_S} s (driver problem?)") from None


def query_gpus() -> tuple[list[Gpu], str | None]:
    """The host's GPUs from nvidia-smi, or ([], why none could be read)."""
    try:
        result = run_nvidia_smi(NVIDIA_SMI_QUERY)
    except HarnessError as error:
        return [], str(error)
    return read_query_output(result.returncode, result.stdout, result.stderr)


def read_query_output(returncode: int, stdout: str, stderr: str) -> tuple[list[Gpu], str | None]:
    """What nvidia-smi's query answered: the GPUs, or why there are none (pure: tested with recorded outputs)."""
    said = (stderr.strip() or stdout.strip()).splitlines()[0][:160] if (stderr.strip() or stdout.strip()) else ""
    if "compute_cap" in said and "not a valid field" in said:
        return [], (f"the NVIDIA driver is too old to report compute capabilities ({said}): "
                    f"upgrade it to {facts().cuda_line.min_driver} or newer")
    if returncode != 0 or not stdout.strip():
        return [], f"nvidia-smi found no GPU ({said or f'exit code {returncode}'})"
    try:
        return parse_gpu_query(stdout), None
    except HarnessError as error:
        return [], str(error)


def gpu_decision(
    client: docker.DockerClient, *, want_gpu: bool | None = None, otherwise: str = "use the CPU image"
) -> GpuDecision:
    """Use the GPU? want_gpu None: when the CUDA image can; False: never; True: a HarnessError (reason, fix,
    then `otherwise`) when it cannot. For the CUDA line the images are built for (docker/versions.env)."""
    if want_gpu is False:
        return GpuDecision(False, "no GPU, as asked")
    if not engine_has_nvidia_runtime(client):
        decision = GpuDecision(False, NO_RUNTIME)
    else:
        gpus, unreadable = query_gpus()
        line = facts().cuda_line
        decision = GpuDecision(False, unreadable) if unreadable else assess_gpus(gpus, line, facts().cuda_lines.values())
    log.info("GPU decision: %s", decision.reason)
    if want_gpu and not decision.use_gpu:
        raise HarnessError(f"a GPU was asked for but {decision.reason}; {otherwise}")
    return decision


# ---- the variant -------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantChoice:
    """The image `make lab`, `harness bench` and `harness smoke` use, the GPUs it gets, and the line that says why."""

    variant: Variant
    device_requests: list[DeviceRequest] | None  # the GPUs the container gets; None: none
    why: str
    incompatible: bool = False  # GPUs were found that the CUDA image cannot use

    @property
    def with_gpus(self) -> bool:
        return self.device_requests is not None


def choose_variant(client: docker.DockerClient, *, variant: Variant | None, gpu: bool | None) -> VariantChoice:
    """The CUDA image with the GPUs it can use when asked for or when the host's GPUs suit its CUDA line;
    else the CPU image, saying why (and what to do, when there are GPUs the image cannot use). The one
    variant chooser: `make lab` passes VARIANT and GPU; bench and smoke without --variant pass neither."""
    if variant == "cpu" or gpu is False:
        if variant == "cuda":
            return VariantChoice("cuda", None, "CUDA image without GPUs, as asked (GPU=0)")
        return VariantChoice("cpu", None, "CPU image, as asked")
    wanted = True if variant == "cuda" or gpu is True else None
    decision = gpu_decision(client, want_gpu=wanted, otherwise="use VARIANT=cpu (or GPU=0) for the CPU image")
    if decision.use_gpu:
        return VariantChoice("cuda", decision.device_requests(), f"CUDA {facts().cuda_version} image with {decision.reason}")
    return VariantChoice("cpu", None, f"CPU image: {decision.reason}", incompatible=decision.incompatible)
