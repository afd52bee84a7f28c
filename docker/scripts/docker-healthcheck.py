#!/opt/venv/bin/python
"""HEALTHCHECK: the running server's REST API answers (GET <base_url>api needs no token).

The server says where it listens in its runtime file (jpserver-<pid>.json: port, base_url, https),
so a port, a base URL or GEN_CERT's https given at start is followed. Without such a file (the
server is still starting), JUPYTER_PORT and JUPYTERHUB_SERVICE_PREFIX say where it should be.
"""

import glob
import json
import os
import ssl
import sys
import urllib.request
from typing import Any

RUNTIME_GLOBS = (
    os.path.join(os.environ.get("JUPYTER_RUNTIME_DIR", "/nonexistent"), "jpserver-*.json"),
    "/home/*/.local/share/jupyter/runtime/jpserver-*.json",
    os.path.expanduser("~/.local/share/jupyter/runtime/jpserver-*.json"),
)


def running_servers() -> list[dict[str, Any]]:
    """Runtime files of servers whose process is alive, newest first."""
    files = sorted({path for pattern in RUNTIME_GLOBS for path in glob.glob(pattern)}, key=os.path.getmtime, reverse=True)
    servers = []
    for path in files:
        try:
            with open(path) as handle:
                info = json.load(handle)
        except (OSError, ValueError):
            continue
        if os.path.exists(f"/proc/{info.get('pid', 0)}"):
            servers.append(info)
    return servers


def candidate_urls() -> list[str]:
    urls = []
    for info in running_servers():
        scheme = "https" if info.get("secure") else "http"
        base = "/" + info.get("base_url", "/").strip("/")
        urls.append(f"{scheme}://127.0.0.1:{info['port']}{base.rstrip('/')}/api")
    port = os.environ.get("JUPYTER_PORT", "8888")
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/")
    urls.append(f"http://127.0.0.1:{port}{prefix.rstrip('/')}/api")
    return list(dict.fromkeys(urls))


def check(url: str) -> str:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # GEN_CERT's certificate is self-signed
    with urllib.request.urlopen(url, timeout=1.5, context=context) as response:
        return str(json.load(response).get("version", "?"))


errors = []
for url in candidate_urls():
    try:
        version = check(url)
    except Exception as error:  # any failure means not this one; the message goes to `docker inspect`
        errors.append(f"{url}: {error}")
        continue
    print(f"healthy: jupyter_server {version} at {url}")
    sys.exit(0)
sys.exit("unhealthy: " + "; ".join(errors))
