"""JupyterHub on one server: DLLabSpawner (DockerSpawner) starts one dl-lab container per student.

Baked into the hub image (deploy/jupyterhub/Dockerfile) with the dl_lab_hub package beside it, and
configured through environment variables that `harness hub up` (make hub) sets, every one of them:
the defaults live in harness/hub/settings.py and the image tag in docker/versions.env, not here.

  DL_LAB_IMAGE               lab image to spawn (dl-lab:cuda-... on a GPU server, dl-lab:cpu-... otherwise)
  DL_LAB_GPU_IDS             GPU ids or MIG device UUIDs handed out round-robin (empty: no GPUs)
  DL_LAB_GPUS_PER_STUDENT    devices per GPU server
  DL_LAB_GPU_GROUP           the JupyterHub group whose members may start GPU servers (empty: everyone)
  DL_LAB_GPU_MEMORY_FRACTION per-process GPU memory cap the image applies (0: none)
  DL_LAB_PREFIX              name prefix of the students' containers, volumes and networks
  DL_LAB_LABELS              JSON labels put on every container, volume and network the hub creates
  DL_LAB_STUDENT_LABEL       the label naming the student a container or volume belongs to
  DL_LAB_GPUS_LABEL          the label naming the GPUs a student's server was handed
  DL_LAB_HUB_HOST            the hub container's name (connected to every student's network)
  DL_LAB_STUDENT_SUBNETS     the address range the students' private networks are taken from
  DL_LAB_ADMIN_USERS         comma-separated instructor accounts (admins only with subdomains)
  DL_LAB_SUBDOMAIN_HOST      each server on <user>.<host> (https://hub.example.org, http://localhost:8000); empty: none
  DL_LAB_CPU_LIMIT, DL_LAB_MEM_LIMIT, DL_LAB_SHM_SIZE   per-student limits (memory: swap included)
  DL_LAB_WORK_SIZE           size limit of a new work volume (empty: the engine cannot limit it)
  DL_LAB_WORK_WATCH_SIZE     where it cannot: the size at which the hub stops a server (empty: no watch)
  DL_LAB_DISK_CHECK_INTERVAL seconds between two checks of a work folder's size
  DL_LAB_LAYER_SIZE          size limit of a container's writable layer (empty: the driver cannot)
  DL_LAB_TMP_SIZE            then: the size of the tmpfs at /tmp and ~/.cache
  DL_LAB_CULL_TIMEOUT        seconds of inactivity before a server is stopped
  DL_LAB_KERNEL_CULL_TIMEOUT seconds before an idle kernel is shut down, freeing its (GPU) memory
  DL_LAB_API_TOKEN           token of the "dl-lab-harness" service (the CLI, the tests)

Runs inside the hub image: the standard library and the image's packages only.
"""

# ruff: noqa: F821  (`c` is the config object JupyterHub injects)
from __future__ import annotations

import json
import os
import sys

from dl_lab_hub.allocation import parse_devices
from dl_lab_hub.auth import apply_pending
from dl_lab_hub.passwords import PasswordStore
from dl_lab_hub.spawner import check_profile, profile_form, profile_from_form


def setting(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise SystemExit(f"{name} is not set: this hub is started by `harness hub up` (make hub), "
                         "which sets every DL_LAB_* variable") from None


DATA_DIR = "/srv/jupyterhub/data"  # a named volume: the database, cookie secret and passwords survive restarts
WORK_DIR = "/home/jovyan/work"
HUB_HOST = setting("DL_LAB_HUB_HOST")
PASSWORDS = f"{DATA_DIR}/passwords.sqlite"

# ---- hub, proxy ---------------------------------------------------------------------------------
c.JupyterHub.bind_url = "http://0.0.0.0:8000"  # the proxy; published on the host's 127.0.0.1 only (make hub)
# The hub's own API listens inside its container only: the students' servers reach it through the
# proxy (/hub/api), like a browser, and nothing else of the hub is on their network.
c.JupyterHub.hub_bind_url = "http://127.0.0.1:8081"
c.JupyterHub.hub_connect_url = "http://127.0.0.1:8081"
c.Spawner.hub_connect_url = f"http://{HUB_HOST}:8000"
c.JupyterHub.db_url = f"sqlite:///{DATA_DIR}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{DATA_DIR}/jupyterhub_cookie_secret"
# The pure-Python configurable-http-proxy (same command line and REST API as the Node.js one), run as
# dl_lab_hub.proxy: it drops a client's X-Real-IP (the hub takes the client's address from what the proxy
# appends to X-Forwarded-For) and, with subdomains, routes by host and keeps the hub off the students' hosts.
# Its requests to the hub wait as long as a spawn may take: the spawn page's progress stream stays open until
# the server is ready, and with the proxy's default of 20 s a slower start ended it with a 503, which left the
# student on the spawn page for good.
SPAWN_TIMEOUT_S = 300  # 10+ servers starting at once on a small server take a while: wait, but not forever
PROXY_ARGS = [f"--proxy-timeout={(SPAWN_TIMEOUT_S + 30) * 1000}"]
c.ConfigurableHTTPProxy.command = [sys.executable, "-m", "dl_lab_hub.proxy", *PROXY_ARGS]
c.ConfigurableHTTPProxy.pid_file = f"{DATA_DIR}/jupyterhub-proxy.pid"
# A class logs in at 9:00: let every student spawn at once rather than queue.
c.JupyterHub.concurrent_spawn_limit = 100
# Restarting or upgrading the hub (make hub) leaves the students' servers and kernels running;
# `make hub-down` removes them.
c.JupyterHub.cleanup_servers = False

# ---- accounts: never open, never first-come ------------------------------------------------------
# Only accounts an admin created (harness hub users, POST /hub/api/users) log in, and only with the
# password an admin set (each student gets a random, initial one that leads only to the change-password
# page) or the one the student then chose (dl_lab_hub.auth). Hashes live in an SQLite file with real
# locking (dl_lab_hub.passwords). For university single sign-on replace it with LDAPAuthenticator or an
# OAuthenticator.
c.JupyterHub.authenticator_class = "dl_lab_hub.auth.AdminSetPasswordAuthenticator"
c.JupyterHub.template_paths = [f"{os.path.dirname(os.path.abspath(__file__))}/dl_lab_hub/templates"]
c.AdminSetPasswordAuthenticator.passwords_path = PASSWORDS
c.AdminSetPasswordAuthenticator.min_password_length = 10
ADMINS = sorted({name.strip() for name in setting("DL_LAB_ADMIN_USERS").split(",") if name.strip()})
# Hashes from a hub of an earlier release (a dbm file) are taken over once, as they were.
try:
    PasswordStore(PASSWORDS).import_dbm(f"{DATA_DIR}/passwords.dbm")
except Exception as error:  # an unreadable old file: its accounts get passwords from `harness hub users --reset`
    print(f"[dl-lab] could not take over {DATA_DIR}/passwords.dbm: {error}", file=sys.stderr)
# The admin's password, left by `harness hub up` in the data volume: set before anyone can log in, and
# only while the account has none (a password the admin chose stays).
apply_pending(PASSWORDS, f"{DATA_DIR}/pending-passwords.json")

# ---- no student code in an origin that carries the instructor's credentials ---------------------------
# A student's server runs their code (notebooks, JupyterLab extensions) in the browser. Served from the
# hub's own origin, that code could use an instructor's hub cookie the moment the instructor opens the
# student's server (read a form token, make the student an admin). So:
# - with DL_LAB_SUBDOMAIN_HOST (https://hub.example.org behind the TLS proxy with a wildcard certificate,
#   or http://localhost:PORT on one machine), each server has its own origin (ana.hub.example.org) and
#   the instructors are JupyterHub admins who may open a student's server to help;
# - without, the instructors cannot open students' servers at all: they get the "instructor" role (the
#   admin panel: accounts, groups, starting and stopping servers) instead of JupyterHub's admin role,
#   which always includes access:servers and tokens of any user. They read students' notebooks as the
#   harness collects them (HTML rendered by nbconvert), which runs no student code in their browser.
SUBDOMAIN_HOST = setting("DL_LAB_SUBDOMAIN_HOST")
if SUBDOMAIN_HOST:
    c.JupyterHub.subdomain_host = SUBDOMAIN_HOST
    # __Host- cookies cannot be set (tossed) by a student's subdomain; they need https.
    c.JupyterHub.cookie_host_prefix_enabled = SUBDOMAIN_HOST.startswith("https://")
    # dl_lab_hub.proxy routes by host, and sends a request for the hub on a student's host
    # (ana.hub.example.org/hub/login) to the hub's own host: the hub's pages never load in a student's origin.
INSTRUCTOR_SCOPES = ["admin-ui", "admin:users", "admin:servers", "admin:groups", "list:services", "read:services",
                     "read:hub", "read:roles", "read:metrics"]
c.Authenticator.admin_users = set()  # the roles below say who is an admin

# ---- the students' servers ----------------------------------------------------------------------
c.JupyterHub.spawner_class = "dl_lab_hub.spawner.DLLabSpawner"
c.DLLabSpawner.image = setting("DL_LAB_IMAGE")
c.DLLabSpawner.pull_policy = "never"  # built on this server (make images); there may be no registry
c.DLLabSpawner.hub_container = HUB_HOST
c.DLLabSpawner.student_subnets = setting("DL_LAB_STUDENT_SUBNETS")
c.DLLabSpawner.use_internal_ip = True
c.DLLabSpawner.prefix = setting("DL_LAB_PREFIX")
c.DLLabSpawner.name_template = "{prefix}-{username}"
# The image's entrypoint (tini, start.sh) stays: start.sh copies the course notebooks from
# /opt/labs into ~/work on first start, never overwriting a student's file.
c.DLLabSpawner.cmd = ["start-singleuser.py"]
c.DLLabSpawner.notebook_dir = WORK_DIR
c.Spawner.default_url = "/lab"
# One named volume per student, kept when the server stops (remove=True removes only the container).
VOLUME_TEMPLATE = "{prefix}-{username}-work"
c.DLLabSpawner.volume_template = VOLUME_TEMPLATE
c.DLLabSpawner.volumes = {VOLUME_TEMPLATE: WORK_DIR}
c.DLLabSpawner.work_size = setting("DL_LAB_WORK_SIZE")
# Where no quota limits the volume (ext4): the hub checks its size, warns at 80 % and stops the server at the limit.
c.DLLabSpawner.work_watch_size = setting("DL_LAB_WORK_WATCH_SIZE")
DISK_CHECK_INTERVAL_S = int(setting("DL_LAB_DISK_CHECK_INTERVAL"))
c.DLLabSpawner.disk_check_interval = DISK_CHECK_INTERVAL_S
c.Spawner.poll_interval = max(5, min(30, DISK_CHECK_INTERVAL_S))
c.DLLabSpawner.remove = True
c.DLLabSpawner.labels = json.loads(setting("DL_LAB_LABELS"))
c.DLLabSpawner.student_label = setting("DL_LAB_STUDENT_LABEL")
c.DLLabSpawner.gpus_label = setting("DL_LAB_GPUS_LABEL")
CPU_LIMIT = float(setting("DL_LAB_CPU_LIMIT"))
c.DLLabSpawner.cpu_limit = CPU_LIMIT
MEM_LIMIT = setting("DL_LAB_MEM_LIMIT")
c.DLLabSpawner.mem_limit = MEM_LIMIT
HOST_CONFIG: dict = {
    # No swap: memory + swap = memory, so a student over the limit is stopped rather than slowing the server.
    "memswap_limit": MEM_LIMIT,
    # DataLoader workers pass batches through /dev/shm; Docker's default 64 MB is too small.
    "shm_size": setting("DL_LAB_SHM_SIZE"),
    # The servers run as jovyan and need no privilege: drop them all.
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
    "pids_limit": 4096,
}
# The writable layer: limited by the storage driver where it can (overlay2 on xfs with pquota); otherwise
# /tmp and ~/.cache, where big files usually land, are size-limited tmpfs (counted as the server's memory).
LAYER_SIZE = setting("DL_LAB_LAYER_SIZE")
TMP_SIZE = setting("DL_LAB_TMP_SIZE")
if LAYER_SIZE:
    HOST_CONFIG["storage_opt"] = {"size": LAYER_SIZE}
else:
    HOST_CONFIG["tmpfs"] = {
        "/tmp": f"size={TMP_SIZE},mode=1777,exec",
        "/home/jovyan/.cache": f"size={TMP_SIZE},mode=0700,uid=1000,gid=100,exec",
    }
    # The rest of the home (~/.local, pip install --user, folders beside ~/work) stays on the host's disk: where
    # the hub watches the work folder, it watches the writable layer too (its size as the engine measures it),
    # against the same size.
    c.DLLabSpawner.layer_watch_size = setting("DL_LAB_WORK_WATCH_SIZE")
c.DLLabSpawner.extra_host_config = HOST_CONFIG
# GPUs: each GPU server gets its own device(s), round-robin (dl_lab_hub.spawner).
c.DLLabSpawner.gpu_ids = list(parse_devices(setting("DL_LAB_GPU_IDS")))
c.DLLabSpawner.gpus_per_student = int(setting("DL_LAB_GPUS_PER_STUDENT"))
c.DLLabSpawner.gpu_group = setting("DL_LAB_GPU_GROUP")
_fraction = float(setting("DL_LAB_GPU_MEMORY_FRACTION") or "0")
c.DLLabSpawner.gpu_memory_fraction = f"{_fraction:g}" if _fraction > 0 else ""
c.DLLabSpawner.options_form = profile_form
c.DLLabSpawner.options_from_form = profile_from_form
c.DLLabSpawner.apply_user_options = check_profile
# Idle kernels hold memory (GPU memory on a shared GPU); the image's Jupyter config shuts them down.
# As many torch/BLAS threads as the student's CPUs: with one per host core, threads fight over the CPU quota
# and training runs many times slower.
_threads = str(max(1, int(CPU_LIMIT)))
CULL_TIMEOUT_S = int(setting("DL_LAB_CULL_TIMEOUT"))
c.Spawner.environment = {"DL_LAB_KERNEL_CULL_TIMEOUT": setting("DL_LAB_KERNEL_CULL_TIMEOUT"),
                         "OMP_NUM_THREADS": _threads, "MKL_NUM_THREADS": _threads,
                         # Shown in the lab; a busy kernel counts as activity (the image's Jupyter config).
                         "DL_LAB_CULL_TIMEOUT": str(CULL_TIMEOUT_S),
                         # The server tells the hub of its activity often enough for the culler's timeout.
                         "JUPYTERHUB_ACTIVITY_INTERVAL": str(max(10, min(300, CULL_TIMEOUT_S // 6 or 300)))}
c.Spawner.start_timeout = SPAWN_TIMEOUT_S
c.Spawner.http_timeout = SPAWN_TIMEOUT_S

# ---- services: idle culler, and the operator's token ---------------------------------------------
services = [
    {
        "name": "idle-culler",
        "command": [sys.executable, "-m", "jupyterhub_idle_culler", f"--timeout={CULL_TIMEOUT_S}",
                    f"--cull-every={max(10, min(600, CULL_TIMEOUT_S // 4))}"],
    }
]
roles = [
    # Listed whole, so that an account that was an admin under other settings is one no longer.
    {"name": "admin", "users": ADMINS if SUBDOMAIN_HOST else []},
    {"name": "instructor", "description": "Accounts, groups and servers; never inside a student's server",
     "scopes": INSTRUCTOR_SCOPES, "users": [] if SUBDOMAIN_HOST else ADMINS},
    {
        "name": "idle-culler",
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
        "services": ["idle-culler"],
    }
]
if setting("DL_LAB_API_TOKEN"):
    services.append({"name": "dl-lab-harness", "api_token": setting("DL_LAB_API_TOKEN")})
    # Manages accounts, groups, servers and tokens; not the full admin role (which JupyterHub wants
    # for admin_users only).
    roles.append({
        "name": "dl-lab-operator",
        "scopes": ["admin:users", "admin:servers", "admin:groups", "tokens", "access:servers", "read:hub",
                   "list:services", "read:services"],
        "services": ["dl-lab-harness"],
    })
c.JupyterHub.services = services
c.JupyterHub.load_roles = roles
