"""What a lab's export is made of: the graded results, the people they belong to, and each student's mark.

A Mark is one student's line in the records: the grade on the chosen scale after the late penalty,
or "No presentado" for a student who handed in nothing, or nothing for a file that was not a
notebook (to grade by hand). Every file of `harness export` and `harness gradebook` is written from
Marks, so they all say the same thing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from harness.grading.grades import GradeScale, decimal
from harness.grading.late import Delivery, LatePolicy


@dataclass(frozen=True)
class ExerciseResult:
    id: str
    title: str
    status: str
    score: float
    max_score: float
    message: str


@dataclass(frozen=True)
class StudentResult:
    name: str
    status: str
    score: float
    max_score: float
    exercises: tuple[ExerciseResult, ...]
    notebook: str = ""
    # For the instructor only: what the kernel reported and what the judge read in the source.
    evidence: tuple[str, ...] = ()
    static_evidence: tuple[dict[str, Any], ...] = ()

    @property
    def passed(self) -> int:
        return sum(e.status == "passed" for e in self.exercises)


@dataclass(frozen=True)
class GradeReport:
    lab: str
    created: str
    students: tuple[StudentResult, ...]
    path: Path
    similarity: dict[str, Any] | None = None  # the class similarity section (harness.grading.similarity)

    @property
    def max_points(self) -> Decimal:
        return max((decimal(s.max_score) for s in self.students), default=Decimal(0))

    @property
    def collections(self) -> set[Path]:
        """The folders the notebooks came from (a `harness collect` folder holds a manifest.json)."""
        return {Path(s.notebook).parent for s in self.students if s.notebook}


@dataclass(frozen=True)
class Person:
    """How the LMS knows a hub user (without a roster: by the hub user name)."""

    user: str
    identifier: str = ""
    email: str = ""
    name: str = ""
    section: str = ""
    canvas_id: str = ""
    sis_user_id: str = ""
    login: str = ""

    @property
    def display_name(self) -> str:
        return self.name or self.user


def person_for(people: dict[str, Person], user: str) -> Person:
    """The roster's entry for a hub user (the hub keeps names in lower case: compared without case)."""
    found = people.get(user.lower())
    return Person(user=user) if found is None else dataclasses.replace(found, user=user)


MarkStatus = Literal["graded", "no_show", "invalid"]


@dataclass(frozen=True)
class Mark:
    """One student's record for one lab."""

    person: Person
    status: MarkStatus
    max_points: Decimal
    maximum: Decimal  # the grade's maximum on the scale
    result: StudentResult | None = None
    delivery: Delivery | None = None
    points: Decimal = Decimal(0)  # after the late penalty
    penalty: Decimal = Decimal(0)  # points taken for lateness
    grade: Decimal | None = None  # on the scale, rounded; None: no grade (No presentado, or not a notebook)
    in_roster: bool = True

    @property
    def user(self) -> str:
        return self.person.user

    @property
    def raw_points(self) -> Decimal:
        return Decimal(0) if self.result is None else decimal(self.result.score)


def graded_mark(result: StudentResult, person: Person, *, scale: GradeScale, delivery: Delivery | None,
                late_policy: LatePolicy | None, in_roster: bool) -> Mark:
    points, possible = decimal(result.score), decimal(result.max_score)
    penalty = Decimal(0)
    if late_policy is not None and delivery is not None:
        penalty = late_policy.points_deducted(points=points, possible=possible, late_by=delivery.late_by)
    return Mark(person=person, status="graded", max_points=possible, maximum=scale.maximum(possible), result=result,
                delivery=delivery, points=points - penalty, penalty=penalty,
                grade=scale.grade(points - penalty, possible), in_roster=in_roster)


def marks(report: GradeReport, people: dict[str, Person], handed_in: dict[str, Delivery], *, scale: GradeScale,
          late_policy: LatePolicy | None = None) -> list[Mark]:
    """The graded students in the report's order, then those who handed in nothing, then files that are not notebooks."""
    result: list[Mark] = []
    for student in report.students:
        result.append(graded_mark(student, person_for(people, student.name), scale=scale,
                                  delivery=handed_in.get(student.name), late_policy=late_policy,
                                  in_roster=not people or student.name.lower() in people))
    graded = {s.name.lower() for s in report.students}
    possible = report.max_points
    absent = {p.user.lower(): p.user for p in people.values()} | {
        user.lower(): user for user, d in handed_in.items() if d.status != "collected"}
    for key in sorted(set(absent) - graded):
        user = absent[key]
        delivery = handed_in.get(user)
        status: MarkStatus = "invalid" if delivery is not None and delivery.status == "invalid" else "no_show"
        result.append(Mark(person=person_for(people, user), status=status, max_points=possible,
                           maximum=scale.maximum(possible), delivery=delivery, in_roster=not people or key in people))
    return result
