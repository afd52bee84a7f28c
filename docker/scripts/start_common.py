"""What start-notebook.py and start-singleuser.py share: the logged, checked command, and RESTARTABLE."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import NoReturn

SECRET_OPTION = re.compile(r"--[\w.-]*(token|password)", re.IGNORECASE)
# A server that dies sooner than this after starting is restarted with a growing delay (up to 30 s).
QUICK_EXIT_S = 10


def log(script: str, message: str) -> None:
    if not os.environ.get("JUPYTER_DOCKER_STACKS_QUIET"):
        print(f"[{script}] {message}", file=sys.stderr, flush=True)


def fail(script: str, message: str) -> NoReturn:
    print(f"[{script}] error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def shown(command: list[str]) -> str:
    """The command for the log, with the values of token and password options hidden."""
    out: list[str] = []
    hide_next = False
    for arg in command:
        if hide_next:
            out.append("***")
            hide_next = False
        elif SECRET_OPTION.match(arg):
            name, equals, _ = arg.partition("=")
            out.append(f"{name}=***" if equals else arg)
            hide_next = not equals
        else:
            out.append(arg)
    return shlex.join(out)


def empty_token_option(command: list[str]) -> str | None:
    """The option that would set an empty token (the server would then accept anyone), if any."""
    for index, arg in enumerate(command):
        name, equals, value = arg.partition("=")
        if not re.fullmatch(r"--[\w.-]*\.token", name):
            continue
        if not equals:
            value = command[index + 1] if index + 1 < len(command) else ""
        if not value.strip().strip("'\""):
            return name
    return None


def server_command(script: str, program: list[str]) -> list[str]:
    """program + NOTEBOOK_ARGS + this script's arguments; refuses an empty token."""
    command = [*program, *shlex.split(os.environ.get("NOTEBOOK_ARGS", "")), *sys.argv[1:]]
    if "JUPYTER_TOKEN" in os.environ and not os.environ["JUPYTER_TOKEN"].strip():
        fail(script, "JUPYTER_TOKEN is empty; set a token or leave it unset to get a random one")
    option = empty_token_option(command)
    if option is not None:
        fail(script, f"{option} is empty, which would let anyone in: give a token, or none for a random one")
    return command


def execute(script: str, command: list[str]) -> NoReturn:
    """Run the server: in its place, or (RESTARTABLE=yes) again each time it exits, until the container stops."""
    if os.environ.get("RESTARTABLE") != "yes":
        log(script, f"executing: {shown(command)}")
        os.execvp(command[0], command)
    log(script, f"executing, restarted whenever it exits (RESTARTABLE=yes): {shown(command)}")
    stopping = False
    child: subprocess.Popen[bytes] | None = None

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    delay = 1.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(command)
        status = child.wait()
        if stopping:
            sys.exit(status)
        delay = 1.0 if time.monotonic() - started > QUICK_EXIT_S else min(delay * 2, 30.0)
        log(script, f"the server exited with status {status}; starting it again in {delay:.0f} s (RESTARTABLE=yes)")
        time.sleep(delay)
        if stopping:
            sys.exit(status)
