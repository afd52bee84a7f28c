"""`harness collect` against a real hub with real students, then grading and `harness export`.

One hub instance for the module, on a random 127.0.0.1 port and with its own name. Five accounts:

  alumno-a   saves the solved notebook before the deadline, then logs out (server stopped)
  alumno-b   saves the unsolved notebook with an edit after the deadline, still logged in
  alumno-c   saves a file that is not a notebook under the lab's name (invalid)
  maría      renames her notebook (missing); a name DockerSpawner escapes in her volume's name
  nunca      never starts a server: no volume at all (missing)

The notebooks reach the volumes as a student's do: through their servers' contents API, with
their own tokens. The volumes are fingerprinted (every file's path, size, mode, mtime, SHA-256)
before and after collecting, through a labelled read-only helper container. Everything the hub
and the helpers created is removed at the end, and checked to be.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import requests

from harness.config import facts
from harness.course import catalog, versions
from harness.engine.containers import project_filter
from harness.grading.collect import COMPONENT, escape_username
from harness.hub.accounts import create_accounts
from harness.hub.client import Hub
from tests.utils.cli import HARNESS, run_to_end
from tests.utils.hub import hub_instance
from tests.utils.jupyter import run_in_image

pytestmark = [pytest.mark.docker, pytest.mark.slow, pytest.mark.timeout(900)]

LAB = catalog.find_lab("00")
STARTED = ["alumno-a", "alumno-b", "alumno-c", "maría"]
NEVER = "nunca"
SPAWN_TIMEOUT_S = 420
SHORT = ["--cell-timeout", "30", "--exercise-timeout", "15", "--budget", "150"]


@pytest.fixture(scope="module")
def hub(docker_engine: docker.DockerClient, cpu_image: str) -> Iterator[Hub]:
    # start_hub saves the operator's token: the CLI finds the running hub's accounts
    with hub_instance(docker_engine, "dl-lab-collecttest", variant="cpu", gpu=False) as started:
        yield started
    helpers = docker_engine.containers.list(all=True, filters=project_filter(COMPONENT))
    assert not helpers, f"collect left its reading containers behind: {[c.name for c in helpers]}"


def put(hub: Hub, user: str, token: str, path: str, *, body: dict[str, Any], method: str = "PUT") -> dict[str, Any]:
    response = requests.request(method, hub.user_url(user, f"api/contents/{path}"), json=body, timeout=60,
                                headers={"Authorization": f"token {token}"})
    assert response.status_code in {200, 201}, f"{method} {path} as {user}: {response.status_code} {response.text[:300]}"
    answer: dict[str, Any] = response.json()
    return answer


def last_modified_ns(answer: dict[str, Any]) -> int:
    """The contents API's last_modified (the file's mtime, to the microsecond) in nanoseconds."""
    moment = dt.datetime.fromisoformat(answer["last_modified"].replace("Z", "+00:00"))
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1) * 1000


@pytest.fixture(scope="module")
def class_work(hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The students' work, saved through their servers; the deadline falls between alumno-a's and alumno-b's saves."""
    generated = tmp_path_factory.mktemp("labs")
    versions.generate(out=generated)
    solved = json.loads((generated / "instructor" / LAB.notebook_name).read_text())
    unsolved = json.loads((generated / "student" / LAB.notebook_name).read_text())
    unsolved["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "Entregado tarde"})

    create_accounts(hub, [*STARTED, NEVER])  # as `harness hub users` does: a random password each
    hub.start_servers(STARTED, timeout_s=SPAWN_TIMEOUT_S)
    tokens = {user: hub.user_token(user, note="test") for user in STARTED}
    notebook = {"type": "notebook", "format": "json"}
    saved = {"alumno-a": last_modified_ns(put(hub, "alumno-a", tokens["alumno-a"], LAB.notebook_name,
                                              body={**notebook, "content": solved}))}
    put(hub, "alumno-c", tokens["alumno-c"], LAB.notebook_name,
        body={"type": "file", "format": "text", "content": "no es JSON"})
    put(hub, "maría", tokens["maría"], LAB.notebook_name, body={"path": "mi-copia.ipynb"}, method="PATCH")
    time.sleep(1.2)
    deadline = dt.datetime.now().astimezone()
    time.sleep(1.2)
    saved["alumno-b"] = last_modified_ns(put(hub, "alumno-b", tokens["alumno-b"], LAB.notebook_name,
                                             body={**notebook, "content": unsolved}))
    for user in ("alumno-a", "maría"):
        hub.stop_server(user)
    return {"deadline": deadline, "saved_ns": saved, "tokens": tokens}


FINGERPRINT = (
    "cd /v && find . -printf '%p|%y|%s|%m|%T@\\n' | sort && "
    "find . -type f -print0 | sort -z | xargs -0 -r sha256sum"
)


def fingerprint(client: docker.DockerClient, volume: str) -> str:
    """Every path, type, size, mode and mtime in the volume, and every file's SHA-256, read through a read-only mount."""
    status, output = run_in_image(client, facts().base_image, ["sh", "-c", FINGERPRINT], network_disabled=True,
                                  volumes={volume: {"bind": "/v", "mode": "ro"}}, entrypoint=[])
    assert status == 0, f"fingerprinting {volume} failed: {output}"
    return output


def volume_of(hub: Hub, user: str) -> str:
    return f"{hub.name}-user-{escape_username(user)}-work"


def harness(*arguments: str) -> subprocess.CompletedProcess[str]:
    return run_to_end([*HARNESS, *arguments], timeout_s=600, environment={"COLUMNS": "200"})


@pytest.fixture(scope="module")
def collected(docker_engine: docker.DockerClient, hub: Hub, class_work: dict[str, Any],
              tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`harness collect 00 --deadline ...` as docs/instructors.md shows it, with the volumes fingerprinted around it."""
    out = tmp_path_factory.mktemp("collect")
    before = {user: fingerprint(docker_engine, volume_of(hub, user)) for user in STARTED}
    result = harness("collect", "00", "--hub", hub.name, "--deadline", class_work["deadline"].isoformat(),
                     "--out", str(out / "collected"), "--reports", str(out / "reports"), "--jobs", "2", *SHORT)
    after = {user: fingerprint(docker_engine, volume_of(hub, user)) for user in STARTED}
    folders = list((out / "collected").iterdir())
    assert len(folders) == 1, f"one dated folder per collection, found {folders}; stderr: {result.stderr[-2000:]}"
    manifest = json.loads((folders[0] / "manifest.json").read_text())
    return {"result": result, "folder": folders[0], "out": out, "before": before, "after": after,
            "manifest": manifest, "students": {s["user"]: s for s in manifest["students"]}}


def test_the_folder_is_dated_and_named_after_the_lab(collected: dict[str, Any]) -> None:
    folder: Path = collected["folder"]
    stamp = dt.datetime.strptime(folder.name.removeprefix("00-"), "%Y%m%d-%H%M%S")
    assert abs((dt.datetime.now() - stamp).total_seconds()) < 900, f"{folder.name} is not today's collection"


@pytest.mark.parametrize(("user", "status", "late"), [
    ("alumno-a", "collected", False),
    ("alumno-b", "collected", True),
    ("alumno-c", "invalid", False),  # not a notebook, but handed in on time
    ("maría", "missing", None),
    (NEVER, "missing", None),
])
def test_each_student_is_accounted_for(collected: dict[str, Any], user: str, status: str, late: bool | None) -> None:
    entry = collected["students"].get(user)
    assert entry is not None, f"{user} is not in the manifest: {sorted(collected['students'])}"
    assert entry["status"] == status, f"{user}: {entry}"
    assert entry["late"] == late, f"{user}: {entry}"
    assert "profesor" not in collected["students"], "the admin is not a student"


@pytest.mark.parametrize("user", ["alumno-a", "alumno-b"])
def test_a_notebook_arrives_with_its_modification_time(collected: dict[str, Any], class_work: dict[str, Any],
                                                       user: str) -> None:
    entry = collected["students"][user]
    copy = collected["folder"] / entry["file"]
    data = copy.read_bytes()
    assert entry["size"] == len(data) and entry["sha256"] == hashlib.sha256(data).hexdigest(), f"{user}: {entry}"
    saved_ns = class_work["saved_ns"][user]
    assert abs(entry["mtime_ns"] - saved_ns) < 1000, (
        f"{user}'s notebook was saved at {saved_ns} ns (the server's last_modified), the manifest says {entry['mtime_ns']}")
    assert copy.stat().st_mtime_ns == entry["mtime_ns"], f"the copy of {user}'s notebook lost its modification time"
    assert dt.datetime.fromisoformat(entry["mtime"]).utcoffset() is not None, "the manifest's time carries its offset"
    assert entry["sha256"] in collected["after"][user], f"the copy of {user}'s notebook differs from the one in the volume"


def test_the_volumes_are_unchanged(collected: dict[str, Any]) -> None:
    for user in STARTED:
        assert collected["before"][user] == collected["after"][user], f"collecting changed {user}'s volume"
        assert collected["before"][user].strip(), f"{user}'s volume fingerprint is empty: the helper read nothing"


def test_missing_and_invalid_students_say_why(hub: Hub, collected: dict[str, Any]) -> None:
    students = collected["students"]
    assert "no work volume" in students[NEVER]["message"], students[NEVER]
    assert LAB.notebook_name in students["maría"]["message"], students["maría"]
    assert students["maría"]["volume"] == volume_of(hub, "maría"), students["maría"]
    assert "not a valid notebook" in students["alumno-c"]["message"], students["alumno-c"]
    summary = collected["manifest"]["summary"]
    assert summary == {"collected": 2, "missing": 2, "invalid": 1, "late": 1}, summary


def test_collect_grades_what_it_collected(collected: dict[str, Any]) -> None:
    result = collected["result"]
    assert result.returncode == 1, f"missing students and unsolved work exit 1, got {result.returncode}: {result.stderr[-1500:]}"
    report = json.loads((collected["out"] / "reports" / "grade-00.json").read_text())
    by_name = {s["name"]: s for s in report["submissions"]}
    assert sorted(by_name) == ["alumno-a", "alumno-b"], f"only the collected notebooks are graded: {sorted(by_name)}"
    solved, unsolved = by_name["alumno-a"], by_name["alumno-b"]
    assert solved["score"] == solved["max_score"] > 0, f"the solved notebook gets full marks: {solved['exercises']}"
    assert unsolved["score"] == 0 and all(e["status"] == "not_attempted" for e in unsolved["exercises"]), unsolved
    for user in ("alumno-b", "maría"):
        assert user in result.stdout, f"the table names {user}"


@pytest.fixture(scope="module")
def exported(collected: dict[str, Any]) -> dict[str, Any]:
    out: Path = collected["out"]
    roster = out / "roster.csv"
    roster.write_text("user,identifier,email,name\nalumno-a,a.alumna,a@uni.es,Alumna A\n"
                      "alumno-b,b.alumno,b@uni.es,Alumno B\nmaría,m.maria,m@uni.es,María Núñez\n", encoding="utf-8")
    result = harness("export", "00", "--reports", str(out / "reports"), "--roster", str(roster), "--moodle-id", "idnumber",
                     "--late-penalty", "10%/day")
    assert result.returncode == 0, f"export failed: {result.stderr}"
    return {"folder": out / "reports" / "export-00", "result": result}


def test_export_after_collect(exported: dict[str, Any]) -> None:
    folder: Path = exported["folder"]
    moodle = (folder / "moodle.csv").read_text(encoding="utf-8").splitlines()
    assert moodle[0] == "ID number,Full name,Práctica 00: Introducción a PyTorch,Feedback", moodle
    assert moodle[1].startswith("a.alumna,Alumna A,10.0,"), moodle
    assert moodle[2].startswith("b.alumno,Alumno B,0.0,"), moodle  # late, but nothing to take from 0 points
    assert moodle[3] == "m.maria,María Núñez,,No presentado", "the roster's student without a notebook: No presentado"
    left_out = (folder / "not-imported.csv").read_text(encoding="utf-8-sig")
    assert "alumno-c" in left_out and "not a notebook" in left_out, left_out
    assert "nunca" in left_out and "not in the roster" in left_out, left_out
    late = (folder / "feedback" / "alumno-b.md").read_text(encoding="utf-8")
    on_time = (folder / "feedback" / "alumno-a.md").read_text(encoding="utf-8")
    assert "fuera de plazo" in late and "de retraso" in late and "dentro de plazo" in on_time, (
        "the feedback says when the work was handed in")


def test_collect_no_grade_with_a_roster(docker_engine: docker.DockerClient, hub: Hub, class_work: dict[str, Any],
                                        tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("user,identifier\nalumno-a,a\nbaja,b\n", encoding="utf-8")
    result = harness("collect", "00", "--hub", hub.name, "--roster", str(roster), "--no-grade", "--out", str(tmp_path))
    assert result.returncode == 1, f"missing students exit 1: {result.returncode} {result.stderr[-800:]}"
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    students = {s["user"]: s for s in json.loads((folder / "manifest.json").read_text())["students"]}
    assert students["baja"]["status"] == "missing", "a roster student with no volume is missing"
    assert students["alumno-a"]["late"] is None, "without a deadline nothing is late"
    assert not (tmp_path / "grade-00.json").exists()
