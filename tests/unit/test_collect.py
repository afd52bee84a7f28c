"""`harness collect` without Docker: volume names, deadlines, the engine's times, file names.

The escaped names are the ones DockerSpawner 14 produces (escapism.escape with the safe characters
[a-z0-9] and '-' as escape character, then lower-cased), computed with the hub image's own
escapism for these users.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from rich.console import Console

from harness.commands.collect import print_collection
from harness.course import catalog
from harness.errors import HarnessError
from harness.grading.collect import (
    Collected,
    Collection,
    epoch_ns,
    escape_username,
    parse_deadline,
    parse_engine_time,
    unescape_username,
)
from harness.grading.file_names import file_stem

SPAWNER_NAMES = [  # user, DockerSpawner's {username} in volume names
    ("alumno01", "alumno01"),
    ("ana-maría", "ana-2dmar-c3-ada"),
    ("Bob", "-42ob"),
    ("x_y.z", "x-5fy-2ez"),
    ("ü@e", "-c3-bc-40e"),
    ("=cmd", "-3dcmd"),
]


@pytest.mark.parametrize(("user", "escaped"), SPAWNER_NAMES)
def test_volume_names_follow_dockerspawner(user: str, escaped: str) -> None:
    assert escape_username(user) == escaped, f"the hub names {user!r}'s volume with {escaped!r}"
    assert unescape_username(escaped) == user, f"{escaped!r} is {user!r}'s volume"


UTC = dt.UTC
MADRID_WINTER = dt.timezone(dt.timedelta(hours=1))


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-12-01T23:59+01:00", dt.datetime(2026, 12, 1, 23, 59, tzinfo=MADRID_WINTER)),
    ("2026-12-01T22:59Z", dt.datetime(2026, 12, 1, 22, 59, tzinfo=UTC)),
    ("2026-12-01 23:59:30+00:00", dt.datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)),
    ("2026-12-01T23:59", dt.datetime(2026, 12, 1, 23, 59).astimezone()),  # local time
])
def test_deadlines(text: str, expected: dt.datetime) -> None:
    parsed = parse_deadline(text)
    assert parsed == expected and parsed.tzinfo is not None, f"{text!r} read as {parsed}"


@pytest.mark.parametrize("text", ["mañana", "2026-13-01T00:00", "01/12/2026 23:59", ""])
def test_a_bad_deadline_says_how_to_write_one(text: str) -> None:
    with pytest.raises(HarnessError, match="2026-12-01T23:59"):
        parse_deadline(text)


@pytest.mark.parametrize(("text", "ns"), [
    ("2026-01-02T03:04:05.123456789Z", epoch_ns(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) + 123_456_789),
    ("2026-01-02T03:04:05Z", epoch_ns(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))),
    ("2026-01-02T04:04:05.5+01:00", epoch_ns(dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) + 500_000_000),
])
def test_engine_times_keep_nanoseconds(text: str, ns: int) -> None:
    assert parse_engine_time(text) == ns


@pytest.mark.parametrize(("users", "expected"), [
    (["alumno01"], ["alumno01"]),
    (["maría"], ["maría"]),
    (["Ana", "ana"], ["Ana", "ana-2"]),
    (["../x"], ["x"]),
    ([".oculto"], ["oculto"]),
    (["-x", "+y", "=z"], ["x", "y", "z"]),  # never taken for an option on a command line
    (["x", "../x"], ["x", "x-2"]),
])
def test_copies_get_safe_file_names(users: list[str], expected: list[str]) -> None:
    taken: set[str] = set()
    assert [file_stem(u, taken) for u in users] == expected


def test_the_table_shows_names_verbatim(tmp_path: Path) -> None:
    lab = catalog.find_lab("00")
    collection = Collection(lab=lab, hub="h", folder=tmp_path / "[red]x[/red]", collected_at=dt.datetime.now().astimezone(),
                            deadline=None)
    collection.students = [Collected(user="[bold]ana[/bold]", status="missing", volume="v", source_path="v:/x",
                                     message="no [i]00-introduccion.ipynb[/i]")]
    console = Console(record=True, width=250)
    print_collection(console, collection)
    text = console.export_text()
    for shown in ("[bold]ana[/bold]", "no [i]00-introduccion.ipynb[/i]", "[red]x[/red]"):
        assert shown in text, f"{shown!r} was read as markup: {text}"
