#!/opt/venv/bin/python
"""Start the JupyterHub single-user server (jupyterhub-singleuser), as the Docker Stacks do."""

import os
import shlex
import sys

command = ["jupyterhub-singleuser"]
if "JUPYTER_PORT" in os.environ and "JUPYTERHUB_SERVICE_URL" not in os.environ:
    command.append(f"--ServerApp.port={os.environ['JUPYTER_PORT']}")
command += shlex.split(os.environ.get("NOTEBOOK_ARGS", ""))
command += sys.argv[1:]
os.execvp(command[0], command)
