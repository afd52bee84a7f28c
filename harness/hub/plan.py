"""What `harness hub up` decides before it starts anything: the lab image, the GPUs, the volumes' size.

Every check that can fail is here, so that a refused `hub up` has stopped and changed nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import docker
import docker.errors

from harness.config import Variant, facts
from harness.engine.containers import require_image
from harness.engine.gpu import GpuDecision, gpu_decision
from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.hub.gpus import host_devices
from harness.hub.settings import HubSettings, instance_labels


@dataclass(frozen=True)
class HubPlan:
    """What `hub up` decided from the settings and the engine, before starting anything."""

    image: str
    gpu_ids: tuple[str, ...]
    work_size: str  # "" where the engine cannot limit a volume's size
    layer_size: str = ""  # "" where the storage driver cannot limit a container's writable layer
    notes: tuple[str, ...] = ()  # what the operator should know (a limit that does not apply here)


def wants_gpu(client: docker.DockerClient, settings: HubSettings) -> GpuDecision:
    """The one GPU decision (harness.engine.gpu): GPUs the CUDA image can use, or why not; a GPU asked for and
    unusable is a one-line error."""
    asked = settings.gpu if settings.gpu is not None else (True if settings.gpu_ids else None)
    return gpu_decision(client, want_gpu=asked, otherwise="on a server without usable GPUs run `make hub GPU=0`")


def work_volume_size(client: docker.DockerClient, settings: HubSettings) -> tuple[str, tuple[str, ...]]:
    """settings.work_size where the engine can enforce it (xfs with pquota), else "" and why."""
    if not settings.work_size or settings.work_size == "0":
        return "", ()
    probe = f"{settings.name}-quota-probe-{secrets.token_hex(3)}"
    try:
        client.volumes.create(probe, driver="local", driver_opts={"size": settings.work_size},
                              labels=instance_labels(settings.name)).remove(force=True)
    except docker.errors.APIError as error:
        if "quota" not in str(error):
            raise HarnessError(f"--work-size {settings.work_size}: the engine refused it ({first_line(error)})") from None
        return "", (f"students' work volumes have no quota (Docker's volume folder is not on xfs mounted with pquota): "
                    f"the hub checks their size every {settings.disk_check_interval_s} s, warns at 80 % and stops a "
                    f"server at {settings.work_size} (deploy/jupyterhub/README.md, 'Disk')",)
    return settings.work_size, ()


def writable_layer_size(client: docker.DockerClient, settings: HubSettings, image: str) -> tuple[str, tuple[str, ...]]:
    """settings.layer_size where the storage driver enforces --storage-opt size= (overlay2 on xfs with pquota), else ""."""
    if not settings.layer_size or settings.layer_size == "0":
        return "", ()
    try:
        probe = client.containers.create(image, command=["true"], storage_opt={"size": settings.layer_size},
                                         labels=instance_labels(settings.name))
    except docker.errors.APIError as error:
        if "storage-opt" not in str(error) and "quota" not in str(error):
            raise HarnessError(f"--layer-size {settings.layer_size}: the engine refused it ({first_line(error)})") from None
        return "", (f"the containers' writable layer is not size-limited ({first_line(error)}): /tmp and ~/.cache are "
                    f"tmpfs of {settings.tmp_size} each instead (deploy/jupyterhub/README.md, 'Disk')",)
    probe.remove(force=True)
    return settings.layer_size, ()


def plan_hub(client: docker.DockerClient, settings: HubSettings) -> HubPlan:
    """The lab image, the GPUs handed out and the volume size limit, or a one-line error."""
    decision = wants_gpu(client, settings)
    gpu = decision.use_gpu
    variant: Variant = settings.variant or ("cuda" if gpu else "cpu")
    image = facts().image(variant)
    require_image(client, image, make_target=f"image-{variant}")
    if settings.gpus_per_student < 1:
        raise HarnessError(f"--gpus-per-student is 1 or more, not {settings.gpus_per_student}")
    if not 0 <= settings.gpu_memory_fraction < 1:
        raise HarnessError(f"--gpu-memory-fraction is a fraction of a GPU's memory, 0 (no cap) to 0.99, "
                           f"not {settings.gpu_memory_fraction}")
    usable = frozenset(str(g.index) for g in decision.usable) if decision.found else None
    gpu_ids = (settings.gpu_ids or host_devices(usable=usable)) if gpu else ()
    work_size, notes = work_volume_size(client, settings)
    layer_size, layer_notes = writable_layer_size(client, settings, image)
    return HubPlan(image=image, gpu_ids=gpu_ids, work_size=work_size, layer_size=layer_size, notes=notes + layer_notes)
