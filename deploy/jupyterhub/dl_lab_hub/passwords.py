"""The hub's password store: bcrypt hashes in an SQLite file, safe under concurrent writers.

Every write is one short `BEGIN IMMEDIATE` transaction touching only the rows it names, so the
CLI resetting forty passwords while a student changes theirs leaves the student's change in place,
and two writers at once wait for each other (SQLite's file locks, busy timeout) instead of
overwriting the file. Hashing happens before the transaction: the lock is held for milliseconds.

A row's `must_change` is 1 for a password the operator set (an initial or reset one): it logs in
only to the change-password page. Standard library only (the hub image, and the host's tests).
"""

from __future__ import annotations

import contextlib
import dbm
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

BUSY_TIMEOUT_S = 60
SCHEMA = ("CREATE TABLE IF NOT EXISTS passwords (name TEXT PRIMARY KEY, hash BLOB NOT NULL, "
          "must_change INTEGER NOT NULL, set_at REAL NOT NULL)")


@dataclass(frozen=True)
class StoredPassword:
    hash: bytes
    must_change: bool


class PasswordStore:
    """One SQLite file (mode 0600); every method opens, does one transaction and closes."""

    def __init__(self, path: str) -> None:
        self.path = path
        if not os.path.exists(path):
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self.transaction() as db:
            db.execute(SCHEMA)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: taken at once (BEGIN IMMEDIATE), waiting for another writer to finish."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def get(self, name: str) -> StoredPassword | None:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            row = db.execute("SELECT hash, must_change FROM passwords WHERE name = ?", (name,)).fetchone()
        finally:
            db.close()
        return None if row is None else StoredPassword(bytes(row[0]), bool(row[1]))

    def set_hashes(self, hashes: dict[str, bytes], *, replace: bool, must_change: bool) -> list[str]:
        """Store the hashes; an existing one is kept unless replace. Returns the names written."""
        written = []
        with self.transaction() as db:
            for name, hashed in hashes.items():
                if not replace and db.execute("SELECT 1 FROM passwords WHERE name = ?", (name,)).fetchone():
                    continue
                db.execute("INSERT OR REPLACE INTO passwords VALUES (?, ?, ?, ?)",
                           (name, hashed, int(must_change), time.time()))
                written.append(name)
        return written

    def change(self, name: str, *, expected: bytes, new: bytes) -> bool:
        """Replace the hash only if it is still `expected` (nobody reset it meanwhile); False otherwise."""
        with self.transaction() as db:
            cursor = db.execute("UPDATE passwords SET hash = ?, must_change = 0, set_at = ? WHERE name = ? AND hash = ?",
                                (new, time.time(), name, expected))
            return cursor.rowcount == 1

    def delete(self, name: str) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM passwords WHERE name = ?", (name,))

    def names(self) -> set[str]:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S)
        try:
            return {row[0] for row in db.execute("SELECT name FROM passwords")}
        finally:
            db.close()

    def import_dbm(self, dbm_path: str) -> list[str]:
        """The hashes of an older hub's dbm file, for accounts that have none here (kept as the students chose them)."""
        if not dbm.whichdb(dbm_path):
            return []
        with dbm.open(dbm_path, "r") as old:
            hashes = {(key.decode("utf8") if isinstance(key, bytes) else key): bytes(old[key]) for key in old.keys()}  # noqa: SIM118 (gdbm cannot iterate)
        return self.set_hashes(hashes, replace=False, must_change=False)
