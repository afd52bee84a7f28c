#!/opt/venv/bin/python
"""Start JupyterLab (or the server named by DOCKER_STACKS_JUPYTER_CMD), as the Docker Stacks do."""

import os
import shlex
import sys

# Under JupyterHub the hub sets JUPYTERHUB_API_TOKEN: run the single-user server instead.
if "JUPYTERHUB_API_TOKEN" in os.environ:
    os.execvp("start-singleuser.py", ["start-singleuser.py", *sys.argv[1:]])

# An empty token would make the server listen without authentication: refuse it.
if "JUPYTER_TOKEN" in os.environ and not os.environ["JUPYTER_TOKEN"].strip():
    sys.exit("[start-notebook.py] error: JUPYTER_TOKEN is empty; set a token or leave it unset to get a random one")

command = ["jupyter", os.environ.get("DOCKER_STACKS_JUPYTER_CMD", "lab")]
if "JUPYTER_PORT" in os.environ:
    command.append(f"--ServerApp.port={os.environ['JUPYTER_PORT']}")
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
os.execvp(command[0], command)
