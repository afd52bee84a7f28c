"""`harness hub up|down|users|backup|restore|purge|lock`: JupyterHub with one lab container per student (make hub)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from harness.config import VARIANTS
from harness.engine.containers import docker_client
from harness.errors import HarnessError
from harness.hub import accounts, backup
from harness.hub.credentials import admin_password_file
from harness.hub.instance import purge_hub, running_hub, start_hub, stop_hub
from harness.hub.plan import plan_hub
from harness.hub.settings import DEFAULT_NAME, DEFAULTS, HubSettings, checked_subdomain_host
from harness.images import hub_image
from harness.ui import stderr_console


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("hub", help="JupyterHub for a class on this server (deploy/jupyterhub)",
                                   description=__doc__)
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    register_up(actions)

    down = actions.add_parser("down", help="stop the hub and every student's server (work and accounts kept)")
    down.add_argument("--name", default=DEFAULT_NAME)
    down.add_argument("--volumes", action="store_true", help=argparse.SUPPRESS)  # gone: `hub purge` asks first
    down.set_defaults(handler=handle_down)

    users = actions.add_parser("users", help="create student accounts, each with a random password (CSV for you)")
    users.add_argument("names", nargs="*", help="user names")
    users.add_argument("--file", type=Path, help="a class list: one user name per line")
    users.add_argument("--group", default="", help="also put them in this group (e.g. the one allowed GPU servers)")
    users.add_argument("--reset", action="store_true", help="give these existing accounts a new password")
    users.add_argument("--out", type=Path, help="the password list (default: build/hub/NAME/passwords-DATE.csv)")
    users.add_argument("--name", default=DEFAULT_NAME)
    users.set_defaults(handler=handle_users)

    save = actions.add_parser("backup", help="every student's work and the accounts into backups/NAME-DATE.tar.gz")
    save.add_argument("--name", default=DEFAULT_NAME)
    save.add_argument("--out", type=Path, default=backup.BACKUP_DIR, help="folder for the archive (default: backups/)")
    save.set_defaults(handler=handle_backup)

    load = actions.add_parser("restore", help="put a backup's volumes back (the hub stopped)")
    load.add_argument("archive", type=Path)
    load.add_argument("--overwrite", action="store_true",
                      help="restore over volumes that exist (backed up first into backups/)")
    load.set_defaults(handler=handle_restore)

    purge = actions.add_parser("purge", help="DELETE the hub's accounts and every student's work (asks first)")
    purge.add_argument("--name", required=True, help="the instance to delete, e.g. dl-lab-hub")
    purge.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    purge.set_defaults(handler=handle_purge)

    lock = actions.add_parser("lock", help="re-resolve deploy/jupyterhub/requirements.in into requirements.lock")
    lock.set_defaults(handler=handle_lock)


def register_up(actions: Any) -> None:
    up = actions.add_parser("up", help="build the hub image if needed and start the hub on 127.0.0.1")
    up.add_argument("--name", default=DEFAULT_NAME, help="instance name (containers, networks, volumes)")
    up.add_argument("--port", type=int, default=DEFAULTS.port, help="port on 127.0.0.1 (default: %(default)s)")
    up.add_argument("--variant", choices=VARIANTS, help="lab image to spawn (default: cuda with a GPU, else cpu)")
    up.add_argument("--gpu", type=int, choices=[0, 1], help="give students' servers GPUs (default: detect)")
    up.add_argument("--gpu-ids", default="",
                    help="GPU ids or MIG UUIDs to hand out round-robin, e.g. 0,1 (default: all of `nvidia-smi -L`)")
    up.add_argument("--gpus-per-student", type=int, default=DEFAULTS.gpus_per_student,
                    help="devices each GPU server gets (default: %(default)s)")
    up.add_argument("--gpu-group", default=DEFAULTS.gpu_group,
                    help="only this group's members may start GPU servers; others get CPU ones (default: everyone)")
    up.add_argument("--gpu-memory-fraction", type=float, default=DEFAULTS.gpu_memory_fraction,
                    help="cap each kernel's GPU memory at this fraction of a device, e.g. 0.25 (default: no cap)")
    up.add_argument("--cpu-limit", type=float, default=DEFAULTS.cpu_limit, help="CPUs per student (default: %(default)s)")
    up.add_argument("--mem-limit", default=DEFAULTS.mem_limit,
                    help="memory per student, /dev/shm included, no swap (default: %(default)s)")
    up.add_argument("--shm-size", default=DEFAULTS.shm_size, help="/dev/shm per student (default: %(default)s)")
    up.add_argument("--work-size", default=DEFAULTS.work_size,
                    help="size limit of each new work volume where Docker has xfs quotas; 0: none (default: %(default)s)")
    up.add_argument("--student-subnets", default=DEFAULTS.student_subnets,
                    help="address range for the students' private networks (default: %(default)s)")
    up.add_argument("--cull-timeout", type=int, default=DEFAULTS.cull_timeout_s,
                    help="stop servers idle this many seconds (default: %(default)s)")
    up.add_argument("--kernel-cull-timeout", type=int, default=DEFAULTS.kernel_cull_timeout_s,
                    help="shut down kernels idle this many seconds, freeing their (GPU) memory; 0: never")
    up.add_argument("--admin", default=DEFAULTS.admin, help="the admin account (default: %(default)s)")
    up.add_argument("--subdomain-host", default=DEFAULTS.subdomain_host, metavar="URL",
                    help="each student's server on <user>.<host>: https://hub.example.org behind the TLS proxy, or "
                         "'localhost' on this machine; without it the admin cannot open students' servers")
    up.set_defaults(handler=handle_up)


def handle_lock(args: argparse.Namespace) -> int:
    stderr_console().print(f"wrote {hub_image.lock()}; `make hub` fetches the new wheels and rebuilds the hub image")
    return 0


def settings_from(args: argparse.Namespace) -> HubSettings:
    for option, seconds in (("--cull-timeout", args.cull_timeout), ("--kernel-cull-timeout", args.kernel_cull_timeout)):
        if seconds < 0:
            raise HarnessError(f"{option} is a number of seconds, 0 or more (0: never), not {seconds}")
    gpu_ids = tuple(args.gpu_ids.replace(",", " ").split())
    return HubSettings(name=args.name, port=args.port, variant=args.variant,
                       gpu=None if args.gpu is None else bool(args.gpu), gpu_ids=gpu_ids,
                       gpus_per_student=args.gpus_per_student, gpu_group=args.gpu_group,
                       gpu_memory_fraction=args.gpu_memory_fraction, cpu_limit=args.cpu_limit,
                       mem_limit=args.mem_limit, shm_size=args.shm_size, work_size=args.work_size,
                       student_subnets=args.student_subnets, cull_timeout_s=args.cull_timeout,
                       kernel_cull_timeout_s=args.kernel_cull_timeout, admin=args.admin,
                       subdomain_host=checked_subdomain_host(args.subdomain_host, port=args.port))


def handle_up(args: argparse.Namespace) -> int:
    console = stderr_console()
    settings = settings_from(args)
    with console.status("starting the hub"):
        plan = plan_hub(docker_client(), settings)
        hub = start_hub(settings, plan=plan)
    group = f" (group {settings.gpu_group} only)" if plan.gpu_ids and settings.gpu_group else ""
    console.print(f"[green]JupyterHub is up[/] at [bold]{hub.url}[/] (students' image: {plan.image}, "
                  f"GPUs: {','.join(plan.gpu_ids) or 'none'}{group})")
    for note in plan.notes:
        console.print(f"  [yellow]note[/]: {note}")
    console.print(f"  admin: [bold]{settings.admin}[/], password in {admin_password_file(settings.name)}")
    console.print("  students: `.venv/bin/harness hub users --file class.txt` creates the accounts and writes each "
                  "one's password to a list only you can read")
    console.print("  stop: `make hub-down` (work kept); back up: `make hub-backup`; reach it from elsewhere through TLS "
                  "(deploy/jupyterhub/README.md)")
    return 0


def handle_down(args: argparse.Namespace) -> int:
    if args.volumes:
        raise HarnessError(f"`hub down --volumes` is now `harness hub purge --name {args.name}`, which asks first; "
                           "nothing was stopped")
    removed = stop_hub(args.name)
    stderr_console().print(f"removed {removed} hub resource(s); students' work and accounts kept "
                           f"(`make hub-backup` saves them, `harness hub purge --name {args.name}` deletes them)")
    return 0


def handle_users(args: argparse.Namespace) -> int:
    names = list(args.names) + (accounts.read_class_list(args.file) if args.file else [])
    if not names:
        raise HarnessError("no user names: give them as arguments or with --file class.txt")
    names = accounts.normalized(names)
    hub = running_hub(args.name)
    if args.reset:
        result = accounts.reset_passwords(hub, names, out=args.out)
    else:
        result = accounts.create_accounts(hub, names, out=args.out, group=args.group)
    console = stderr_console()
    console.print(f"{len(result.created)} account(s) created, {len(names) - len(result.created)} existed; "
                  f"{len(result.passwords)} new password(s)")
    if result.password_list:
        console.print(f"  passwords (readable by you only): [bold]{result.password_list}[/]; students log in at "
                      f"{hub.url}/hub/login and change theirs at /hub/auth/change-password")
    return 0


def handle_backup(args: argparse.Namespace) -> int:
    with stderr_console().status(f"backing up {args.name}"):
        archive = backup.backup(args.name, out_dir=args.out)
    stderr_console().print(f"wrote {archive} ({archive.stat().st_size / 1e6:.1f} MB, readable by you only); "
                           f"`harness hub restore {archive}` puts it back")
    return 0


def handle_restore(args: argparse.Namespace) -> int:
    result = backup.restore(args.archive, overwrite=args.overwrite)
    console = stderr_console()
    if result.safety_backup:
        console.print(f"what the volumes held before is in {result.safety_backup}")
    console.print(f"restored {len(result.volumes)} volume(s); `make hub` starts the hub with them")
    return 0


def handle_purge(args: argparse.Namespace) -> int:
    console = stderr_console()
    if not args.yes:
        if not sys.stdin.isatty():
            raise HarnessError(f"purging deletes every account and student's work of {args.name}: "
                               "run it in a terminal to confirm, or pass --yes")
        console.print(f"[red bold]This deletes the accounts and every student's work of {args.name}[/] "
                      f"(`harness hub backup --name {args.name}` first keeps a copy).")
        if console.input(f"Type the instance name ({args.name}) to confirm: ").strip() != args.name:
            raise HarnessError("not confirmed: nothing was deleted")
    removed = purge_hub(args.name)
    console.print(f"purged {args.name}: {removed} resource(s) removed")
    return 0
