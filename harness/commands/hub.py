"""`harness hub up|down|users|lock`: JupyterHub with one lab container per student (make hub)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from harness.build import hub_image
from harness.config import VARIANTS, facts
from harness.errors import HarnessError
from harness.hub.instance import (
    DEFAULT_NAME,
    HubSettings,
    admin_password_file,
    claim_admin,
    hub_setting,
    running_hub,
    save_secret,
    start_hub,
    stop_hub,
    token_file,
)
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("hub", help="JupyterHub for a class on this server (deploy/jupyterhub)",
                                   description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    up = actions.add_parser("up", help="build the hub image if needed and start the hub on 127.0.0.1")
    up.add_argument("--name", default=DEFAULT_NAME, help="instance name (containers, network, volumes)")
    up.add_argument("--port", type=int, default=facts().hub_port, help="port on 127.0.0.1 (default: %(default)s)")
    up.add_argument("--variant", choices=VARIANTS, help="lab image to spawn (default: cuda with a GPU, else cpu)")
    up.add_argument("--gpu", type=int, choices=[0, 1], help="give students' containers the GPUs (default: detect)")
    up.add_argument("--cpu-limit", type=float, default=1.0, help="CPUs per student (default: %(default)s)")
    up.add_argument("--mem-limit", default="2G", help="memory per student, /dev/shm included (default: %(default)s)")
    up.add_argument("--shm-size", default="1g", help="/dev/shm per student (default: %(default)s)")
    up.add_argument("--cull-timeout", type=int, default=3600, help="stop servers idle this many seconds")
    up.add_argument("--kernel-cull-timeout", type=int, default=1800,
                    help="shut down kernels idle this many seconds, freeing their (GPU) memory; 0: never")
    up.add_argument("--admin", default="profesor", help="the admin account (default: %(default)s)")
    up.set_defaults(handler=handle_up)

    down = actions.add_parser("down", help="stop the hub and every student's server (volumes kept)")
    down.add_argument("--name", default=DEFAULT_NAME)
    down.add_argument("--volumes", action="store_true", help="also delete accounts and every student's work")
    down.set_defaults(handler=handle_down)

    users = actions.add_parser("users", help="create student accounts (names, or a file with one per line)")
    users.add_argument("names", nargs="*", help="user names")
    users.add_argument("--file", type=Path, help="a class list: one user name per line")
    users.add_argument("--name", default=DEFAULT_NAME)
    users.set_defaults(handler=handle_users)

    lock = actions.add_parser("lock", help="re-resolve deploy/jupyterhub/requirements.in into requirements.lock")
    lock.set_defaults(handler=handle_lock)


def handle_lock(args: argparse.Namespace) -> int:
    stderr_console().print(f"wrote {hub_image.lock()}; `make hub` fetches the new wheels and rebuilds the hub image")
    return 0


def handle_up(args: argparse.Namespace) -> int:
    console = stderr_console()
    for option, seconds in (("--cull-timeout", args.cull_timeout), ("--kernel-cull-timeout", args.kernel_cull_timeout)):
        if seconds < 0:
            raise HarnessError(f"{option} is a number of seconds, 0 or more (0: never), not {seconds}")
    settings = HubSettings(name=args.name, port=args.port, variant=args.variant,
                           gpu=None if args.gpu is None else bool(args.gpu), cpu_limit=args.cpu_limit,
                           mem_limit=args.mem_limit, shm_size=args.shm_size, cull_timeout_s=args.cull_timeout,
                           kernel_cull_timeout_s=args.kernel_cull_timeout,
                           admin=args.admin)
    with console.status("starting the hub"):
        hub = start_hub(settings)
        claim_admin(hub, password_file=admin_password_file(args.name))
    save_secret(token_file(args.name), hub.api_token)
    console.print(f"[green]JupyterHub is up[/] at [bold]{hub.url}[/] (students' image: "
                  f"{hub_setting(hub, 'DL_LAB_IMAGE')}, GPUs: {'yes' if hub_setting(hub, 'DL_LAB_GPU') == '1' else 'no'})")
    console.print(f"  admin: [bold]{args.admin}[/], password in {admin_password_file(args.name)}")
    console.print("  students: `.venv/bin/harness hub users --file class.txt` (or the admin panel, /hub/admin);"
                  " each sets a password at first login")
    console.print("  stop: `make hub-down` (work kept); reach it from elsewhere through TLS (README)")
    return 0


def handle_down(args: argparse.Namespace) -> int:
    removed = stop_hub(args.name, volumes=args.volumes)
    kept = "" if args.volumes else " (students' volumes kept: `make hub-down HUB_ARGS=--volumes` deletes them)"
    stderr_console().print(f"removed {removed} hub resource(s){kept}")
    return 0


def handle_users(args: argparse.Namespace) -> int:
    names = list(args.names)
    if args.file:
        if not args.file.exists():
            raise HarnessError(f"{args.file} does not exist: give a file with one user name per line")
        names += [line.strip() for line in args.file.read_text().splitlines() if line.strip() and not line.startswith("#")]
    if not names:
        raise HarnessError("no user names: give them as arguments or with --file class.txt")
    hub = running_hub(args.name)
    hub.create_users(names)
    stderr_console().print(f"{len(names)} account(s) ready; each student sets a password at first login on {hub.url}")
    return 0
