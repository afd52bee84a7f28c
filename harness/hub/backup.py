"""Every student's work and the hub's accounts in one dated archive, and back: `harness hub backup|restore`.

An archive (backups/<instance>-YYYYmmdd-HHMMSS.tar.gz, mode 0600: it holds password hashes) has
manifest.json first, then volumes/<volume name>/... for the hub's data volume and each student's
work volume, with numeric owners and modes as they were. A helper container of the hub image
mounts the volumes (the students' read-only) and writes the archive into the backup folder; the
hub's database is copied with SQLite's backup API, so a backup of a running hub is consistent.

A restore puts the volumes back for a hub that is stopped (`make hub-down`); volumes that exist
are left alone unless --overwrite, which first backs them up (nothing is lost either way) and then
writes the archive's files over them (files the archive does not have stay).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests

from harness.config import REPO_ROOT
from harness.engine.containers import docker_client, require_image, running_container
from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.hub.settings import HubSettings, instance_filter, instance_labels
from harness.images.hub_image import hub_image

BACKUP_DIR = REPO_ROOT / "backups"
COMPONENT = "hub-backup"
MANIFEST = "manifest.json"
SCHEMA = "dl-lab.hub-backup/1"
HELPER_TIMEOUT_S = 3600  # a class's work through gzip: minutes; bounded all the same
SOURCE, TARGET, FOLDER = "/dl-lab-volumes", "/dl-lab-archive", "volumes"

# Runs in the helper container: the hub's data volume staged (its SQLite database copied with the
# backup API, consistent even while the hub writes), then one tar of the manifest, that copy and
# every student's volume, owned by whoever ran `harness hub backup` and readable by them only.
BACKUP_SCRIPT = r"""
set -eu
umask 077
stage=$(mktemp -d)
printf '%s' "$MANIFEST" > "$stage/manifest.json"
staged=""
if [ -n "$DATA_VOLUME" ]; then
  mkdir "$stage/volumes"
  cp -a "/dl-lab-volumes/volumes/$DATA_VOLUME" "$stage/volumes/"
  if [ -f "$stage/volumes/$DATA_VOLUME/jupyterhub.sqlite" ]; then
    python3 -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
      "/dl-lab-volumes/volumes/$DATA_VOLUME/jupyterhub.sqlite" "$stage/volumes/$DATA_VOLUME/jupyterhub.sqlite"
  fi
  staged=volumes
fi
students=""
for volume in $STUDENT_VOLUMES; do students="$students volumes/$volume"; done
tar -czf "/dl-lab-archive/$ARCHIVE.partial" --numeric-owner -C "$stage" manifest.json $staged \
  -C /dl-lab-volumes $students
chown "$OWNER" "/dl-lab-archive/$ARCHIVE.partial"
chmod 600 "/dl-lab-archive/$ARCHIVE.partial"
mv "/dl-lab-archive/$ARCHIVE.partial" "/dl-lab-archive/$ARCHIVE"
"""
RESTORE_SCRIPT = 'set -eu\ntar -xzpf "/dl-lab-archive/$ARCHIVE" --numeric-owner -C /dl-lab-volumes volumes\n'


@dataclass(frozen=True)
class Restored:
    volumes: list[str]
    safety_backup: Path | None  # what the overwritten volumes held before


def helper_image(client: docker.DockerClient) -> str:
    image = hub_image()
    require_image(client, image, make_target="hub")
    return image


def run_helper(client: docker.DockerClient, *, script: str, environment: dict[str, str],
               volumes: dict[str, dict[str, str]], what: str) -> None:
    """Run a shell script in a labelled helper container of the hub image, as root, within HELPER_TIMEOUT_S."""
    with running_container(client, helper_image(client), component=COMPONENT, command=["sh", "-c", script],
                           environment=environment, volumes=volumes, network_mode="none", user="0") as helper:
        try:
            result = helper.wait(timeout=HELPER_TIMEOUT_S)
        except (requests.exceptions.RequestException, docker.errors.APIError):
            raise HarnessError(f"{what} did not finish within {HELPER_TIMEOUT_S} s") from None
        if result.get("StatusCode") != 0:
            tail = helper.logs(tail=5).decode(errors="replace").strip().replace("\n", " | ")
            raise HarnessError(f"{what} failed: {tail or result}")


def instance_volumes(client: docker.DockerClient, name: str) -> list[Any]:
    return sorted(client.volumes.list(filters=instance_filter(name)), key=lambda volume: volume.name)


def backup(name: str, *, out_dir: Path = BACKUP_DIR) -> Path:
    """Write every volume of the instance `name` to out_dir/<name>-<date>-<time>.tar.gz; returns its path."""
    client = docker_client()
    volumes = instance_volumes(client, name)
    if not volumes:
        raise HarnessError(f"the hub {name} has no volumes: nothing to back up (is the name right? `docker volume ls`)")
    out_dir = out_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    archive = out_dir / f"{name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}.tar.gz"
    if archive.exists():
        raise HarnessError(f"{archive} exists already: wait a second and run it again")
    manifest = {"schema": SCHEMA, "instance": name, "created": dt.datetime.now().astimezone().isoformat(),
                "volumes": [{"name": volume.name, "labels": volume.attrs.get("Labels") or {}} for volume in volumes]}
    data_volume = HubSettings(name=name).data_volume
    # Read-only, but for the hub's database, which SQLite may have to roll back before copying.
    mounts = {volume.name: {"bind": f"{SOURCE}/{FOLDER}/{volume.name}",
                            "mode": "rw" if volume.name == data_volume else "ro"} for volume in volumes}
    mounts[str(out_dir)] = {"bind": TARGET, "mode": "rw"}
    students = [volume.name for volume in volumes if volume.name != data_volume]
    run_helper(client, script=BACKUP_SCRIPT, volumes=mounts, what=f"the backup of {name}",
               environment={"MANIFEST": json.dumps(manifest), "ARCHIVE": archive.name,
                            "DATA_VOLUME": data_volume if data_volume in mounts else "",
                            "STUDENT_VOLUMES": " ".join(students), "OWNER": f"{os.getuid()}:{os.getgid()}"})
    return archive


def read_manifest(archive: Path) -> dict[str, Any]:
    """The archive's manifest.json (its first member), or a one-line error."""
    if not archive.is_file():
        raise HarnessError(f"{archive} is not a file: give a backup made by `harness hub backup`")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.next()
            if member is None or member.name != MANIFEST:
                raise HarnessError(f"{archive} is not a dl-lab hub backup (no {MANIFEST} first)")
            handle = tar.extractfile(member)
            manifest: dict[str, Any] = json.load(handle) if handle else {}
    except (tarfile.TarError, OSError, EOFError, json.JSONDecodeError) as error:
        raise HarnessError(f"{archive} cannot be read as a hub backup: {first_line(error)}") from None
    if manifest.get("schema") != SCHEMA:
        raise HarnessError(f"{archive} has a manifest of {manifest.get('schema')!r}, not {SCHEMA!r}")
    return manifest


def hub_is_stopped(client: docker.DockerClient, name: str) -> None:
    running = client.containers.list(filters=instance_filter(name))
    if running:
        raise HarnessError(f"the hub {name} is running ({len(running)} container(s)): stop it first with "
                           f"`make hub-down` (students' work is kept), then restore")


def used_volumes(client: docker.DockerClient, names: list[str]) -> Iterator[str]:
    for volume_name in names:
        try:
            client.volumes.get(volume_name)
        except docker.errors.NotFound:
            continue
        yield volume_name


def restore(archive: Path, *, overwrite: bool = False, safety_dir: Path = BACKUP_DIR) -> Restored:
    """Put the archive's volumes back (see the module's docstring); the hub must be stopped."""
    archive = archive.resolve()
    manifest = read_manifest(archive)
    name, volumes = manifest["instance"], manifest["volumes"]
    client = docker_client()
    hub_is_stopped(client, name)
    existing = list(used_volumes(client, [volume["name"] for volume in volumes]))
    if existing and not overwrite:
        raise HarnessError(f"{len(existing)} of the archive's volumes exist ({', '.join(existing[:3])}...): "
                           "nothing was changed; restore over them with --overwrite (they are backed up first)")
    safety = backup(name, out_dir=safety_dir) if existing else None
    for volume in volumes:
        if volume["name"] not in existing:
            labels = {**volume["labels"], **instance_labels(name)}
            client.volumes.create(volume["name"], labels=labels)
    mounts = {volume["name"]: {"bind": f"{SOURCE}/{FOLDER}/{volume['name']}", "mode": "rw"} for volume in volumes}
    mounts[str(archive.parent)] = {"bind": TARGET, "mode": "ro"}
    run_helper(client, script=RESTORE_SCRIPT, volumes=mounts, environment={"ARCHIVE": archive.name},
               what=f"the restore of {archive.name}")
    return Restored(volumes=[volume["name"] for volume in volumes], safety_backup=safety)
