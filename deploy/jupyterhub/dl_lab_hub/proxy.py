"""The pure-Python configurable-http-proxy with host routing, for JupyterHub's subdomain_host.

With subdomain_host, JupyterHub starts its proxy with `--host-routing` and adds routes whose first
path segment is a host ("/ana.hub.example.org/user/ana/"). The pure-Python proxy (0.4) takes
that option as one with a value and looks routes up without the request's host; here the option
is a flag and every lookup starts with the request's host name (no port), as the Node.js proxy
does. Everything else is the proxy's own code. Run as `python -m dl_lab_hub.proxy ARGS`.
"""

from __future__ import annotations

import contextvars
import sys
from typing import Any

from configurable_http_proxy import cli, configproxy, handlers

_REQUEST_HOST: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_host", default=None)
_target_for_req = configproxy.PythonProxy.target_for_req
_get_target_url = handlers.ProxyHandler.get_target_url


def target_for_req(self: Any, host: str | None, path: str) -> Any:
    host = host or _REQUEST_HOST.get()
    if host:  # the handler's path has no leading "/": "/<host>" + "user/..." would be one segment
        path = "/" + path.lstrip("/")
    return _target_for_req(self, host, path)


async def get_target_url(self: Any, path: str) -> Any:
    if not self.proxy.host_routing:
        return await _get_target_url(self, path)
    token = _REQUEST_HOST.set(self.request.host_name.lower())
    try:
        return await _get_target_url(self, path)
    finally:
        _REQUEST_HOST.reset(token)


def main() -> None:
    configproxy.PythonProxy.target_for_req = target_for_req
    handlers.ProxyHandler.get_target_url = get_target_url
    sys.argv = ["configurable-http-proxy", *("--host-routing=yes" if arg == "--host-routing" else arg
                                             for arg in sys.argv[1:])]
    cli.main()


if __name__ == "__main__":
    main()
