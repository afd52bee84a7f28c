"""A running hub seen through its REST API (/hub/api) and its login form, as the CLI and tests use it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import docker.errors
import requests
from docker.models.containers import Container

from harness.engine.waiting import wait_until
from harness.errors import HarnessError

HTTP_TIMEOUT_S = 30
LOG_TAIL_LINES = 200
EXCEPTION_LINE = re.compile(r"\s*[\w.]+(Error|Exception|Exit|Timeout): \S")  # "docker.errors.APIError: 500 ..."


@dataclass
class Hub:
    """A running hub: its URL and the token of its 'dl-lab-harness' service (the operator's role)."""

    name: str
    url: str
    api_token: str
    container: Container
    session: requests.Session = field(default_factory=requests.Session)

    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        """Call /hub/api/<path> with the service token (or another one)."""
        headers = {"Authorization": f"token {token or self.api_token}"}
        return self.session.request(method, f"{self.url}/hub/api/{path.lstrip('/')}", headers=headers,
                                    timeout=HTTP_TIMEOUT_S, **kwargs)

    def checked(self, method: str, path: str, *, ok: Iterable[int], **kwargs: Any) -> requests.Response:
        response = self.api(method, path, **kwargs)
        if response.status_code not in set(ok):
            cause = self.logged_error() if response.status_code >= 500 else ""
            raise HarnessError(f"the hub answered {response.status_code} to {method} /hub/api/{path}: "
                               f"{response.text[:300]}" + (f"; its log says: {cause}" if cause else ""))
        return response

    def logged_error(self) -> str:
        """The last exception the hub's log shows (a traceback's last line), for a server-side failure."""
        try:
            lines = self.container.logs(tail=LOG_TAIL_LINES).decode(errors="replace").splitlines()
        except (docker.errors.APIError, requests.exceptions.RequestException):
            return ""
        raised = [line.strip() for line in lines if EXCEPTION_LINE.match(line)]
        return raised[-1][:500] if raised else ""

    def user_names(self) -> set[str]:
        return {user["name"] for user in self.checked("GET", "users", ok=[200]).json()}

    def create_users(self, names: list[str]) -> list[str]:
        """Create the accounts that do not exist yet (POST /hub/api/users); returns those created."""
        existing = self.user_names()
        missing = [name for name in names if name not in existing]
        if missing:
            response = self.api("POST", "users", json={"usernames": missing})
            if response.status_code == 400:  # the hub checks every name before creating any
                reason = response.json().get("message", response.text[:200]) if response.text else ""
                raise HarnessError(f"the hub refused the accounts ({reason}): fix that name in the class list "
                                   "(nothing was created)")
            if response.status_code != 201:
                raise HarnessError(f"the hub answered {response.status_code} to creating accounts: {response.text[:300]}")
        return missing

    def add_to_group(self, group: str, names: list[str]) -> None:
        """Put the users in a JupyterHub group (created if needed), e.g. the one allowed GPU servers."""
        self.checked("POST", f"groups/{group}", ok=[201, 409])  # 409: it exists already
        self.checked("POST", f"groups/{group}/users", ok=[200], json={"users": names})

    def start_server(self, user: str, *, options: dict[str, str] | None = None) -> requests.Response:
        """Ask for the user's server (returns within the hub's slow_spawn_timeout, 10 s, ready or not)."""
        return self.checked("POST", f"users/{user}/server", ok=[201, 202, 400], json=options or {})

    def start_servers(self, users: list[str], *, timeout_s: float = 300) -> None:
        """Start the servers all at once (one thread per user), as a class logging in at 9:00 does."""
        def spawn(user: str) -> None:
            self.start_server(user)
            self.wait_ready(user, timeout_s=timeout_s)

        with ThreadPoolExecutor(max_workers=max(1, len(users))) as pool:
            list(pool.map(spawn, users))

    def server_state(self, user: str) -> dict[str, Any]:
        servers: dict[str, Any] = self.checked("GET", f"users/{user}", ok=[200]).json().get("servers", {})
        state: dict[str, Any] = servers.get("", {})
        return state

    def wait_ready(self, user: str, *, timeout_s: float = 300) -> None:
        def ready() -> bool:
            state = self.server_state(user)
            if not state:
                raise HarnessError(f"{user}'s server is not starting (it failed: see `docker logs {self.name}`)")
            return bool(state.get("ready"))

        try:
            wait_until(ready, timeout_s=timeout_s, interval_s=0.5, what=f"{user}'s server")
        except HarnessError as error:
            raise HarnessError(f"{error}; hub log: {self.log_tail()}") from None

    def stop_server(self, user: str, *, timeout_s: float = 120) -> None:
        self.checked("DELETE", f"users/{user}/server", ok=[202, 204, 400])
        wait_until(lambda: not self.server_state(user), timeout_s=timeout_s, interval_s=0.5,
                   what=f"{user}'s server to stop")

    def user_token(self, user: str, *, note: str = "dl-lab") -> str:
        """A new API token of the user (their own permissions: their server only)."""
        response = self.checked("POST", f"users/{user}/tokens", ok=[200, 201], json={"note": note, "expires_in": 7200})
        token: str = response.json()["token"]
        return token

    def user_url(self, user: str, path: str = "") -> str:
        return f"{self.url}/user/{user}/{path.lstrip('/')}"

    def log_tail(self, lines: int = 15) -> str:
        try:
            raw: bytes = self.container.logs(tail=lines)
        except docker.errors.APIError:
            return "(no log)"
        return raw.decode(errors="replace").strip().replace("\n", " | ")

    def log_text(self) -> str:
        """The hub's whole log (GPU assignments, spawn errors)."""
        raw: bytes = self.container.logs()
        return raw.decode(errors="replace")


CHANGE_PASSWORD = "/hub/auth/change-password"


def login(hub: Hub, user: str, password: str, *, new_password: str = "") -> requests.Session:
    """Log in through the login form; returns the logged-in session, or a one-line error.

    An initial password (one the operator set) leads to the change-password page: with
    new_password the session chooses it there and is logged in; without, that is an error.
    """
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=HTTP_TIMEOUT_S)
    response = session.post(f"{hub.url}/hub/login?next=/hub/home", timeout=HTTP_TIMEOUT_S, allow_redirects=False,
                            data={"username": user, "password": password, "_xsrf": session.cookies.get("_xsrf", "")})
    if response.status_code == 302 and CHANGE_PASSWORD in response.headers.get("Location", ""):
        if not new_password:
            raise HarnessError(f"{user} logged in with an initial password: the hub asks them to choose a new one")
        changed = change_password(hub, session, user, current=password, new=new_password)
        if changed.status_code != 302:
            raise HarnessError(f"changing {user}'s initial password failed ({changed.status_code})")
        return session
    if response.status_code == 429:
        raise HarnessError(f"logging in as {user} is throttled after too many failed attempts: wait a few minutes")
    if response.status_code != 302:
        raise HarnessError(f"logging in as {user} failed ({response.status_code}): wrong password?")
    return session


def change_password(hub: Hub, session: requests.Session, user: str, *, current: str, new: str) -> requests.Response:
    """Fill in the change-password form (current password, the new one twice); the hub's answer, not followed."""
    session.get(f"{hub.url}{CHANGE_PASSWORD}", params={"username": user}, timeout=HTTP_TIMEOUT_S)
    return session.post(f"{hub.url}{CHANGE_PASSWORD}", timeout=HTTP_TIMEOUT_S, allow_redirects=False,
                        data={"username": user, "current_password": current, "new_password": new,
                              "new_password_again": new, "next": "/hub/home",
                              "_xsrf": session.cookies.get("_xsrf", "")})
