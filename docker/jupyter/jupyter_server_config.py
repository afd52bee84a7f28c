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
