"""The hub's password store (deploy/jupyterhub/dl_lab_hub/passwords.py) under concurrent writers.

Real processes write the same SQLite file at once, as the CLI's batch reset and a student's
password change do in the hub's container; the store runs on the standard library only.
"""

from __future__ import annotations

import dbm.dumb
import importlib.util
import multiprocessing
import os
import sqlite3
import stat
import sys
from pathlib import Path
from types import ModuleType

from harness.config import REPO_ROOT

STORE_FILE = REPO_ROOT / "deploy" / "jupyterhub" / "dl_lab_hub" / "passwords.py"
WRITERS = 6
ROWS_PER_WRITER = 40


def store_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dl_lab_hub_passwords", STORE_FILE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def batch_writer(path: str, writer: int) -> None:
    """One process writing its own names one transaction at a time, as a batch of resets does."""
    store = store_module().PasswordStore(path)
    for row in range(ROWS_PER_WRITER):
        store.set_hashes({f"w{writer}-{row}": f"hash-{writer}-{row}".encode()}, replace=True, must_change=True)


def test_concurrent_writers_lose_nothing_and_never_corrupt_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "passwords.sqlite")
    store_module().PasswordStore(path)
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=batch_writer, args=(path, number)) for number in range(WRITERS)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0, f"a writer failed (exit {process.exitcode})"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    names = store_module().PasswordStore(path).names()
    assert len(names) == WRITERS * ROWS_PER_WRITER, f"{WRITERS * ROWS_PER_WRITER - len(names)} writes were lost"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_a_change_survives_a_batch_reset_of_other_names(tmp_path: Path) -> None:
    module = store_module()
    store = module.PasswordStore(str(tmp_path / "passwords.sqlite"))
    store.set_hashes({"ana": b"initial-ana", "luis": b"initial-luis"}, replace=True, must_change=True)
    assert store.change("ana", expected=b"initial-ana", new=b"chosen-by-ana")
    store.set_hashes({"luis": b"reset-luis", "marta": b"new-marta"}, replace=True, must_change=True)
    ana = store.get("ana")
    assert ana is not None and ana.hash == b"chosen-by-ana" and not ana.must_change


def test_a_change_from_a_stale_read_is_refused(tmp_path: Path) -> None:
    """A reset between reading the hash and writing the new one wins: the change is refused, not merged."""
    store = store_module().PasswordStore(str(tmp_path / "passwords.sqlite"))
    store.set_hashes({"ana": b"initial"}, replace=True, must_change=True)
    store.set_hashes({"ana": b"reset"}, replace=True, must_change=True)
    assert not store.change("ana", expected=b"initial", new=b"chosen")
    stored = store.get("ana")
    assert stored is not None and stored.hash == b"reset" and stored.must_change


def test_existing_passwords_are_kept_unless_replaced(tmp_path: Path) -> None:
    store = store_module().PasswordStore(str(tmp_path / "passwords.sqlite"))
    assert store.set_hashes({"ana": b"one"}, replace=False, must_change=False) == ["ana"]
    assert store.set_hashes({"ana": b"two", "luis": b"x"}, replace=False, must_change=True) == ["luis"]
    stored = store.get("ana")
    assert stored is not None and stored.hash == b"one"


def test_an_older_hubs_dbm_file_is_taken_over(tmp_path: Path) -> None:
    old = str(tmp_path / "passwords.dbm")
    with dbm.dumb.open(old, "c") as db:
        db[b"ana"] = b"bcrypt-hash-of-ana"
    store = store_module().PasswordStore(str(tmp_path / "passwords.sqlite"))
    assert store.import_dbm(old) == ["ana"]
    assert store.import_dbm(str(tmp_path / "none.dbm")) == []
    stored = store.get("ana")
    assert stored is not None and stored.hash == b"bcrypt-hash-of-ana" and not stored.must_change
