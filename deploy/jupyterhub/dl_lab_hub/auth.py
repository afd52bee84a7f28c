"""Accounts whose password an admin set: FirstUseAuthenticator without the "first use".

FirstUseAuthenticator stores bcrypt hashes in a dbm file and, for an account without one, takes
the first password anyone logs in with: whoever is first owns the name. Here an account without a
password cannot log in at all; its password is set by the operator (`harness hub users`, which
writes a random one per student to a 0600 list for the instructor) through set_passwords(), before
the hub starts (the admin's) or while it runs (`python -m dl_lab_hub.auth`, run in the hub's
container). Students change theirs at /hub/auth/change-password, as FirstUse provides.
"""

from __future__ import annotations

import dbm
import json
import os
import sys
import time

import bcrypt
from firstuseauthenticator import FirstUseAuthenticator

# The hub opens the password file for a moment on every login: wait for it rather than fail.
LOCK_TRIES = 50


class AdminSetPasswordAuthenticator(FirstUseAuthenticator):
    """Log in only with the password an admin set (or the student changed it to)."""

    async def authenticate(self, handler, data):
        username = self.normalize_username(data["username"])
        if not self.create_users and not self._user_exists(username):
            return None
        with dbm.open(self.dbm_path, "c", 0o600) as db:
            stored = db.get(username.encode("utf8"))
        if stored is None:
            self.log.warning("%s has no password yet: the operator sets one with `harness hub users --reset %s`",
                             username, username)
            return None
        if not bcrypt.checkpw(data["password"].encode("utf8"), stored):
            return None
        return username


def open_locked(path: str):
    for _ in range(LOCK_TRIES):
        try:
            return dbm.open(path, "c", 0o600)
        except dbm.error:  # gdbm: another writer holds it
            time.sleep(0.1)
    return dbm.open(path, "c", 0o600)


def set_passwords(dbm_path: str, passwords: dict[str, str], *, replace: bool) -> list[str]:
    """Store bcrypt hashes of the given passwords; an existing one is kept unless replace. Returns the names set."""
    written = []
    with open_locked(dbm_path) as db:
        for name, password in passwords.items():
            if not replace and db.get(name.encode("utf8")) is not None:
                continue
            db[name.encode("utf8")] = bcrypt.hashpw(password.encode("utf8"), bcrypt.gensalt())
            written.append(name)
    return written


def apply_pending(dbm_path: str, pending_file: str) -> list[str]:
    """Apply and delete the passwords `harness hub up` left in the data volume before the hub started."""
    if not os.path.exists(pending_file):
        return []
    with open(pending_file) as handle:
        pending = json.load(handle)
    os.remove(pending_file)
    return set_passwords(dbm_path, pending["passwords"], replace=bool(pending.get("replace")))


def main() -> int:
    """`python -m dl_lab_hub.auth DBM_PATH`: passwords from $DL_LAB_PASSWORDS (JSON), never on the command line."""
    request = json.loads(os.environ["DL_LAB_PASSWORDS"])
    written = set_passwords(sys.argv[1], request["passwords"], replace=bool(request.get("replace")))
    print(json.dumps({"set": written}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
