# Server settings of the lab image. The token comes from JUPYTER_TOKEN (or a random one);
# a token is always required.
import datetime
import os
import subprocess
from pathlib import Path

import jupyter_server.base.handlers
import jupyter_server.serverapp
import jupyterlab_server.handlers
from jupyter_core.paths import jupyter_path
from jupyter_server.base.handlers import FileFindHandler
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from jupyterlab.handlers.announcements import CheckForUpdateABC

c = get_config()  # noqa: F821  (injected by Jupyter)

c.ServerApp.ip = "0.0.0.0"  # inside the container; `make lab` publishes on 127.0.0.1 only
# JUPYTER_PORT (Docker Stacks); a --ServerApp.port on the command line wins. Under JupyterHub the
# single-user server takes its port from JUPYTERHUB_SERVICE_URL.
if "JUPYTERHUB_SERVICE_URL" not in os.environ:
    c.ServerApp.port = int(os.environ.get("JUPYTER_PORT", "8888"))
c.ServerApp.open_browser = False
c.ServerApp.allow_root = False
# The user's home: /home/jovyan, or /home/$NB_USER when start.sh renamed the user.
c.ServerApp.root_dir = f"/home/{os.environ.get('NB_USER', 'jovyan')}"
# Notebooks open in the work folder, which is the student's persistent volume: /lab/tree/work with the
# home as root (make lab). Under JupyterHub the root is the work folder itself (the spawner's
# notebook_dir) and the hub's default_url (/lab) applies: a "work" there would not exist.
if "JUPYTERHUB_API_TOKEN" not in os.environ:
    c.ServerApp.default_url = "/lab/tree/work"
c.ContentsManager.allow_hidden = False

# Files the student can write are never served as pages of the server's origin (under JupyterHub without
# subdomains, the hub's origin: a page there would act with the cookies of whoever opens the link). The
# handlers that serve files without login (lab extensions and themes, /static/) look only in the image's
# folders, never in ~/.local/share/jupyter; and anything they serve that is not
# a script or a style sheet runs sandboxed (an opaque origin without cookies), as /files/ already does.
_home = os.path.realpath(os.path.expanduser("~"))


def _image_paths(paths: list[str]) -> list[str]:
    return [path for path in paths
            if os.path.realpath(path) != _home and not os.path.realpath(path).startswith(_home + os.sep)]


c.LabApp.labextensions_path = _image_paths(jupyter_path("labextensions"))
c.LabApp.extra_labextensions_path = []
_ACTIVE_FREE = ("javascript", "text/css", "font/", "image/png", "image/jpeg", "image/gif", "image/webp",
                "application/wasm", "application/json")


class SandboxedFileFindHandler(FileFindHandler):
    """FileFindHandler whose documents (HTML, SVG, XML, anything unknown) get `sandbox` in their CSP."""

    def set_extra_headers(self, path: str) -> None:
        super().set_extra_headers(path)
        if not any(kind in (self.get_content_type() or "") for kind in _ACTIVE_FREE):
            self.set_header("Content-Security-Policy", self.content_security_policy + "; sandbox")


for _module in (jupyter_server.base.handlers, jupyter_server.serverapp, jupyterlab_server.handlers):
    _module.FileFindHandler = SandboxedFileFindHandler  # type: ignore[attr-defined, misc]

# Idle kernels keep their memory until they end: on a GPU shared by a class, a CUDA context and
# every tensor of a student who went for lunch. DL_LAB_KERNEL_CULL_TIMEOUT (seconds; JupyterHub
# and Kubernetes set it) shuts down kernels idle that long, open tab or not; the notebook file,
# autosaved by JupyterLab, stays. Unset or 0 (make lab on one's own machine): never.
_cull_setting = os.environ.get("DL_LAB_KERNEL_CULL_TIMEOUT", "").strip() or "0"
if not _cull_setting.isdigit():
    raise SystemExit(f"DL_LAB_KERNEL_CULL_TIMEOUT must be a whole number of seconds (0: never), not {_cull_setting!r}")
_cull_after_s = int(_cull_setting)
if _cull_after_s > 0:
    c.MappingKernelManager.cull_idle_timeout = _cull_after_s
    c.MappingKernelManager.cull_connected = True
    c.MappingKernelManager.cull_interval = max(1, min(300, _cull_after_s // 2))


# A kernel that computes counts as activity, output or not: a silent training loop keeps the server
# (and its results) alive while it runs, so the hub's idle culler stops only servers that do nothing.
# jupyter_server reports the newest of its activity sources to the hub; this one says "now" while
# any kernel is busy.
class BusyKernelsAreActive(AsyncMappingKernelManager):
    @property
    def last_kernel_activity(self) -> datetime.datetime:
        if any(getattr(kernel, "execution_state", "") == "busy" for kernel in self._kernels.values()):
            return datetime.datetime.now(datetime.UTC)
        return self._dl_lab_last_activity

    @last_kernel_activity.setter
    def last_kernel_activity(self, value: datetime.datetime) -> None:
        self._dl_lab_last_activity = value


c.ServerApp.kernel_manager_class = BusyKernelsAreActive


# The lab says when an idle server is stopped (DL_LAB_CULL_TIMEOUT, set by the hub): a notification at
# start, in the place of JupyterLab's update check (which would otherwise ask the internet).
def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hora{'s' if seconds >= 7200 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minuto{'s' if seconds >= 120 else ''}"
    return f"{seconds} segundos"


class CullNotice(CheckForUpdateABC):
    """The cull timeout, and why the hub stopped the server last time (DL_LAB_DISK_STOPPED) if it did."""

    async def __call__(self) -> str | None:
        setting = os.environ.get("DL_LAB_CULL_TIMEOUT", "").strip()
        notices = [os.environ.get("DL_LAB_DISK_STOPPED", "").strip()]
        if setting.isdigit() and int(setting) > 0:
            notices.append(f"Tu servidor se detiene tras {_duration(int(setting))} sin actividad. Un kernel que está "
                           "calculando cuenta como actividad, aunque no escriba nada. Lo que guardas en tu carpeta de "
                           "trabajo se conserva.")
        return " ".join(notice for notice in notices if notice) or None


c.LabApp.check_for_updates_class = CullNotice

# GEN_CERT=yes (Docker Stacks): serve https with a self-signed certificate, made at the first start
# (and again when it is about to expire), kept in the user's Jupyter data folder.
if os.environ.get("GEN_CERT", "").lower() in ("yes", "1", "true"):
    _pem = Path.home() / ".local" / "share" / "jupyter" / "dl-lab-self-signed.pem"
    _valid = _pem.exists() and subprocess.run(
        ["openssl", "x509", "-checkend", "86400", "-noout", "-in", str(_pem)], capture_output=True, check=False
    ).returncode == 0
    if not _valid:
        _pem.parent.mkdir(parents=True, exist_ok=True)
        _made = subprocess.run(
            ["openssl", "req", "-new", "-x509", "-nodes", "-newkey", "rsa:2048", "-days", "365",
             "-subj", "/O=dl-lab/CN=localhost", "-keyout", str(_pem), "-out", str(_pem)],
            capture_output=True, text=True, check=False,
        )
        if _made.returncode != 0:
            raise SystemExit(f"GEN_CERT: openssl could not make a certificate: {_made.stderr.strip()[-300:]}")
        _pem.chmod(0o600)
    c.ServerApp.certfile = str(_pem)
    c.ServerApp.keyfile = str(_pem)
