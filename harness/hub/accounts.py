"""Students' accounts with a password the admin set: `harness hub users`.

The hub (dl_lab_hub.auth) lets an account log in only with a stored password, so an account
without one cannot be claimed by its first visitor. Every name is checked before anything is
written; the hub creates the accounts (all or none), then each gets a random initial password,
which leads only to the change-password page. The CSV of what was done (with the hub's address)
is written even when a step fails, readable by the instructor only (mode 0600).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import docker.errors

from harness.engine.containers import run_in
from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.hub.client import Hub
from harness.hub.credentials import instance_dir, new_password, private_file
from harness.hub.settings import DATA_DIR

PASSWORD_DB = f"{DATA_DIR}/passwords.sqlite"
# Hashing takes a moment per password (bcrypt), more on a busy server.
EXEC_TIMEOUT_S = 60
EXEC_TIMEOUT_PER_PASSWORD_S = 3
# JupyterHub's names are lower-case; spaces, commas and '/' break logins, CSVs and URLs; the hub
# itself refuses names made only of dots.
_INVALID = re.compile(r"[\s,/]")


@dataclass(frozen=True)
class Accounts:
    created: list[str]  # accounts that did not exist
    passwords: dict[str, str]  # accounts whose password was set now
    password_list: Path | None  # the CSV with those passwords


def read_class_list(path: Path) -> list[str]:
    """One user name per line; blank lines and '#' comments skipped."""
    if not path.exists():
        raise HarnessError(f"{path} does not exist: give a file with one user name per line")
    return [line.strip() for line in path.read_text().splitlines() if line.strip() and not line.strip().startswith("#")]


def name_problem(name: str) -> str:
    """Why the hub would refuse this user name ("" when it is fine)."""
    if not name:
        return "is empty"
    if _INVALID.search(name):
        return "contains a space, a comma or '/'"
    if set(name) == {"."}:
        return "is only dots"
    return ""


def normalized(names: list[str]) -> list[str]:
    """The names as the hub stores them (lower case), without repeats; a one-line error naming the first unusable one."""
    for name in names:
        problem = name_problem(name)
        if problem:
            raise HarnessError(f"the user name {name!r} {problem}: fix it in the class list (nothing was created)")
    return list(dict.fromkeys(name.lower() for name in names))


def store_passwords(hub: Hub, passwords: dict[str, str], *, replace: bool) -> list[str]:
    """Store bcrypt hashes of initial passwords in the hub's password store (in its container); returns the names set.

    The passwords travel in the environment of one process in the hub's container, never on a
    command line; an existing password is kept unless replace.
    """
    request = json.dumps({"passwords": passwords, "replace": replace, "must_change": True})
    try:
        code, output = run_in(hub.container, ["python3", "-m", "dl_lab_hub.auth", PASSWORD_DB],
                              timeout_s=EXEC_TIMEOUT_S + EXEC_TIMEOUT_PER_PASSWORD_S * len(passwords),
                              environment={"DL_LAB_PASSWORDS": request})
    except docker.errors.APIError as error:
        raise HarnessError(f"could not reach the hub container to set passwords: {first_line(error)}") from None
    text = output.strip()
    if code != 0:
        if code == 124:
            raise HarnessError("setting passwords in the hub took too long (the server is busy?): run the same command "
                               "again; accounts that got one keep it")
        raise HarnessError(f"setting passwords in the hub failed (exit {code}): {text.splitlines()[-1] if text else ''}"
                           "; is the hub image current? (`make hub` rebuilds it)")
    written: list[str] = json.loads(text.splitlines()[-1])["set"]
    return written


def password_list_path(hub: Hub) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return instance_dir(hub.name) / f"passwords-{stamp}.csv"


def write_password_list(path: Path, hub: Hub, passwords: dict[str, str], *, status: dict[str, str] | None = None) -> Path:
    """username,password,url,status for the instructor: created 0600, never readable by others.

    `status` says what happened to each name (a row without a password says why)."""
    status = status or {name: "password set" for name in passwords}
    with private_file(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "password", "url", "status"])
        for name in sorted(status):
            writer.writerow([name, passwords.get(name, ""), f"{hub.url}/hub/login", status[name]])
    return path


def creation_status(names: list[str], created: list[str], written: list[str] | None) -> dict[str, str]:
    """What create_accounts did to each name; `written` is None when storing the passwords did not finish."""
    status = {}
    for name in names:
        made = "created" if name in created else "existed"
        if written is None:
            status[name] = f"{made}, password NOT set: run `harness hub users --reset {name}`"
        elif name in written:
            status[name] = f"{made}, initial password set"
        else:
            status[name] = f"{made}, its password kept"
    return status


def create_accounts(hub: Hub, names: list[str], *, out: Path | None = None, group: str = "") -> Accounts:
    """Create the accounts that do not exist, each with a random initial password; existing accounts
    without a password get one too. `group` (e.g. the one allowed GPU servers) gets every name.

    Every name is checked first (nothing is written when one is unusable); the password list is
    written even when a later step fails, so that no account is left with a password nobody knows."""
    names = normalized(names)
    passwords = {name: new_password() for name in names}
    created: list[str] = []
    written: list[str] | None = None
    path = out or password_list_path(hub)
    try:
        created = hub.create_users(names)
        if group:
            hub.add_to_group(group, names)
        written = store_passwords(hub, passwords, replace=False)
    finally:
        if created or written:
            chosen = {name: passwords[name] for name in written or []}
            write_password_list(path, hub, chosen, status=creation_status(names, created, written))
    chosen = {name: passwords[name] for name in written or []}
    return Accounts(created=created, passwords=chosen, password_list=path if created or written else None)


def reset_passwords(hub: Hub, names: list[str], *, out: Path | None = None) -> Accounts:
    """A new random initial password for existing accounts (a student who forgot theirs)."""
    names = normalized(names)
    unknown = sorted(set(names) - hub.user_names())
    if unknown:
        raise HarnessError(f"no such account: {', '.join(unknown)} (create it with `harness hub users NAME`)")
    passwords = {name: new_password() for name in names}
    store_passwords(hub, passwords, replace=True)
    path = write_password_list(out or password_list_path(hub), hub, passwords,
                               status={name: "initial password reset" for name in names})
    return Accounts(created=[], passwords=passwords, password_list=path)
