"""Students' accounts with a password the admin set: `harness hub users`.

The hub (dl_lab_hub.auth) lets an account log in only with a stored password, and this module
stores one before it creates the account, so no account ever exists that its first visitor could
claim. Each student gets a random password, written with the hub's address to a CSV that only the
instructor can read (mode 0600); students change it at /hub/auth/change-password.
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

PASSWORD_DB = f"{DATA_DIR}/passwords.dbm"
EXEC_TIMEOUT_S = 60
# JupyterHub's names are lower-case; FirstUse refuses spaces and commas; '/' would break URLs.
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


def normalized(names: list[str]) -> list[str]:
    """The names as the hub stores them (lower case), without repeats; a one-line error for unusable ones."""
    bad = [name for name in names if _INVALID.search(name)]
    if bad:
        raise HarnessError(f"user names cannot contain spaces, commas or '/': fix {', '.join(map(repr, bad[:5]))} "
                           "in the class list")
    return list(dict.fromkeys(name.lower() for name in names))


def store_passwords(hub: Hub, passwords: dict[str, str], *, replace: bool) -> list[str]:
    """Store bcrypt hashes in the hub's password file (in its container); returns the names set.

    The passwords travel in the environment of one process in the hub's container, never on a
    command line; an existing password is kept unless replace.
    """
    request = json.dumps({"passwords": passwords, "replace": replace})
    try:
        code, output = run_in(hub.container, ["python3", "-m", "dl_lab_hub.auth", PASSWORD_DB], timeout_s=EXEC_TIMEOUT_S,
                              environment={"DL_LAB_PASSWORDS": request})
    except docker.errors.APIError as error:
        raise HarnessError(f"could not reach the hub container to set passwords: {first_line(error)}") from None
    text = output.strip()
    if code != 0:
        raise HarnessError(f"setting passwords in the hub failed (exit {code}): {text.splitlines()[-1] if text else ''}"
                           "; is the hub image current? (`make hub` rebuilds it)")
    written: list[str] = json.loads(text.splitlines()[-1])["set"]
    return written


def password_list_path(hub: Hub) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return instance_dir(hub.name) / f"passwords-{stamp}.csv"


def write_password_list(path: Path, hub: Hub, passwords: dict[str, str]) -> Path:
    """username,password,url for the instructor: created 0600, never readable by others."""
    with private_file(path).open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["username", "password", "url"])
        for name in sorted(passwords):
            writer.writerow([name, passwords[name], f"{hub.url}/hub/login"])
    return path


def create_accounts(hub: Hub, names: list[str], *, out: Path | None = None, group: str = "") -> Accounts:
    """Create the accounts that do not exist, each with a random password first; existing accounts
    without a password get one too. `group` (e.g. the one allowed GPU servers) gets every name."""
    names = normalized(names)
    passwords = {name: new_password() for name in names}
    written = store_passwords(hub, passwords, replace=False)
    created = hub.create_users(names)
    if group:
        hub.add_to_group(group, names)
    chosen = {name: passwords[name] for name in written}
    path = write_password_list(out or password_list_path(hub), hub, chosen) if chosen else None
    return Accounts(created=created, passwords=chosen, password_list=path)


def reset_passwords(hub: Hub, names: list[str], *, out: Path | None = None) -> Accounts:
    """A new random password for existing accounts (a student who forgot theirs)."""
    names = normalized(names)
    unknown = sorted(set(names) - hub.user_names())
    if unknown:
        raise HarnessError(f"no such account: {', '.join(unknown)} (create it with `harness hub users NAME`)")
    passwords = {name: new_password() for name in names}
    store_passwords(hub, passwords, replace=True)
    path = write_password_list(out or password_list_path(hub), hub, passwords)
    return Accounts(created=[], passwords=passwords, password_list=path)
