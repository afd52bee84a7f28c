"""Collect the students' notebooks of one lab from the hub's work volumes, read-only.

The hub (deploy/jupyterhub/jupyterhub_config.py) gives each student a named volume
`{prefix}-{username}-work`, mounted at ~/work, where {username} is DockerSpawner's escaped form
of the account name, and labels it with the instance label. To read a notebook, the volumes are
mounted read-only into a labelled container that is created but never started, and the file is
copied out with get_archive, which also reports its modification time to the nanosecond. No
process runs against the volumes and nothing is written to them.

The copies land in a dated folder (`collected/LAB-YYYYmmdd-HHMMSS/<user>.ipynb`, with the
original modification time) beside `manifest.json`: for every student the source, the time the
notebook was last modified, its size, SHA-256, and whether it came after the deadline. A student
the hub knows (or the roster lists) without a notebook is listed as missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import logging
import os
import re
import string
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import requests
from docker.models.containers import Container

from harness.config import facts
from harness.course import catalog
from harness.course.catalog import Lab
from harness.engine.containers import docker_client, image_exists
from harness.engine.waiting import first_line
from harness.errors import HarnessError
from harness.grading.file_names import file_stem
from harness.grading.manifest import MANIFEST_NAME, MANIFEST_SCHEMA
from harness.hub.settings import HubSettings, hub_setting_of, instance_filter, student_label

log = logging.getLogger(__name__)

COMPONENT = "collect"
# A notebook larger than this is not copied (a student's file could be anything).
MAX_NOTEBOOK_BYTES = 50_000_000
# Volumes mounted into one reading container.
MOUNTS_PER_CONTAINER = 64
MOUNT_ROOT = "/dl-lab-collect"
STATUSES = ("collected", "missing", "invalid")

# DockerSpawner's escaping of {username}: [a-z0-9] kept, every other character as '-' and the
# hex of each of its UTF-8 bytes, all lower-case (escapism with escape_char='-').
_SAFE = frozenset(string.ascii_lowercase + string.digits)
_ESCAPED = re.compile(r"(?:-[0-9a-f]{2})+")
# Go's os.FileMode type bits, as the engine reports them in the archive's stat header.
_NOT_REGULAR = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)
_RFC3339 = re.compile(r"^(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?(?P<zone>Z|[+-]\d\d:\d\d)$")
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def escape_username(user: str) -> str:
    """The name DockerSpawner puts in a student's container and volume names."""
    return "".join(c if c in _SAFE else "".join(f"-{b:02x}" for b in c.encode()) for c in user)


def unescape_username(escaped: str) -> str:
    """The account name back from its escaped form (escape_username's inverse)."""
    def decode(match: re.Match[str]) -> str:
        return bytes(int(part, 16) for part in match.group(0).split("-")[1:]).decode(errors="replace")

    return _ESCAPED.sub(decode, escaped)


def parse_deadline(text: str) -> dt.datetime:
    """An ISO 8601 time, local unless it carries an offset: 2026-12-01T23:59 or 2026-12-01T23:59+01:00."""
    try:
        moment = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise HarnessError(f"--deadline {text!r} is not a date and time: write it as 2026-12-01T23:59 (local time) "
                           "or 2026-12-01T23:59+01:00") from None
    return moment.astimezone() if moment.tzinfo is None else moment


def epoch_ns(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // dt.timedelta(microseconds=1) * 1000


def parse_engine_time(text: str) -> int:
    """Nanoseconds since the epoch of the engine's RFC 3339 time (2026-01-02T03:04:05.123456789Z)."""
    match = _RFC3339.match(text)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    zone = "+00:00" if match["zone"] == "Z" else match["zone"]
    seconds = dt.datetime.fromisoformat(match["base"] + zone)
    fraction = (match["frac"] or "").ljust(9, "0")[:9]
    return epoch_ns(seconds) + int(fraction)


def local_time(ns: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).astimezone()


# ---- where the students' work is -----------------------------------------------------------------
@dataclass(frozen=True)
class HubVolumes:
    """The student volumes of one hub instance, by account name, and the hub's admin accounts."""

    prefix: str
    volumes: dict[str, str]
    admins: frozenset[str]

    def volume_of(self, user: str) -> str:
        return self.volumes.get(user, f"{self.prefix}-{escape_username(user)}-work")


def hub_volumes(client: docker.DockerClient, hub: str) -> HubVolumes:
    """The volumes `{prefix}-{user}-work` carrying the hub instance's label."""
    settings = HubSettings(name=hub)
    prefix, admins = settings.prefix, settings.admin
    try:
        container = client.containers.get(hub)
        prefix = hub_setting_of(container, "DL_LAB_PREFIX") or prefix
        admins = hub_setting_of(container, "DL_LAB_ADMIN_USERS") or admins
    except docker.errors.NotFound:
        log.debug("the hub container %s is not there; its volumes are named with the prefix %s", hub, prefix)
    start, end = f"{prefix}-", "-work"
    found: dict[str, str] = {}
    for volume in client.volumes.list(filters=instance_filter(hub)):
        name = str(volume.name)
        if name.startswith(start) and name.endswith(end) and len(name) > len(start) + len(end):
            # The spawner labels each volume with its student (student_label()); older volumes have only their name.
            labels = (volume.attrs or {}).get("Labels") or {}
            found[labels.get(student_label()) or unescape_username(name[len(start):-len(end)])] = name
    return HubVolumes(prefix=prefix, volumes=found,
                      admins=frozenset(a.strip() for a in admins.split(",") if a.strip()))


def reader_image(client: docker.DockerClient) -> str:
    """An image that is in the engine, for the container that mounts the volumes (it never runs)."""
    f = facts()
    candidates = [f.base_image, f.image("cpu"), f.image("cuda")]
    for reference in candidates:
        if image_exists(client, reference):
            return reference
    raise HarnessError(f"none of {', '.join(candidates)} is in this Docker engine: build one ('make base' or "
                       "'make image-cpu') to read the students' volumes with")


# ---- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fetched:
    data: bytes
    mtime_ns: int


def _chunks(items: list[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _read_member(container: Container, path: str) -> Fetched | str:
    """The file at path in the (stopped) container, or why it cannot be collected."""
    try:
        stream, stat = container.get_archive(path)
    except docker.errors.NotFound:
        return "missing"
    if int(stat.get("mode", 0)) & _NOT_REGULAR:
        return "invalid: not a regular file (a folder or a link)"
    if int(stat.get("size", 0)) > MAX_NOTEBOOK_BYTES:
        return f"invalid: {int(stat['size']) / 1e6:.0f} MB, larger than {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB"
    buffer = io.BytesIO()
    for chunk in stream:
        buffer.write(chunk)
        if buffer.tell() > MAX_NOTEBOOK_BYTES + 1_000_000:
            return "invalid: larger than the limit"
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        member = tar.next()
        extracted = tar.extractfile(member) if member is not None and member.isfile() else None
        if member is None or extracted is None:
            return "invalid: not a regular file"
        data = extracted.read()
        tar_mtime_ns = int(member.mtime * 1_000_000_000)
    try:
        mtime_ns = parse_engine_time(str(stat.get("mtime", "")))
    except ValueError:
        mtime_ns = tar_mtime_ns
    return Fetched(data=data, mtime_ns=mtime_ns)


def read_notebooks(client: docker.DockerClient, volumes: dict[str, str], notebook_name: str) -> dict[str, Fetched | str]:
    """For each user, their volume's notebook (or why not), read through read-only mounts."""
    image = reader_image(client)
    results: dict[str, Fetched | str] = {}
    for batch in _chunks(sorted(volumes.items()), MOUNTS_PER_CONTAINER):
        # Read-only, and nocopy: the engine never copies the image's files into a volume.
        binds = {volume: {"bind": f"{MOUNT_ROOT}/{index}", "mode": "ro,nocopy"} for index, (_, volume) in enumerate(batch)}
        try:
            container = client.containers.create(image, command=["true"], entrypoint=[], volumes=binds,
                                                  network_disabled=True, labels=facts().labels(COMPONENT),
                                                  name=f"dl-lab-collect-{os.urandom(4).hex()}")
        except docker.errors.APIError as error:
            raise HarnessError(f"could not mount the students' volumes read-only: {first_line(error)}") from None
        try:
            for index, (user, _) in enumerate(batch):
                results[user] = _read_member(container, f"{MOUNT_ROOT}/{index}/{notebook_name}")
        except (docker.errors.APIError, requests.exceptions.RequestException) as error:
            raise HarnessError(f"reading the students' volumes failed: {first_line(error)}") from None
        finally:
            # Never started; removing it leaves the named volumes as they are.
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
    return results


# ---- the collection --------------------------------------------------------------------------------
@dataclass
class Collected:
    """One student's entry in the manifest."""

    user: str
    status: str  # one of STATUSES
    volume: str
    source_path: str
    file: str | None = None  # relative to the collection folder
    mtime_ns: int | None = None
    size: int | None = None
    sha256: str | None = None
    late: bool | None = None
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "user": self.user, "status": self.status, "volume": self.volume, "source_path": self.source_path,
            "file": self.file, "mtime": None if self.mtime_ns is None else local_time(self.mtime_ns).isoformat(),
            "mtime_ns": self.mtime_ns, "size": self.size, "sha256": self.sha256, "late": self.late,
            "message": self.message,
        }


@dataclass
class Collection:
    lab: Lab
    hub: str
    folder: Path
    collected_at: dt.datetime
    deadline: dt.datetime | None
    students: list[Collected] = field(default_factory=list)

    def with_status(self, status: str) -> list[Collected]:
        return [s for s in self.students if s.status == status]

    @property
    def late(self) -> list[Collected]:
        return [s for s in self.students if s.late]

    def manifest(self) -> dict[str, Any]:
        return {
            "schema": MANIFEST_SCHEMA, "lab": self.lab.id, "notebook": self.lab.notebook_name, "hub": self.hub,
            "collected_at": self.collected_at.isoformat(timespec="seconds"),
            "deadline": None if self.deadline is None else self.deadline.isoformat(),
            "summary": {status: len(self.with_status(status)) for status in STATUSES} | {"late": len(self.late)},
            "students": [s.as_dict() for s in self.students],
        }


def new_folder(out: Path, lab: Lab, now: dt.datetime) -> Path:
    base = out / f"{lab.id}-{now.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    for number in range(1, 1000):
        folder = base if number == 1 else base.with_name(f"{base.name}-{number}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        return folder
    raise HarnessError(f"{out} has a thousand collections of lab {lab.id} from this second: give another --out")


def _record(entry: Collected, fetched: Fetched, folder: Path, stem: str, deadline_ns: int | None) -> None:
    path = folder / f"{stem}.ipynb"
    path.write_bytes(fetched.data)
    os.utime(path, ns=(fetched.mtime_ns, fetched.mtime_ns))
    entry.file, entry.mtime_ns, entry.size = path.name, fetched.mtime_ns, len(fetched.data)
    entry.sha256 = hashlib.sha256(fetched.data).hexdigest()
    entry.late = None if deadline_ns is None else fetched.mtime_ns > deadline_ns
    try:
        catalog.read_notebook(path)
        entry.status = "collected"
    except HarnessError as error:
        entry.status, entry.message = "invalid", str(error).replace(f"{path}: ", "")


def collect(lab: Lab, *, hub: str, out: Path, deadline: dt.datetime | None = None, expected: Iterable[str] = (),
            now: dt.datetime | None = None) -> Collection:
    """Copy every student's notebook of `lab` from the hub's volumes into a new dated folder under `out`.

    `expected`: accounts that must have a notebook (the hub's users, a roster); those without a
    volume or without the notebook are listed as missing.
    """
    client = docker_client()
    found = hub_volumes(client, hub)
    users = sorted((set(found.volumes) | set(expected)) - found.admins)
    if not users:
        raise HarnessError(f"the hub {hub} has no student volumes (named {found.prefix}-<user>-work) and no students were "
                           "given: check the hub's name (--hub) or give the class list (--roster)")
    fetched = read_notebooks(client, {u: found.volumes[u] for u in users if u in found.volumes}, lab.notebook_name)
    moment = (now or dt.datetime.now()).astimezone()
    collection = Collection(lab=lab, hub=hub, folder=new_folder(out, lab, moment), collected_at=moment, deadline=deadline)
    deadline_ns = None if deadline is None else epoch_ns(deadline)
    taken: set[str] = set()
    for user in users:
        volume = found.volume_of(user)
        entry = Collected(user=user, status="missing", volume=volume, source_path=f"{volume}:/{lab.notebook_name}")
        result = fetched.get(user, "missing")
        if user not in found.volumes:
            entry.message = "no work volume: the student never started a server"
        elif isinstance(result, Fetched):
            _record(entry, result, collection.folder, file_stem(user, taken), deadline_ns)
        elif result == "missing":
            entry.message = f"no {lab.notebook_name} in the work folder"
        else:
            entry.status, entry.message = "invalid", result.removeprefix("invalid: ")
        collection.students.append(entry)
    (collection.folder / MANIFEST_NAME).write_text(json.dumps(collection.manifest(), ensure_ascii=False, indent=2) + "\n")
    log.info("collected %d notebook(s) of lab %s into %s", len(collection.with_status("collected")), lab.id,
             collection.folder)
    return collection
