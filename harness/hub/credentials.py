"""The hub's secrets on the operator's machine: build/hub/<instance>/, every file mode 0600."""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path

from harness.config import BUILD_DIR

SECRETS_DIR = BUILD_DIR / "hub"
# Passwords students type: no 0/O, 1/l/I look-alikes. 12 characters of 54: about 69 bits.
PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 12


def instance_dir(name: str) -> Path:
    return SECRETS_DIR / name


def admin_password_file(name: str) -> Path:
    return instance_dir(name) / "admin-password"


def token_file(name: str) -> Path:
    """The operator's token of a running instance (a new one on every start), for `harness hub users`."""
    return instance_dir(name) / "api-token"


def new_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def private_file(path: Path) -> Path:
    """path, created 0600 in a 0700 folder before anything is written to it: never readable by others, not even briefly."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600)
    path.chmod(0o600)
    return path


def save_secret(path: Path, value: str) -> None:
    """Write value to path, readable by its owner only."""
    private_file(path).write_text(value + "\n")


def forget_instance(name: str) -> None:
    """Remove the instance's token (the admin password stays); the folder goes when nothing is left in it."""
    token_file(name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty (password lists an instructor keeps), or already gone
        instance_dir(name).rmdir()
