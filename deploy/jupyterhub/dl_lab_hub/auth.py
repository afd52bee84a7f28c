"""Accounts whose password an admin set, changed by the student before first use.

- Only an account that exists in the hub and has a stored password logs in (dl_lab_hub.passwords,
  an SQLite file); nobody can claim an account by being first.
- The operator sets passwords (`harness hub users`, through `python -m dl_lab_hub.auth` in the
  hub's container): those are initial passwords. Logging in with one leads to the change-password
  page, not into the hub; the student is logged in once they chose their own.
- Changing a password asks for the current one (/hub/auth/change-password).
- Failed logins are throttled per account and address together, and per address, with a Spanish
  message: failures from one address never lock an account out of the others (nobody can lock the
  instructor out), and a password reset starts the account's count afresh (the count belongs to the
  password it guessed at). The address is the one the hub's proxy appended to X-Forwarded-For, the
  rightmost entry: a client cannot forge it (the proxy also drops a client's X-Real-IP).
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import hashlib
import json
import math
import os
import sys
import time
from typing import Any

import bcrypt
from jupyterhub.auth import Authenticator
from jupyterhub.handlers import BaseHandler, LoginHandler
from jupyterhub.orm import User
from tornado.httputil import url_concat
from traitlets import Integer, Unicode, default

from dl_lab_hub.passwords import PasswordStore

WRONG = "Usuario o contraseña incorrectos."
INITIAL = "Tu contraseña es la inicial: elige una nueva para entrar."


class LoginThrottle:
    """Failed attempts per key ("user:NAME", "addr:IP") within a sliding window, in the hub's process."""

    def __init__(self) -> None:
        self.failures: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def _recent(self, key: str, window_s: int) -> collections.deque[float]:
        times = self.failures[key]
        while times and times[0] < time.monotonic() - window_s:
            times.popleft()
        return times

    def wait_s(self, limits: dict[str, int], window_s: int) -> float:
        """Seconds until the first of the keys over its limit frees up; 0 when none is."""
        waits = [self._recent(key, window_s)[0] + window_s - time.monotonic()
                 for key, limit in limits.items() if len(self._recent(key, window_s)) >= limit]
        return max(waits, default=0.0)

    def fail(self, keys: list[str]) -> None:
        for key in keys:
            self.failures[key].append(time.monotonic())

    def forget(self, key: str) -> None:
        self.failures.pop(key, None)


THROTTLE = LoginThrottle()


def client_address(handler: Any) -> str:
    """The address the hub's proxy saw: the last X-Forwarded-For entry (the one it appended), never X-Real-IP."""
    forwarded = handler.request.headers.get("X-Forwarded-For", "")
    last = forwarded.split(",")[-1].strip()
    return last or str(handler.request.remote_ip)


def throttle_message(wait_s: float) -> str:
    minutes = max(1, math.ceil(wait_s / 60))
    return (f"Demasiados intentos fallidos. Espera {minutes} minuto{'s' if minutes > 1 else ''} antes de volver "
            "a intentarlo (o pide a tu profesor que restablezca tu contraseña).")


class AdminSetPasswordAuthenticator(Authenticator):
    """Log in only with the password an admin set (first changed by the student) or the student chose."""

    passwords_path = Unicode(config=True, help="the SQLite file of the password hashes")
    min_password_length = Integer(10, config=True, help="the shortest password a student may choose")
    user_attempts = Integer(5, config=True, help="failed logins of one user from one address within the window "
                                                 "before a wait")
    address_attempts = Integer(30, config=True, help="failed logins from one address within the window before a wait")
    attempt_window_s = Integer(300, config=True, help="the throttling window, in seconds")

    @default("allow_all")
    def _allow_all_default(self) -> bool:
        return True  # every account the hub has may log in: check() asks for its stored password

    @property
    def store(self) -> PasswordStore:
        return PasswordStore(self.passwords_path)

    def account_key(self, name: str, address: str) -> str:
        """The account and address together, and the password they guess at: a reset starts afresh."""
        stored = self.store.get(name)
        password_id = hashlib.sha256(stored.hash).hexdigest()[:16] if stored else "-"
        return f"user:{name}@{address}#{password_id}"

    def throttle_limits(self, name: str, address: str) -> dict[str, int]:
        return {self.account_key(name, address): self.user_attempts, f"addr:{address}": self.address_attempts}

    def throttled_s(self, name: str, address: str) -> float:
        return THROTTLE.wait_s(self.throttle_limits(name, address), self.attempt_window_s)

    def user_exists(self, name: str) -> bool:
        return self.db.query(User).filter_by(name=name).first() is not None

    async def check(self, name: str, password: str) -> bytes | None:
        """The stored hash when `password` is the account's password; None otherwise (bcrypt off the event loop)."""
        if not self.user_exists(name):
            return None
        stored = self.store.get(name)
        if stored is None:
            self.log.warning("%s has no password yet: the operator sets one with `harness hub users --reset %s`",
                             name, name)
            return None
        right = await asyncio.to_thread(bcrypt.checkpw, password.encode("utf8"), stored.hash)
        return stored.hash if right else None

    async def authenticate(self, handler: Any, data: dict[str, str]) -> str | None:
        name: str = self.normalize_username(data["username"])
        hashed = await self.check(name, data["password"])
        if hashed is None:
            return None
        stored = self.store.get(name)
        if stored is not None and stored.must_change:
            handler.must_change = name  # right, but initial: the login handler sends them to change it
            return None
        return name

    def delete_user(self, user: Any) -> None:
        self.store.delete(user.name)

    def get_handlers(self, app: Any) -> list[tuple[str, type]]:
        return [(r"/login", ThrottledLoginHandler), (r"/auth/change-password", ChangePasswordHandler)]


class ThrottledLoginHandler(LoginHandler):
    must_change = ""

    async def post(self) -> None:
        authenticator = self.authenticator
        name = authenticator.normalize_username(self.get_argument("username", "", strip=True))
        address = client_address(self)
        wait_s = authenticator.throttled_s(name, address)
        if wait_s > 0:
            self.set_status(429)
            self.finish(await self._render(login_error=throttle_message(wait_s), username=name))
            return
        data = {"username": name, "password": self.get_argument("password", "", strip=False)}
        user = await self.login_user(data)
        if user:
            THROTTLE.forget(authenticator.account_key(name, address))
            self._jupyterhub_user = user
            self.redirect(self.get_next_url(user))
            return
        if self.must_change:
            target = self.hub.base_url + "auth/change-password"
            self.redirect(url_concat(target, {"username": name, "inicial": "1",
                                                           "next": self.get_argument("next", "")}))
            return
        THROTTLE.fail(list(authenticator.throttle_limits(name, address)))
        wait_s = authenticator.throttled_s(name, address)
        self.set_status(429 if wait_s > 0 else 403)
        self.finish(await self._render(login_error=throttle_message(wait_s) if wait_s > 0 else WRONG,
                                       username=name[:32]))


class ChangePasswordHandler(BaseHandler):
    """Current password, new password twice. Also the way in after logging in with an initial password."""

    def form(self, *, message: str = "", alert: str = "danger", status: int = 200) -> Any:
        user = self.current_user
        name = user.name if user else self.get_argument("username", "", strip=True)
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        return self.render_template("change-password.html", username=name, fixed_name=bool(user),
                                    initial=self.get_argument("inicial", "") == "1", message=message, alert=alert,
                                    next=self.get_argument("next", ""),
                                    min_length=self.authenticator.min_password_length)

    async def get(self) -> None:
        self.finish(await self.form())

    def problem(self, current: str, new: str, again: str) -> str:
        if new != again:
            return "Las dos contraseñas nuevas no coinciden."
        if len(new) < self.authenticator.min_password_length:
            return f"La contraseña nueva necesita al menos {self.authenticator.min_password_length} caracteres."
        if new == current:
            return "La contraseña nueva debe ser distinta de la actual."
        return ""

    async def post(self) -> None:
        authenticator = self.authenticator
        user = self.current_user
        name = user.name if user else authenticator.normalize_username(self.get_argument("username", "", strip=True))
        address = client_address(self)
        wait_s = authenticator.throttled_s(name, address)
        if wait_s > 0:
            self.finish(await self.form(message=throttle_message(wait_s), status=429))
            return
        current = self.get_argument("current_password", "", strip=False)
        new = self.get_argument("new_password", "", strip=False)
        hashed = await authenticator.check(name, current)
        if hashed is None:
            THROTTLE.fail(list(authenticator.throttle_limits(name, address)))
            self.finish(await self.form(message="La contraseña actual no es correcta.", status=403))
            return
        problem = self.problem(current, new, self.get_argument("new_password_again", "", strip=False))
        if problem:
            self.finish(await self.form(message=problem, status=400))
            return
        new_hash = await asyncio.to_thread(bcrypt.hashpw, new.encode("utf8"), bcrypt.gensalt())
        if not authenticator.store.change(name, expected=hashed, new=new_hash):
            self.finish(await self.form(message="Tu contraseña acaba de cambiar en otro sitio: vuelve a intentarlo.",
                                        status=409))
            return
        self.log.info("%s changed their password", name)
        if user is None:  # came from logging in with the initial password: now they are in
            user = await self.auth_to_user(name)
            self.set_login_cookie(user)
            self.redirect(self.get_next_url(user))
            return
        self.finish(await self.form(message="Contraseña cambiada.", alert="success"))


def hash_all(passwords: dict[str, str]) -> dict[str, bytes]:
    """bcrypt hashes, several at once (bcrypt releases the GIL): a class of 100 in seconds, not minutes."""
    def hashed(password: str) -> bytes:
        hashed_password: bytes = bcrypt.hashpw(password.encode("utf8"), bcrypt.gensalt())
        return hashed_password

    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip(passwords, pool.map(hashed, passwords.values()), strict=True))


def set_passwords(path: str, passwords: dict[str, str], *, replace: bool, must_change: bool) -> list[str]:
    """Hash (outside any lock), then store in one transaction. Returns the names written."""
    return PasswordStore(path).set_hashes(hash_all(passwords), replace=replace, must_change=must_change)


def apply_pending(path: str, pending_file: str) -> list[str]:
    """Apply and delete the passwords `harness hub up` left in the data volume before the hub started.

    The admin's password is set when the account has none: a password the admin changed stays.
    """
    if not os.path.exists(pending_file):
        return []
    with open(pending_file) as handle:
        pending = json.load(handle)
    os.remove(pending_file)
    return set_passwords(path, pending["passwords"], replace=bool(pending.get("replace")),
                         must_change=bool(pending.get("must_change")))


def main() -> int:
    """`python -m dl_lab_hub.auth PATH`: passwords from $DL_LAB_PASSWORDS (JSON), never on the command line.

    Passwords set this way are initial ones (must be changed) unless the request says otherwise.
    """
    request = json.loads(os.environ["DL_LAB_PASSWORDS"])
    written = set_passwords(sys.argv[1], request["passwords"], replace=bool(request.get("replace")),
                            must_change=bool(request.get("must_change", True)))
    print(json.dumps({"set": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
