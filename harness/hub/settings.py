"""What a hub instance is started with: the one place for the hub's defaults.

`harness hub up` (its option defaults), the tests and `make bench-hub` build a HubSettings;
hub_environment() turns it into the DL_LAB_* variables that deploy/jupyterhub/jupyterhub_config.py
requires (the config has no defaults of its own, so nothing is written twice). The lab image's
tag comes from docker/versions.env through harness.config.facts().
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from docker.models.containers import Container

from harness.config import Variant, facts
from harness.errors import HarnessError

COMPONENT = "hub"
DEFAULT_NAME = "dl-lab-hub"
# Students' private networks are carved out of this range, one /29 each (hub, student, gateway).
DEFAULT_STUDENT_SUBNETS = "172.30.0.0/16"
# The hub's data volume inside its container: database, cookie secret, passwords (jupyterhub_config.py's DATA_DIR).
DATA_DIR = "/srv/jupyterhub/data"


def instance_label() -> str:
    """org.dl-lab.hub-instance: beside the project label, names the instance a resource belongs to."""
    return facts().label("hub-instance")


def student_label() -> str:
    """org.dl-lab.hub-user: the student a server or work volume belongs to (the spawner sets it)."""
    return facts().label("hub-user")


def gpus_label() -> str:
    """org.dl-lab.gpus: the GPUs a student's server was handed (the spawner sets it)."""
    return facts().label("gpus")


def instance_labels(name: str) -> dict[str, str]:
    return {**facts().labels(COMPONENT), instance_label(): name}


def instance_filter(name: str) -> dict[str, str]:
    """The engine's label filter for every container, volume and network of the instance `name`."""
    return {"label": f"{instance_label()}={name}"}


@dataclass(frozen=True)
class HubSettings:
    name: str = DEFAULT_NAME
    # Host port on 127.0.0.1; 0 lets the engine pick a free one (tests).
    port: int = field(default_factory=lambda: facts().hub_port)
    variant: Variant | None = None  # None: cuda when the engine gives containers a GPU, else cpu
    gpu: bool | None = None  # None: detect
    # GPU ids ("0", "1") or MIG device UUIDs handed out round-robin; empty: those `nvidia-smi -L` lists.
    gpu_ids: tuple[str, ...] = ()
    gpus_per_student: int = 1
    # Only members of this JupyterHub group may start a GPU server; empty: every student gets one.
    gpu_group: str = ""
    # Fraction of a GPU's memory one process may allocate (torch); 0: no cap.
    gpu_memory_fraction: float = 0.0
    cpu_limit: float = 1.0
    mem_limit: str = "2G"  # swap included: students' containers never swap
    shm_size: str = "1g"
    # Size of each student's work volume where Docker's volume folder has quotas (xfs, pquota); "": none.
    work_size: str = "5G"
    # The container's writable layer (--storage-opt size=, overlay2 on xfs with pquota); where the driver
    # cannot, /tmp and ~/.cache are size-limited tmpfs of tmp_size each (their pages count as memory).
    layer_size: str = "5G"
    tmp_size: str = "512m"
    # Seconds between two checks of a work folder's size where no quota limits it (ext4).
    disk_check_interval_s: int = 60
    student_subnets: str = DEFAULT_STUDENT_SUBNETS
    cull_timeout_s: int = 3600
    kernel_cull_timeout_s: int = 1800
    admin: str = "profesor"
    # Each student's server on its own origin, <user>.<host>: "https://hub.example.org" (behind the TLS
    # proxy, wildcard certificate), or "localhost" (http://localhost:PORT, on this machine); "": none,
    # and then the admin cannot open students' servers (jupyterhub_config.py).
    subdomain_host: str = ""
    # Survive reboots of the server (make hub); the tests' instances do not.
    restart: bool = True

    @property
    def subdomain_url(self) -> str:
        """The hub's JupyterHub.subdomain_host ("" without subdomains)."""
        if self.subdomain_host == "localhost":
            return f"http://localhost:{self.port}"
        return self.subdomain_host.rstrip("/")

    @property
    def network(self) -> str:
        """The hub container's own network (it publishes the port); students get one network each."""
        return f"{self.name}-net"

    @property
    def data_volume(self) -> str:
        return f"{self.name}-data"

    @property
    def prefix(self) -> str:
        return f"{self.name}-user"


DEFAULTS = HubSettings()


def hub_environment(settings: HubSettings, *, image: str, gpu_ids: tuple[str, ...], work_size: str,
                    token: str, layer_size: str = "") -> dict[str, str]:
    """The DL_LAB_* variables jupyterhub_config.py reads (every one of them: it has no defaults).

    gpu_ids: the devices students' GPU servers get (empty: no GPUs); work_size: "" where the
    engine cannot limit a volume's size (the hub then watches settings.work_size); layer_size: ""
    where the storage driver cannot limit the writable layer (then /tmp and ~/.cache are tmpfs).
    """
    return {
        "DL_LAB_IMAGE": image,
        "DL_LAB_GPU_IDS": ",".join(gpu_ids),
        "DL_LAB_GPUS_PER_STUDENT": str(settings.gpus_per_student),
        "DL_LAB_GPU_GROUP": settings.gpu_group,
        "DL_LAB_GPU_MEMORY_FRACTION": f"{settings.gpu_memory_fraction:g}",
        "DL_LAB_PREFIX": settings.prefix,
        "DL_LAB_LABELS": json.dumps(instance_labels(settings.name)),
        "DL_LAB_STUDENT_LABEL": student_label(),
        "DL_LAB_GPUS_LABEL": gpus_label(),
        "DL_LAB_HUB_HOST": settings.name,
        "DL_LAB_STUDENT_SUBNETS": settings.student_subnets,
        "DL_LAB_ADMIN_USERS": settings.admin,
        "DL_LAB_CPU_LIMIT": f"{settings.cpu_limit:g}",
        "DL_LAB_MEM_LIMIT": settings.mem_limit,
        "DL_LAB_SHM_SIZE": settings.shm_size,
        "DL_LAB_WORK_SIZE": work_size,
        "DL_LAB_WORK_WATCH_SIZE": "" if work_size else settings.work_size if settings.work_size != "0" else "",
        "DL_LAB_LAYER_SIZE": layer_size,
        "DL_LAB_TMP_SIZE": settings.tmp_size,
        "DL_LAB_DISK_CHECK_INTERVAL": str(settings.disk_check_interval_s),
        "DL_LAB_CULL_TIMEOUT": str(settings.cull_timeout_s),
        "DL_LAB_KERNEL_CULL_TIMEOUT": str(settings.kernel_cull_timeout_s),
        "DL_LAB_API_TOKEN": token,
        "DL_LAB_SUBDOMAIN_HOST": settings.subdomain_url,
    }


def hub_setting_of(container: Container, key: str) -> str:
    """A DL_LAB_* setting the hub container was started with ("" when absent)."""
    environment: list[str] = container.attrs["Config"]["Env"] or []
    for item in environment:
        name, _, value = item.partition("=")
        if name == key:
            return value
    return ""


def checked_subdomain_host(value: str, *, port: int) -> str:
    """'' (none), 'localhost' (http://localhost:PORT) or an http(s)://NAME without a path; else a one-line error."""
    value = value.strip().rstrip("/")
    if value in {"", "localhost"}:
        if value and not port:
            raise HarnessError("--subdomain-host localhost needs a fixed --port (the browser opens http://localhost:PORT)")
        return value
    scheme, _, rest = value.partition("://")
    if scheme not in {"http", "https"} or not rest or "/" in rest:
        raise HarnessError(f"--subdomain-host is https://NAME (a wildcard DNS name and certificate) or localhost, "
                           f"not {value!r}")
    return value
