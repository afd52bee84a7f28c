#!/opt/venv/bin/python
"""Start JupyterLab (or the server named by DOCKER_STACKS_JUPYTER_CMD), as the Docker Stacks do.

NOTEBOOK_ARGS and this script's arguments go to the server; RESTARTABLE=yes restarts it whenever it
exits; the command is logged (tokens hidden); an empty token is refused.
"""

import os
import sys

# start_common.py lies beside this script, in /usr/local/bin (the script's folder is on sys.path).
from start_common import execute, log, server_command

SCRIPT = "start-notebook.py"

# Under JupyterHub the hub sets JUPYTERHUB_API_TOKEN: run the single-user server instead.
if "JUPYTERHUB_API_TOKEN" in os.environ:
    log(SCRIPT, "JUPYTERHUB_API_TOKEN is set: starting the JupyterHub single-user server (start-singleuser.py)")
    os.execvp("start-singleuser.py", ["start-singleuser.py", *sys.argv[1:]])

# JUPYTER_PORT is read by the server's configuration (/etc/jupyter), so that a --ServerApp.port given
# here or in NOTEBOOK_ARGS overrides it rather than clashing with it.
program = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
execute(SCRIPT, server_command(SCRIPT, program))
