"""When each notebook was handed in (the collection's manifest) and what lateness costs (--late-penalty).

The penalty follows Canvas's late policy (app/models/late_policy.rb, LatePolicy#points_deducted), so
that the same words mean the same thing in both places: a percentage of the points possible is
deducted for each started interval (day or hour) after the deadline, and never more than brings the
grade down to the minimum percentage (`min=`, default 0). `10%/day` takes 1 of 10 points for a
notebook 5 minutes late and 2 for one 25 hours late; `10%/day,min=50%` never takes a grade below 5
of 10, nor lowers one that was already below it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.grading.grades import number_es, round_half_up
from harness.grading.manifest import read_manifest

INTERVALS = {"day": dt.timedelta(days=1), "hour": dt.timedelta(hours=1)}
_POLICY = re.compile(r"^\s*(?P<percent>\d+(?:[.,]\d+)?)\s*%\s*/\s*(?P<interval>day|hour)\s*"
                     r"(?:,\s*min\s*=\s*(?P<minimum>\d+(?:[.,]\d+)?)\s*%)?\s*$", re.IGNORECASE)
_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Delivery:
    """One student's entry in a collection's manifest: handed in or not, when, and by how much after the deadline."""

    status: str  # collected, missing or invalid (harness.grading.collect.STATUSES)
    mtime: dt.datetime | None = None
    late: bool | None = None
    late_by: dt.timedelta | None = None  # None: no deadline, or not late

    @property
    def late_text_es(self) -> str:
        if self.late_by is None:
            return ""
        return duration_es(self.late_by)


def duration_es(delay: dt.timedelta) -> str:
    """A delay in Spanish: '1 día, 3 h y 5 min', '40 s'."""
    seconds = math.ceil(delay.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} día" + ("s" if days != 1 else "")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes else []
    parts += [f"{secs} s"] if secs and not days and not hours else []
    if not parts:
        return "0 s"
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " y " + parts[-1]


@dataclass(frozen=True)
class LatePolicy:
    """--late-penalty: `percent` of the points possible per started `interval`, never below `minimum_percent`."""

    percent: Decimal
    interval: str
    minimum_percent: Decimal = Decimal(0)

    def points_deducted(self, *, points: Decimal, possible: Decimal, late_by: dt.timedelta | None) -> Decimal:
        """Canvas's LatePolicy#points_deducted: the deduction in points, 0 when on time."""
        if late_by is None or late_by <= dt.timedelta(0) or possible <= 0:
            return Decimal(0)
        intervals = math.ceil(late_by / INTERVALS[self.interval])
        raw_percent = points * _HUNDRED / possible
        maximum = max(raw_percent - self.minimum_percent, Decimal(0))
        return round_half_up(possible * min(self.percent * intervals, maximum) / _HUNDRED, 4).normalize()

    @property
    def text_es(self) -> str:
        interval = {"day": "día", "hour": "hora"}[self.interval]
        floor = f", sin bajar del {number_es(self.minimum_percent)} %" if self.minimum_percent else ""
        return f"{number_es(self.percent)} % de la nota máxima por {interval} o fracción de retraso{floor}"


def parse_late_penalty(text: str) -> LatePolicy:
    """'10%/day', '2,5%/hour', '10%/day,min=50%'; a one-line error for anything else."""
    match = _POLICY.match(text)
    if match is None:
        raise HarnessError(f"--late-penalty {text!r}: write the percentage of the maximum grade lost per started day "
                           "or hour, e.g. 10%/day, optionally with the lowest grade it may leave, e.g. 10%/day,min=50%")
    percent = Decimal(match["percent"].replace(",", "."))
    minimum = Decimal((match["minimum"] or "0").replace(",", "."))
    if percent > _HUNDRED or minimum > _HUNDRED:
        raise HarnessError(f"--late-penalty {text!r}: percentages go from 0 to 100")
    return LatePolicy(percent=percent, interval=match["interval"].lower(), minimum_percent=minimum)


def _moment(value: Any) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _delivery(entry: dict[str, Any], deadline: dt.datetime | None) -> Delivery:
    mtime = _moment(entry.get("mtime"))
    late = entry.get("late")
    late_by = None
    if mtime is not None and deadline is not None and mtime > deadline:
        late_by = mtime - deadline
    return Delivery(status=str(entry.get("status")), mtime=mtime, late=late if isinstance(late, bool) else None,
                    late_by=late_by)


def deliveries(folders: set[Path]) -> dict[str, Delivery]:
    """Every student of the collections in these folders (those with a manifest.json), by hub user name."""
    found: dict[str, Delivery] = {}
    for folder in sorted(folders):
        manifest = read_manifest(folder)
        if manifest is None:
            continue
        deadline = _moment(manifest.get("deadline")) if manifest.get("deadline") else None
        for entry in manifest.get("students", []):
            if isinstance(entry, dict) and isinstance(entry.get("user"), str):
                found[entry["user"]] = _delivery(entry, deadline)
    return found
