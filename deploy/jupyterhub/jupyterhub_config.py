"""JupyterHub on one server: DockerSpawner starts one dl-lab container per student.

Baked into the hub image (deploy/jupyterhub/Dockerfile) and configured through environment
variables, which `harness hub up` (make hub) sets from docker/versions.env and its options:

  DL_LAB_IMAGE           lab image to spawn (dl-lab:cuda-... on a GPU server, dl-lab:cpu-... otherwise)
  DL_LAB_GPU             "1": give every student's container the server's GPUs (NVIDIA runtime)
  DL_LAB_NETWORK         the Docker network shared by the hub and the students' containers
  DL_LAB_PREFIX          name prefix of the students' containers and volumes
  DL_LAB_LABELS          JSON labels put on every container and volume the hub creates
  DL_LAB_HUB_HOST        the hub container's name on that network
  DL_LAB_ADMIN_USERS     comma-separated admin accounts (default: profesor)
  DL_LAB_CPU_LIMIT, DL_LAB_MEM_LIMIT, DL_LAB_SHM_SIZE   per-student limits (1.0, 2G, 1g)
  DL_LAB_CULL_TIMEOUT    seconds of inactivity before a server is stopped (3600)
  DL_LAB_KERNEL_CULL_TIMEOUT  seconds before an idle kernel is shut down, freeing its (GPU) memory (1800)
  DL_LAB_API_TOKEN       token of the "dl-lab-harness" service (the CLI, the tests); unset: no service

Runs inside the hub image: the standard library and the image's packages only.
"""

# ruff: noqa: F821  (`c` is the config object JupyterHub injects)
from __future__ import annotations

import json
import os
import sys

import docker.errors
import docker.types

env = os.environ.get
DATA_DIR = "/srv/jupyterhub/data"  # a named volume: the database, cookie secret and passwords survive restarts
WORK_DIR = "/home/jovyan/work"

# ---- hub, proxy ---------------------------------------------------------------------------------
c.JupyterHub.bind_url = "http://0.0.0.0:8000"  # published on the host's 127.0.0.1 only (make hub)
c.JupyterHub.hub_bind_url = "http://0.0.0.0:8081"
c.JupyterHub.hub_connect_url = f"http://{env('DL_LAB_HUB_HOST', 'dl-lab-hub')}:8081"
c.JupyterHub.db_url = f"sqlite:///{DATA_DIR}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{DATA_DIR}/jupyterhub_cookie_secret"
# The pure-Python configurable-http-proxy (same command line and REST API as the Node.js one).
c.ConfigurableHTTPProxy.command = ["configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = f"{DATA_DIR}/jupyterhub-proxy.pid"
# A class logs in at 9:00: let every student spawn at once rather than queue.
c.JupyterHub.concurrent_spawn_limit = 100
# Restarting or upgrading the hub (make hub) leaves the students' servers and kernels running;
# `make hub-down` removes them.
c.JupyterHub.cleanup_servers = False

# ---- accounts: never open -----------------------------------------------------------------------
# FirstUseAuthenticator with create_users=False: only accounts an admin created (admin panel, or
# POST /hub/api/users with the class list) can log in; each student chooses a password at first
# login. For university single sign-on replace it with LDAPAuthenticator or an OAuthenticator.
c.JupyterHub.authenticator_class = "firstuseauthenticator.FirstUseAuthenticator"
c.FirstUseAuthenticator.create_users = False
c.FirstUseAuthenticator.min_password_length = 10
c.FirstUseAuthenticator.dbm_path = f"{DATA_DIR}/passwords.dbm"
c.Authenticator.admin_users = {name.strip() for name in env("DL_LAB_ADMIN_USERS", "profesor").split(",") if name.strip()}
# Admins may open a student's server (to help debug a notebook).
c.JupyterHub.admin_access = True

# ---- the students' servers ----------------------------------------------------------------------
c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"
c.DockerSpawner.image = env("DL_LAB_IMAGE", "dl-lab:cpu-2026.11")
c.DockerSpawner.pull_policy = "never"  # built on this server (make images); there may be no registry
c.DockerSpawner.network_name = env("DL_LAB_NETWORK", "dl-lab-hub-net")
c.DockerSpawner.use_internal_ip = True
c.DockerSpawner.prefix = env("DL_LAB_PREFIX", "dl-lab-hub-user")
c.DockerSpawner.name_template = "{prefix}-{username}"
# The image's entrypoint (tini, start.sh) stays: start.sh copies the course notebooks from
# /opt/labs into ~/work on first start, never overwriting a student's file.
c.DockerSpawner.cmd = ["start-singleuser.py"]
c.DockerSpawner.notebook_dir = WORK_DIR
c.Spawner.default_url = "/lab"
# One named volume per student, kept when the server stops (remove=True removes only the container).
VOLUME_TEMPLATE = "{prefix}-{username}-work"
c.DockerSpawner.volumes = {VOLUME_TEMPLATE: WORK_DIR}
c.DockerSpawner.remove = True
LABELS: dict[str, str] = json.loads(env("DL_LAB_LABELS", "{}"))
c.DockerSpawner.extra_create_kwargs = {"labels": LABELS}
c.DockerSpawner.cpu_limit = float(env("DL_LAB_CPU_LIMIT", "1.0"))
c.DockerSpawner.mem_limit = env("DL_LAB_MEM_LIMIT", "2G")
host_config: dict[str, object] = {
    # DataLoader workers pass batches through /dev/shm; Docker's default 64 MB is too small.
    "shm_size": env("DL_LAB_SHM_SIZE", "1g"),
    # The servers run as jovyan and need no privilege: drop them all.
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "pids_limit": 4096,
}
if env("DL_LAB_GPU", "0") == "1":
    # Every student's container sees the server's GPUs (they share them; the engine needs the
    # NVIDIA Container Toolkit, which `make hub` checks before starting).
    host_config["device_requests"] = [docker.types.DeviceRequest(count=-1, capabilities=[["gpu"]])]
c.DockerSpawner.extra_host_config = host_config
# Idle kernels hold memory (GPU memory on a shared GPU); the image's Jupyter config shuts them down.
c.Spawner.environment = {"DL_LAB_KERNEL_CULL_TIMEOUT": env("DL_LAB_KERNEL_CULL_TIMEOUT", "1800")}
# 10+ servers starting at once on a small server take a while: wait, but not forever.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300


async def create_labelled_volume(spawner) -> None:  # type: ignore[no-untyped-def]
    """Create the student's volume with the project's labels (Docker would create it unlabelled)."""
    name = spawner.format_volume_name(VOLUME_TEMPLATE, spawner)
    try:
        await spawner.docker("inspect_volume", name)
    except docker.errors.NotFound:
        await spawner.docker("create_volume", name=name, labels=LABELS)
        spawner.log.info("created volume %s for %s", name, spawner.user.name)


c.Spawner.pre_spawn_hook = create_labelled_volume

# ---- services: idle culler, and the operator's token ---------------------------------------------
services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={env('DL_LAB_CULL_TIMEOUT', '3600')}"],
    }
]
roles = [
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
if env("DL_LAB_API_TOKEN"):
    services.append({"name": "dl-lab-harness", "api_token": env("DL_LAB_API_TOKEN")})
    # Manages accounts, servers and tokens; not the full admin role (which JupyterHub wants for
    # admin_users only).
    roles.append({
        "name": "dl-lab-operator",
        "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "read:hub",
                   "list:services", "read:services"],
        "services": ["dl-lab-harness"],
    })
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
