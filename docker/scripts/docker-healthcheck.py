#!/opt/venv/bin/python
"""HEALTHCHECK: the server's REST API answers (GET <base_url>api needs no token)."""

import json
import os
import sys
import urllib.request

port = os.environ.get("JUPYTER_PORT", "8888")
prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
url = f"http://127.0.0.1:{port}{prefix.rstrip('/')}/api"
try:
    with urllib.request.urlopen(url, timeout=2) as response:
        version = json.load(response).get("version", "?")
except Exception as error:  # any failure means unhealthy; the message goes to `docker inspect`
    sys.exit(f"unhealthy: {url}: {error}")
print(f"healthy: jupyter_server {version} at {url}")
