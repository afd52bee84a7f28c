"""Students' work is never lost: `make clean` keeps it, backup and restore carry it, purge asks first.

A hub instance's volumes are made directly (a data volume with a real SQLite database, two
students' work volumes with files owned by the notebook user), labelled as the hub labels them, so
that these checks need no running hub. Everything is removed at the end, and checked to be.
"""

from __future__ import annotations

import os
import secrets
import stat
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import pytest

from harness.commands.clean import KEPT
from harness.config import facts
from harness.engine.containers import remove_project_resources, running_container
from harness.errors import HarnessError
from harness.hub import backup
from harness.hub.instance import instance_resources, purge_hub
from harness.hub.settings import instance_labels
from harness.images.hub_image import build as build_hub_image
from tests.utils.cli import HARNESS, assert_one_error_line, run_to_end
from tests.utils.jupyter import run_in_image

pytestmark = [pytest.mark.docker, pytest.mark.timeout(600)]

STUDENTS = ("ana", "bea")
RUN_LABEL = "org.dl-lab.test-run"
CLI_TIMEOUT_S = 300
# Every entry under the mounted volumes: path, owner, group, mode, size and a content hash; a SQLite
# database by its rows (a backup copies it with SQLite's backup API: same rows, other bytes).
LISTING = (
    "cd /v && find . -mindepth 1 ! -name '*.sqlite' -printf '%p %U %G %m %s\\n' | sort"
    " && find . -name '*.sqlite' -printf '%p %U %G %m\\n' | sort"
    " && find . -type f ! -name '*.sqlite' -exec sha256sum {} + | sort"
    " && python3 -c \"import glob, sqlite3; [print(p, list(sqlite3.connect(p).iterdump()))"
    " for p in sorted(glob.glob('*/*.sqlite'))]\""
)
SEED = (
    "set -e\n"
    "python3 -c \"import sqlite3; db = sqlite3.connect('/v/{data}/jupyterhub.sqlite'); "
    "db.execute('create table users (name text)'); db.executemany('insert into users values (?)', "
    "[('ana',), ('bea',)]); db.commit()\"\n"
    "printf 'hash' > /v/{data}/passwords.dbm && chmod 600 /v/{data}/passwords.dbm\n"
    "for s in {students}; do\n"
    "  mkdir -p /v/{prefix}-$s-work/sub && printf 'Mi respuesta de %s' $s > /v/{prefix}-$s-work/00.ipynb\n"
    "  printf 'apuntes' > /v/{prefix}-$s-work/sub/notas.txt\n"
    "  chown -R {uid}:{gid} /v/{prefix}-$s-work && chmod 640 /v/{prefix}-$s-work/sub/notas.txt\n"
    "done\n"
)


@dataclass(frozen=True)
class Instance:
    name: str
    run: str  # the test run's own label value, on every resource made here

    @property
    def data(self) -> str:
        return f"{self.name}-data"

    def work(self, student: str) -> str:
        return f"{self.name}-user-{student}-work"

    @property
    def volumes(self) -> list[str]:
        return [self.data, *(self.work(student) for student in STUDENTS)]


def in_volumes(client: docker.DockerClient, image: str, instance: Instance, script: str) -> str:
    """Run a shell script as root with the instance's volumes at /v/<name>; its output."""
    mounts = {name: {"bind": f"/v/{name}", "mode": "rw"} for name in instance.volumes}
    status, output = run_in_image(client, image, ["sh", "-c", script], volumes=mounts, user="0", network_mode="none",
                                  labels={RUN_LABEL: instance.run})
    assert status == 0, f"the helper failed: {output}"
    return output


def listing(client: docker.DockerClient, image: str, instance: Instance) -> str:
    return in_volumes(client, image, instance, LISTING)


@pytest.fixture(scope="module")
def hub_image(docker_engine: docker.DockerClient) -> str:
    return build_hub_image()  # seconds from the layer cache; the backup's helper runs it


@pytest.fixture
def instance(docker_engine: docker.DockerClient, hub_image: str) -> Iterator[Instance]:
    made = Instance(f"dl-lab-hubtest-{secrets.token_hex(3)}", secrets.token_hex(4))
    try:
        for name in made.volumes:
            docker_engine.volumes.create(name, labels={**instance_labels(made.name), RUN_LABEL: made.run})
        in_volumes(docker_engine, hub_image, made, SEED.format(
            data=made.data, students=" ".join(STUDENTS), prefix=f"{made.name}-user", uid=facts().nb_uid,
            gid=facts().nb_gid))
        yield made
    finally:
        purge_hub(made.name)
        left = instance_resources(docker_engine, made.name)
        assert not left, f"purging the test instance left: {left}"


def cli(*arguments: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return run_to_end([*HARNESS, *arguments], timeout_s=CLI_TIMEOUT_S, stdin=stdin)


def test_make_clean_keeps_the_hubs_volumes(docker_engine: docker.DockerClient, hub_image: str,
                                           instance: Instance) -> None:
    """What `harness clean` removes, narrowed to this test's resources (others' tests may be running)."""
    other = docker_engine.volumes.create(f"{instance.name}-other", labels={**facts().labels("lab"),
                                                                           RUN_LABEL: instance.run})
    before = listing(docker_engine, hub_image, instance)
    removed = remove_project_resources(keep_components=KEPT, labels={RUN_LABEL: instance.run})
    assert removed == 1, f"clean removed {removed} resource(s); only the lab volume {other.name} was removable"
    kept = {volume.name for volume in docker_engine.volumes.list(filters={"label": f"{RUN_LABEL}={instance.run}"})}
    assert kept == set(instance.volumes), f"after clean, the hub's volumes are {sorted(kept)}"
    assert listing(docker_engine, hub_image, instance) == before, "clean changed the students' files"


def test_backup_then_restore_gives_back_every_file(docker_engine: docker.DockerClient, hub_image: str,
                                                   instance: Instance, tmp_path: Path) -> None:
    before = listing(docker_engine, hub_image, instance)
    archive = backup.backup(instance.name, out_dir=tmp_path)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600, f"{archive} is readable by others"
    assert archive.stat().st_uid == os.getuid(), "the archive is not owned by who made it"
    with tarfile.open(archive, "r:gz") as tar:
        assert tar.next().name == "manifest.json", "the manifest is not first"  # type: ignore[union-attr]
    purge_hub(instance.name)
    assert not instance_resources(docker_engine, instance.name), "purge left volumes"

    result = cli("hub", "restore", str(archive))
    assert result.returncode == 0, f"`harness hub restore` failed: {result.stderr}"
    after = listing(docker_engine, hub_image, instance)
    assert after == before, f"restored files differ:\nbefore:\n{before}\nafter:\n{after}"
    labels = docker_engine.volumes.get(instance.work("ana")).attrs["Labels"]
    assert labels.items() >= instance_labels(instance.name).items(), f"a restored volume lost its labels: {labels}"


def test_restore_leaves_existing_volumes_alone(docker_engine: docker.DockerClient, hub_image: str,
                                               instance: Instance, tmp_path: Path) -> None:
    archive = backup.backup(instance.name, out_dir=tmp_path)
    in_volumes(docker_engine, hub_image, instance, f"printf 'newer work' > /v/{instance.work('ana')}/00.ipynb")
    newer = listing(docker_engine, hub_image, instance)
    with pytest.raises(HarnessError, match="nothing was changed"):
        backup.restore(archive, safety_dir=tmp_path)
    assert listing(docker_engine, hub_image, instance) == newer, "a refused restore changed the volumes"


def test_restore_over_volumes_backs_them_up_first(docker_engine: docker.DockerClient, hub_image: str,
                                                  instance: Instance, tmp_path: Path) -> None:
    archive = backup.backup(instance.name, out_dir=tmp_path / "first")
    original = listing(docker_engine, hub_image, instance)
    work = instance.work("ana")
    in_volumes(docker_engine, hub_image, instance,
               f"printf 'newer work' > /v/{work}/00.ipynb && printf 'new' > /v/{work}/nuevo.txt")
    restored = backup.restore(archive, overwrite=True, safety_dir=tmp_path / "safety")
    assert restored.safety_backup is not None, "--overwrite did not back the volumes up first"
    with tarfile.open(restored.safety_backup, "r:gz") as tar:
        saved = tar.extractfile(f"volumes/{work}/00.ipynb")
        assert saved is not None and saved.read() == b"newer work", "the safety backup lacks the newer work"
    after = listing(docker_engine, hub_image, instance)
    assert f"./{work}/nuevo.txt" in after, "a file the archive does not have was deleted"
    restored_lines = [line for line in after.splitlines() if "/nuevo.txt" not in line]
    assert restored_lines == original.splitlines(), "the archive's files were not put back as they were"


def test_restore_refuses_while_the_hub_runs(docker_engine: docker.DockerClient, hub_image: str, instance: Instance,
                                            tmp_path: Path) -> None:
    archive = backup.backup(instance.name, out_dir=tmp_path)
    with running_container(docker_engine, hub_image, component="hub", command=["sleep", "60"],
                           labels={**instance_labels(instance.name), RUN_LABEL: instance.run}):
        result = cli("hub", "restore", "--overwrite", str(archive))
    assert_one_error_line(result, "make hub-down", what="restoring under a running hub")


@pytest.mark.parametrize("stdin", ["", "{name}\n"], ids=["no-input", "piped-name"])  # piped: not a person
def test_purge_without_confirmation_deletes_nothing(docker_engine: docker.DockerClient, instance: Instance,
                                                    stdin: str) -> None:
    result = cli("hub", "purge", "--name", instance.name, stdin=stdin.format(name=instance.name))
    assert_one_error_line(result, "run it in a terminal to confirm, or pass --yes", what="an unconfirmed purge")
    volumes = {v.name for v in docker_engine.volumes.list(filters={"label": f"{RUN_LABEL}={instance.run}"})}
    assert volumes == set(instance.volumes), f"an unconfirmed purge deleted volumes: left {sorted(volumes)}"


def test_purge_with_yes_deletes_the_instance(docker_engine: docker.DockerClient, instance: Instance) -> None:
    result = cli("hub", "purge", "--name", instance.name, "--yes")
    assert result.returncode == 0, f"`harness hub purge --yes` failed: {result.stderr}"
    assert not instance_resources(docker_engine, instance.name), "purge --yes left the instance's resources"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["backup", "--name", "dl-lab-hubtest-nothing-here"], "has no volumes"),
        (["restore", "README.md"], "cannot be read as a hub backup"),
        (["restore", "no-such-archive.tar.gz"], "is not a file"),
        (["down", "--volumes", "--name", "dl-lab-hubtest-nothing-here"], "harness hub purge"),
        (["users", "--name", "dl-lab-hubtest-nothing-here"], "no user names"),
        (["users", "--file", "no-such-class.txt"], "does not exist"),
        (["users", "ana maria", "--name", "dl-lab-hubtest-nothing-here"], "contains a space"),
        (["users", "ana", "--name", "dl-lab-hubtest-nothing-here"], "is not running"),
        (["up", "--name", "dl-lab-hubtest-nothing-here", "--variant", "cpu", "--gpu-memory-fraction", "1.5"],
         "fraction of a GPU's memory"),
    ],
)
def test_hub_commands_say_what_to_fix(docker_engine: docker.DockerClient, cpu_image: str, arguments: list[str],
                                      message: str) -> None:
    result = cli("hub", *arguments)
    assert_one_error_line(result, message, what=f"`harness hub {' '.join(arguments)}`")
