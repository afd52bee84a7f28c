# Server settings of the lab image. The token comes from JUPYTER_TOKEN (or a random one);
# a token is always required.
c = get_config()  # noqa: F821  (injected by Jupyter)

c.ServerApp.ip = "0.0.0.0"  # inside the container; `make lab` publishes on 127.0.0.1 only
c.ServerApp.open_browser = False
c.ServerApp.allow_root = False
c.ServerApp.root_dir = "/home/jovyan"
# Notebooks open in the work folder, which is the student's persistent volume.
c.ServerApp.default_url = "/lab/tree/work"
c.ContentsManager.allow_hidden = False

# Idle kernels keep their memory until they end: on a GPU shared by a class, a CUDA context and
# every tensor of a student who went for lunch. DL_LAB_KERNEL_CULL_TIMEOUT (seconds; JupyterHub
# and Kubernetes set it) shuts down kernels idle that long, open tab or not; the notebook file,
# autosaved by JupyterLab, stays. Unset or 0 (make lab on one's own machine): never.
import os  # noqa: E402  (after get_config, which Jupyter needs first)

_cull_setting = os.environ.get("DL_LAB_KERNEL_CULL_TIMEOUT", "").strip() or "0"
if not _cull_setting.isdigit():
    raise SystemExit(f"DL_LAB_KERNEL_CULL_TIMEOUT must be a whole number of seconds (0: never), not {_cull_setting!r}")
_cull_after_s = int(_cull_setting)
if _cull_after_s > 0:
    c.MappingKernelManager.cull_idle_timeout = _cull_after_s
    c.MappingKernelManager.cull_connected = True
    c.MappingKernelManager.cull_interval = max(1, min(300, _cull_after_s // 2))
