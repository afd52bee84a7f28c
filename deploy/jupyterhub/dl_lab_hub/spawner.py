"""DockerSpawner for a class: GPUs handed out fairly, a private network and a labelled volume per student.

- **GPUs**: a GPU server gets `gpus_per_student` of `gpu_ids` (GPU ids or MIG device UUIDs),
  round-robin and least-loaded first (allocation.GpuPool), as a device request for exactly those
  devices. The assignment is written to the hub's log, kept in the spawner's state (so a restarted
  hub knows who holds what) and shown in the admin panel's "Profile" column ("gpu 1").
- **Who gets a GPU**: with `gpu_group` set, only that JupyterHub group's members may start a GPU
  server (they choose in a form; via the API, user_options {"profile": "gpu"|"cpu"}); everyone
  else gets a CPU server, whatever they ask. Without it, every server is a GPU server when the hub
  has GPUs.
- **Network**: each student's server is alone on an `internal` bridge network with the hub, a
  bridge on which the host has no address: it reaches the hub's proxy (port 8000, the only way to
  the hub's API) and nothing else: not the other students, not the host or its networks, not
  link-local or cloud metadata addresses, not the internet.
- **Volume**: ~/work is a named volume, labelled like everything the hub creates, of at most
  `work_size` where Docker's volume folder has quotas.
- **Disk watch**: where nothing enforces the size (ext4 without quotas), `work_watch_size` is
  checked every `disk_check_interval` seconds (`du` in the container): at 80 % the student is warned
  (the message is printed under the next cell they run), at the limit the server is stopped, also
  with a message; nothing is ever deleted. A server started over the limit (to delete files) is
  stopped again only if it keeps growing. With `layer_watch_size` (where the storage driver cannot
  limit the container's writable layer: the home outside ~/work), the layer's size as the engine
  measures it is checked too: a warning at 80 %, a stop at the limit (the layer goes with the
  container; ~/work stays). The student's code can stop or slow the `du` (it runs as
  them): so the check never blocks the hub. It has its own Docker client (with a socket timeout) and
  threads, never DockerSpawner's one Docker thread that every start and stop goes through; `du` is
  killed after DISK_CHECK_TIMEOUT_S; and after DISK_CHECK_TRIES checks in a row that could not measure
  the folder, the server is stopped as if it were over its limit (with its own message).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import html
import json
import random
import re
import time
from typing import Any

import docker.errors
import docker.types
import docker.utils
import requests.exceptions
from dockerspawner import DockerSpawner
from tornado import web
from traitlets import Dict, Integer, List, Unicode

from dl_lab_hub.allocation import GpuPool, free_subnet

PROFILES = ("gpu", "cpu")
# One pool for all the hub's spawners (one per student), built from the configuration on first use.
_POOLS: dict[tuple[tuple[str, ...], int], GpuPool] = {}
# Subnets being set up by spawns in progress (the engine only knows them once created).
_RESERVED_SUBNETS: set[str] = set()
# Picks a free subnet at random: two hubs on one engine (or a hub and a restore) seldom want the same one.
_SUBNET_RNG = random.SystemRandom()
# Why the hub stopped a server for its disk use, per server: shown by the lab at the next start (the hub
# may make a new spawner object for that start).
_DISK_STOPPED: dict[str, str] = {}
NETWORK_REMOVE_TRIES = 20
# The file whose text the image's kernels print under the next cell (docker/jupyter/ipython_kernel_config.py).
DISK_NOTICE = "/tmp/dl-lab-disk-notice"
DISK_WARN_FRACTION = 0.8
# The disk check's bounds: `du` is killed after DISK_CHECK_TIMEOUT_S, the hub stops waiting for the engine
# DISK_SOCKET_TIMEOUT_S later (a student may stop `timeout` too), and DISK_CHECK_TRIES failed checks in a row
# stop the server.
DISK_CHECK_TIMEOUT_S = 30
DISK_SOCKET_TIMEOUT_S = DISK_CHECK_TIMEOUT_S + 15
DISK_CHECK_TRIES = 3
# Threads and a Docker client of the disk checks' own: a check that hangs holds none of DockerSpawner's.
_DISK_EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="disk-check")
_DISK_CLIENTS: list[docker.APIClient] = []
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def size_in_bytes(text: str) -> int:
    """'5G', '500m', '1.5g' (powers of 1024, as Docker reads them) in bytes; 0 for ''."""
    if not text.strip():
        return 0
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a size like 5G or 500M")
    return int(float(match.group(1)) * 1024 ** "bkmgt".index((match.group(2) or "b").lower()))


def spanish_gb(size: int) -> str:
    return f"{size / 1024 ** 3:.1f}".replace(".", ",") + " GB"


class DLLabSpawner(DockerSpawner):
    # DockerSpawner's traits this class rebuilds at each start (annotations only: the traits stay the parent's)
    user_options: dict[str, Any]
    extra_host_config: dict[str, Any]
    environment: dict[str, Any]
    extra_create_kwargs: dict[str, Any]

    gpu_ids = List(Unicode(), config=True, help="GPU ids or MIG device UUIDs to hand out; empty: no GPUs")
    gpus_per_student = Integer(1, config=True, help="devices each GPU server gets")
    gpu_group = Unicode("", config=True, help="the group whose members may start GPU servers; empty: everyone")
    gpu_memory_fraction = Unicode("", config=True, help="per-process GPU memory cap (0-1) passed to the image")
    student_subnets = Unicode(config=True, help="the range the students' /29 networks are taken from")
    hub_container = Unicode(config=True, help="the hub container, connected to every student's network")
    labels = Dict(config=True, help="labels of every container, volume and network the spawner creates")
    student_label = Unicode(config=True, help="the label that names the student a container or volume belongs to")
    gpus_label = Unicode(config=True, help="the label that names the GPUs a server was handed")
    volume_template = Unicode(config=True, help="the work volume's name, with DockerSpawner's {prefix} and {username}")
    work_size = Unicode("", config=True, help="size limit of a new work volume (needs xfs pquota); empty: none")
    work_watch_size = Unicode("", config=True, help="the work folder's size at which the server is stopped, where "
                                                    "nothing else limits it; empty: no watch")
    layer_watch_size = Unicode("", config=True, help="the writable layer's size at which the server is stopped, "
                                                     "where the storage driver cannot limit it; empty: no watch")
    disk_check_interval = Integer(60, config=True, help="seconds between two checks of the work folder's size")
    _disk_checked_at = 0.0
    _disk_baseline = 0
    _disk_warned = False
    _disk_first_check = True
    _disk_failures = 0
    _layer_warned = False
    _disk_stopping = False

    assigned_gpus: tuple[str, ...] = ()
    student_network = ""

    def student_labels(self) -> dict[str, str]:
        """The instance's labels and the student's: on every container, volume and network made for a student."""
        return {**self.labels, self.student_label: self.user.name}

    # ---- GPUs ----------------------------------------------------------------------------------
    @property
    def gpu_pool(self) -> GpuPool:
        key = (tuple(self.gpu_ids), self.gpus_per_student)
        if key not in _POOLS:
            _POOLS[key] = GpuPool(key[0], per_server=key[1])
        return _POOLS[key]

    @property
    def server_key(self) -> str:
        return f"{self.user.name}/{self.name}"

    def may_use_gpu(self) -> bool:
        if not self.gpu_ids:
            return False
        if not self.gpu_group:
            return True
        return self.gpu_group in {group.name for group in self.user.groups}

    def choose_profile(self, user_options: dict[str, Any]) -> str:
        """'gpu' or 'cpu' from user_options ('gpu 1', as saved from the last start, reads as 'gpu').

        Whoever may not have a GPU gets a CPU server, also when they ask for a GPU (or their saved
        options do, from before they left the group).
        """
        asked = str(user_options.get("profile", "")).split(" ")[0].strip().lower()
        if asked and asked not in PROFILES:
            raise web.HTTPError(400, f"unknown profile {asked!r}: choose gpu or cpu")
        if not self.may_use_gpu():
            if asked == "gpu":
                self.log.warning("%s asked for a GPU server but %s: CPU server", self.user.name,
                                 f"is not in the group {self.gpu_group!r}" if self.gpu_ids else "the hub has no GPUs")
            return "cpu"
        return asked or "gpu"

    def profile_label(self) -> str:
        return f"gpu {','.join(self.assigned_gpus)}" if self.assigned_gpus else "cpu"

    def gpu_host_config(self) -> dict[str, Any]:
        if not self.assigned_gpus:
            return {}
        request = docker.types.DeviceRequest(driver="nvidia", device_ids=list(self.assigned_gpus),
                                             capabilities=[["gpu"]])
        return {"device_requests": [request]}

    # ---- the student's network --------------------------------------------------------------------
    async def taken_subnets(self) -> set[str]:
        networks = await self.docker("networks")
        # Read after the await: the subnets this hub's other spawns reserved meanwhile are taken too.
        taken = set(_RESERVED_SUBNETS)
        for network in networks:
            for config in (network.get("IPAM") or {}).get("Config") or []:
                if config.get("Subnet"):
                    taken.add(config["Subnet"])
        return taken

    async def ensure_student_network(self) -> str:
        """The student's internal network (created when missing), with the hub connected to it."""
        name = f"{self.object_name}-net"
        try:
            await self.docker("inspect_network", name)
        except docker.errors.NotFound:
            await self.create_student_network(name)
        try:
            await self.docker("connect_container_to_network", self.hub_container, name)
        except docker.errors.APIError as error:
            if "already exists" not in str(error):
                raise
        return name

    async def create_student_network(self, name: str) -> None:
        for attempt in range(10):  # another hub on this engine may take a subnet between our look and our create
            if attempt:
                await asyncio.sleep(_SUBNET_RNG.uniform(0.05, 0.5))
            subnet = free_subnet(self.student_subnets, await self.taken_subnets(), rng=_SUBNET_RNG)
            _RESERVED_SUBNETS.add(subnet)
            try:
                ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
                # internal: no route out of the host. inhibit_ipv4: the host has no address on this
                # bridge, so nothing listening on the host is reachable from it either.
                await self.docker("create_network", name, driver="bridge", internal=True, ipam=ipam,
                                  options={"com.docker.network.bridge.inhibit_ipv4": "true"},
                                  labels=self.student_labels(),
                                  check_duplicate=True)
                self.log.info("created network %s (%s) for %s", name, subnet, self.user.name)
                return
            except docker.errors.APIError as error:
                if "overlaps" not in str(error):
                    raise
            finally:
                _RESERVED_SUBNETS.discard(subnet)
        raise RuntimeError(f"could not find a free subnet in {self.student_subnets} for {name}")

    async def remove_student_network(self) -> None:
        """Disconnect the hub and remove the network once the student's container has left it."""
        name = self.student_network or f"{self.object_name}-net"
        for _ in range(NETWORK_REMOVE_TRIES):
            with contextlib.suppress(docker.errors.APIError):  # not connected (any more), or no such network
                await self.docker("disconnect_container_from_network", self.hub_container, name, force=True)
            try:
                await self.docker("remove_network", name)
                return
            except docker.errors.NotFound:
                return
            except docker.errors.APIError:
                await asyncio.sleep(0.5)  # the auto-removed container may still hold its endpoint
        self.log.warning("network %s still in use; `make hub-down` removes it", name)

    # ---- the student's volume ---------------------------------------------------------------------
    async def ensure_work_volume(self) -> None:
        name = self.format_volume_name(self.volume_template, self)
        try:
            await self.docker("inspect_volume", name)
            return
        except docker.errors.NotFound:
            pass
        options = {"size": self.work_size} if self.work_size else None
        await self.docker("create_volume", name=name, driver="local", driver_opts=options,
                          labels=self.student_labels())
        self.log.info("created volume %s for %s%s", name, self.user.name,
                      f" (at most {self.work_size})" if self.work_size else "")

    # ---- disk watch -------------------------------------------------------------------------------
    @staticmethod
    def disk_client() -> docker.APIClient:
        if not _DISK_CLIENTS:
            _DISK_CLIENTS.append(docker.APIClient(version="auto", timeout=DISK_SOCKET_TIMEOUT_S,
                                                  **docker.utils.kwargs_from_env()))
        return _DISK_CLIENTS[0]

    def _exec_blocking(self, command: list[str]) -> str:
        client = self.disk_client()
        # As the image's user; stdout only (du's complaints about unreadable folders are not its total).
        created = client.exec_create(self.container_id, ["timeout", "-s", "KILL", str(DISK_CHECK_TIMEOUT_S),
                                                         *command], stderr=False)
        output = client.exec_start(created["Id"])
        return output.decode(errors="replace") if isinstance(output, bytes) else str(output)

    async def exec_in_server(self, command: list[str]) -> str:
        """Run a command in the student's server, bounded in time, on the disk checks' own threads and client."""
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(_DISK_EXECUTOR, self._exec_blocking, command),
                                      DISK_SOCKET_TIMEOUT_S + 5)

    async def tell_student(self, message: str) -> None:
        """Leave the message where the student's kernels print it under the next cell (never blocking on a FIFO)."""
        try:
            await self.exec_in_server(["sh", "-c", f'[ -p {DISK_NOTICE} ] && rm -f {DISK_NOTICE}; '
                                       f'printf "%s\\n" "$1" > {DISK_NOTICE}', "sh", message])
        except (docker.errors.APIError, requests.exceptions.RequestException, OSError) as error:
            self.log.warning("could not leave a message in %s's server: %s", self.user.name, error)

    async def work_usage(self) -> int | None:
        output = await self.exec_in_server(["du", "-skx", self.notebook_dir or "/home/jovyan/work"])
        first = output.split()[:1]
        return int(first[0]) * 1024 if first and first[0].isdigit() else None

    async def unmeasured(self) -> int | None:
        """A check that could not measure the folder; DISK_CHECK_TRIES in a row stop the server."""
        self._disk_failures += 1
        self.log.warning("could not measure %s's work folder (%d of %d tries)", self.user.name, self._disk_failures,
                         DISK_CHECK_TRIES)
        if self._disk_failures < DISK_CHECK_TRIES:
            return None
        _DISK_STOPPED[self.server_key] = ("Tu servidor se detuvo porque no se pudo medir tu carpeta de trabajo "
                                          f"({DISK_CHECK_TRIES} intentos seguidos: ¿un proceso tuyo detuvo `du`?). "
                                          "No se ha borrado nada: vuelve a entrar.")
        await self.tell_student(_DISK_STOPPED[self.server_key])
        self.log.warning("%s's work folder could not be measured %d times in a row: stopping the server",
                         self.user.name, DISK_CHECK_TRIES)
        return 1

    def _layer_size_blocking(self) -> int | None:
        client = self.disk_client()  # docker-py's inspect_container() cannot ask for the sizes: the API can
        response = client.get(client.base_url + f"/containers/{self.container_id}/json", params={"size": 1},
                              timeout=DISK_SOCKET_TIMEOUT_S)
        response.raise_for_status()
        size = response.json().get("SizeRw")
        return size if isinstance(size, int) else None

    async def layer_usage(self) -> int | None:
        """The bytes in the container's writable layer (the engine measures them: the student cannot stop it)."""
        loop = asyncio.get_running_loop()
        return await asyncio.wait_for(loop.run_in_executor(_DISK_EXECUTOR, self._layer_size_blocking),
                                      DISK_SOCKET_TIMEOUT_S + 5)

    async def check_disk(self) -> int | None:
        """None while the work folder (and, where nothing limits it, the writable layer) is within its limit;
        1 (the server stopped) once it grows past it."""
        limit = size_in_bytes(self.work_watch_size)
        if not limit:
            return None
        try:
            used = await self.work_usage()
            layer = await self.layer_usage() if self.layer_watch_size else 0
        except (docker.errors.APIError, requests.exceptions.RequestException, OSError) as error:
            self.log.warning("checking %s's disk use failed: %s", self.user.name, error)
            used = None
        if used is None or layer is None:
            return await self.unmeasured()
        self._disk_failures = 0
        return await self.check_layer(layer) or await self.check_work(used, limit)

    async def check_layer(self, layer: int) -> int | None:
        """The home outside ~/work (the writable layer), where the storage driver cannot limit it."""
        limit = size_in_bytes(self.layer_watch_size)
        if not limit:
            return None
        if layer >= limit:
            _DISK_STOPPED[self.server_key] = (
                "Tu servidor se detuvo porque lo que guardas fuera de tu carpeta de trabajo (~/.local, pip install "
                f"--user, otras carpetas de tu home) llegó a {spanish_gb(layer)} de {spanish_gb(limit)}. Eso se pierde "
                "al detenerse el servidor; tu carpeta de trabajo está intacta.")
            await self.tell_student(_DISK_STOPPED[self.server_key])
            self.log.warning("%s's writable layer holds %d bytes of %d: stopping the server", self.user.name, layer,
                             limit)
            return 1
        if layer >= DISK_WARN_FRACTION * limit and not self._layer_warned:
            self._layer_warned = True
            await self.tell_student(f"Aviso: lo que guardas fuera de tu carpeta de trabajo ocupa {spanish_gb(layer)} de "
                                    f"{spanish_gb(limit)}. Al llegar al límite tu servidor se detendrá y eso se perderá: "
                                    "guarda lo que quieras conservar en tu carpeta de trabajo.")
        return None

    async def check_work(self, used: int, limit: int) -> int | None:
        first, self._disk_first_check = self._disk_first_check, False
        if used >= limit:
            if first:  # started over the limit: the student may delete, not grow
                self._disk_baseline = used
                await self.tell_student(f"Tu carpeta de trabajo ocupa {spanish_gb(used)} de {spanish_gb(limit)}: borra "
                                        "archivos. Si sigue creciendo, tu servidor se detendrá (nada se borra).")
                return None
            if not self._disk_baseline or used > self._disk_baseline:
                _DISK_STOPPED[self.server_key] = (f"Tu servidor se detuvo porque tu carpeta de trabajo llegó a su límite "
                                          f"({spanish_gb(used)} de {spanish_gb(limit)}). No se ha borrado nada: al volver "
                                          "a entrar, borra archivos que no necesites.")
                await self.tell_student(_DISK_STOPPED[self.server_key])
                self.log.warning("%s's work folder holds %d bytes of %d: stopping the server", self.user.name, used, limit)
                return 1
            self._disk_baseline = used  # deleting lowers the mark
            return None
        self._disk_baseline = 0
        if used >= DISK_WARN_FRACTION * limit and not self._disk_warned:
            self._disk_warned = True
            await self.tell_student(f"Aviso: tu carpeta de trabajo ocupa {spanish_gb(used)} de {spanish_gb(limit)} "
                                    f"({100 * used // limit} %). Al llegar al límite tu servidor se detendrá.")
        return None

    async def poll(self) -> int | None:
        status: int | None = await super().poll()
        if status is not None or not self.work_watch_size:
            return status
        if self._disk_stopping:  # told the hub once; JupyterHub stops the server only while its poll says "running"
            return None
        if time.monotonic() - self._disk_checked_at < self.disk_check_interval:
            return None
        self._disk_checked_at = time.monotonic()
        try:
            stopped = await self.check_disk()
            self._disk_stopping = stopped is not None
            return stopped
        except Exception:  # a bug here must never fail a spawn (the hub polls while it spawns)
            self.log.exception("the disk check of %s failed", self.user.name)
            return None

    # ---- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> Any:
        profile = self.choose_profile(self.user_options or {})
        self.assigned_gpus = self.gpu_pool.assign(self.server_key) if profile == "gpu" else ()
        if self.assigned_gpus:
            self.log.info("GPU assignment: %s gets %s (servers per device: %s)", self.user.name,
                          ",".join(self.assigned_gpus), json.dumps(self.gpu_pool.load()))
        # Shown in the admin panel's "Profile" column, and saved with the server.
        self.user_options = {**(self.user_options or {}), "profile": self.profile_label()}
        self.orm_spawner.user_options = self.user_options
        # The same spawner object serves every start of this server: rebuild what depends on the profile.
        host_config = {key: value for key, value in self.extra_host_config.items() if key != "device_requests"}
        self.extra_host_config = {**host_config, **self.gpu_host_config()}
        environment = {key: value for key, value in self.environment.items()
                       if key not in {"DL_LAB_GPU_MEMORY_FRACTION", "DL_LAB_DISK_NOTICE", "DL_LAB_DISK_STOPPED"}}
        if self.assigned_gpus and self.gpu_memory_fraction:
            environment["DL_LAB_GPU_MEMORY_FRACTION"] = self.gpu_memory_fraction
        if self.work_watch_size:
            environment["DL_LAB_DISK_NOTICE"] = DISK_NOTICE
        if self.server_key in _DISK_STOPPED:  # shown once, by the lab, at the next start
            environment["DL_LAB_DISK_STOPPED"] = _DISK_STOPPED.pop(self.server_key)
        self.environment = environment
        self._disk_checked_at, self._disk_baseline, self._disk_warned, self._disk_first_check = 0.0, 0, False, True
        self._disk_failures, self._layer_warned, self._disk_stopping = 0, False, False
        gpu_label = {self.gpus_label: ",".join(self.assigned_gpus)} if self.assigned_gpus else {}
        self.extra_create_kwargs = {**self.extra_create_kwargs, "labels": {**self.student_labels(), **gpu_label}}
        try:
            await self.ensure_work_volume()
            self.student_network = self.network_name = await self.ensure_student_network()
            return await super().start()
        except Exception:
            self.release_gpus()
            raise

    async def create_object(self) -> Any:
        created = await super().create_object()
        if self.assigned_gpus:
            info = await self.docker("inspect_container", created["Id"])
            cap = [item.split("=", 1)[1] for item in info["Config"]["Env"] or []
                   if item.startswith("DL_LAB_GPU_MEMORY_FRACTION=")]
            record = {"DeviceRequests": info["HostConfig"].get("DeviceRequests"), "memory_fraction": cap[0] if cap else ""}
            self.log.info("GPU server %s as the engine recorded it: %s", self.object_name, json.dumps(record))
        return created

    async def stop(self, now: bool = False) -> None:
        try:
            await super().stop(now=now)
        finally:
            self.release_gpus()
            await self.remove_student_network()

    def release_gpus(self) -> None:
        released = self.gpu_pool.release(self.server_key)
        if released:
            self.log.info("GPU assignment: %s released %s", self.user.name, ",".join(released))

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = super().get_state()
        if self.assigned_gpus:
            state["gpus"] = list(self.assigned_gpus)
        if self.student_network:
            state["network"] = self.student_network
        return state

    def load_state(self, state: dict[str, Any]) -> None:
        super().load_state(state)
        self.assigned_gpus = tuple(state.get("gpus", ()))
        self.student_network = state.get("network", "")
        if self.student_network:
            self.network_name = self.student_network
        if self.assigned_gpus:
            self.gpu_pool.adopt(self.server_key, self.assigned_gpus)

    def clear_state(self) -> None:
        super().clear_state()
        self.assigned_gpus = ()
        self.student_network = ""


def profile_form(spawner: DLLabSpawner) -> str:
    """The spawn form: a choice of GPU or CPU server for those who may have a GPU, none for the others."""
    if not spawner.may_use_gpu():
        return ""
    gpus = ", ".join(html.escape(device) for device in spawner.gpu_ids)
    return (
        '<label for="profile">Servidor</label>'
        '<select class="form-control" name="profile" id="profile">'
        f'<option value="gpu" selected>GPU (una de: {gpus})</option>'
        '<option value="cpu">CPU</option>'
        "</select>"
    )


def profile_from_form(formdata: dict[str, list[str]]) -> dict[str, str]:
    return {"profile": formdata.get("profile", [""])[0]}


def check_profile(spawner: DLLabSpawner, user_options: dict[str, Any]) -> None:
    """Spawner.apply_user_options: an unknown profile is refused (400) before anything starts."""
    spawner.choose_profile(user_options)
