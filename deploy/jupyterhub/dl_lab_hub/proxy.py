"""The hub's proxy: the pure-Python configurable-http-proxy, with host routing and the hub on its own host only.

- **Host routing** (JupyterHub's subdomain_host): JupyterHub starts its proxy with `--host-routing` and
  adds routes whose first path segment is a host ("/ana.hub.example.org/user/ana/"). The pure-Python
  proxy (0.4) takes that option as one with a value and looks routes up without the request's host;
  here the option is a flag and every lookup starts with the request's host name (no port), as the
  Node.js proxy does.
- **The hub never answers on a student's host**: the hub's route is the proxy's default route, which
  matches every host. A request for it on a subdomain of the hub's host (ana.hub.example.org/hub/login)
  would put the hub's pages (the login form) in the student's origin, where the student's JavaScript
  reads them; such a request is redirected to the same path on the hub's own host instead.
  The hub's host is read from DL_LAB_SUBDOMAIN_HOST (the hub's environment, which the proxy inherits).
- **The client's address is the proxy's to say**: a client's X-Real-IP header is dropped (tornado would
  take it over X-Forwarded-For, to which the proxy appends the address it sees).

Everything else is the proxy's own code. Run as `python -m dl_lab_hub.proxy ARGS`.
"""

from __future__ import annotations

import contextvars
import os
import sys
import urllib.parse
from typing import Any

from configurable_http_proxy import cli, configproxy, handlers

_REQUEST_HOST: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_host", default=None)
_target_for_req = configproxy.PythonProxy.target_for_req
_get_target_url = handlers.ProxyHandler.get_target_url
_get_proxy_request = handlers.ProxyHandler._get_proxy_request
CLIENT_ADDRESS_HEADERS = ("X-Real-Ip",)


def hub_host_name(subdomain_host: str) -> str:
    """'localhost' for 'http://localhost:8000', 'hub.example.org' for 'https://hub.example.org'; '' for ''."""
    return (urllib.parse.urlsplit(subdomain_host).hostname or "").lower() if subdomain_host else ""


def is_student_host(host: str, hub_host: str) -> bool:
    """A subdomain of the hub's host (a student's origin), never the hub's host itself."""
    return bool(hub_host) and host.lower().rstrip(".").endswith("." + hub_host)


def target_for_req(self: Any, host: str | None, path: str) -> Any:
    host = host or _REQUEST_HOST.get()
    if host:  # the handler's path has no leading "/": "/<host>" + "user/..." would be one segment
        path = "/" + path.lstrip("/")
    return _target_for_req(self, host, path)


async def get_target_url(self: Any, path: str) -> Any:
    if not self.proxy.host_routing:
        return await _get_target_url(self, path)
    host = self.request.host_name.lower()
    token = _REQUEST_HOST.set(host)
    try:
        url = await _get_target_url(self, path)
    finally:
        _REQUEST_HOST.reset(token)
    subdomain_host = os.environ.get("DL_LAB_SUBDOMAIN_HOST", "")
    if url is not None and self.target and self.target["prefix"] == "/" \
            and is_student_host(host, hub_host_name(subdomain_host)):
        # The default route (the hub) on a student's host: the hub's own host instead.
        self.redirect(subdomain_host.rstrip("/") + self.request.uri)
        return None
    return url


def get_proxy_request(self: Any, url: str) -> Any:
    for header in CLIENT_ADDRESS_HEADERS:
        self.request.headers.pop(header, None)
    return _get_proxy_request(self, url)


def main() -> None:
    configproxy.PythonProxy.target_for_req = target_for_req
    handlers.ProxyHandler.get_target_url = get_target_url
    handlers.ProxyHandler._get_proxy_request = get_proxy_request
    sys.argv = ["configurable-http-proxy", *("--host-routing=yes" if arg == "--host-routing" else arg
                                             for arg in sys.argv[1:])]
    cli.main()


if __name__ == "__main__":
    main()
