#!/opt/venv/bin/python
"""Start the JupyterHub single-user server (jupyterhub-singleuser), as the Docker Stacks do."""

# start_common.py lies beside this script, in /usr/local/bin (the script's folder is on sys.path).
from start_common import execute, server_command

SCRIPT = "start-singleuser.py"

# The port: JUPYTERHUB_SERVICE_URL's under a hub, else JUPYTER_PORT (both read by the configuration).
execute(SCRIPT, server_command(SCRIPT, ["jupyterhub-singleuser"]))
