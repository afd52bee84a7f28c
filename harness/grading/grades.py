"""Spanish grading conventions: a 0–10 scale with one decimal, halves rounded up in decimal arithmetic.

Real Decreto 1125/2003, art. 5.4: university results are recorded on a numerical scale from 0 to 10
with one decimal, to which the qualitative grade may be added (0–4,9 Suspenso, 5,0–6,9 Aprobado,
7,0–8,9 Notable, 9,0–10 Sobresaliente). A student who handed in nothing is recorded as "No presentado".
The rounding is done on decimals, never on binary floats: 8.125 is 8,13 with two decimals (Python's
round() on the float gives 8.12) and 8,1 with one.

Numbers have two spellings here: the one the LMSs read (a dot: "8.1"; both parse it whatever their
language, see docs/instructors.md) and the one Spanish readers read (a decimal comma: "8,1").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from harness.errors import HarnessError

NO_PRESENTADO = "No presentado"
# RD 1125/2003, art. 5.4: the lower bound of each qualitative grade on the 0–10 scale.
QUALITATIVE = ((Decimal(9), "Sobresaliente"), (Decimal(7), "Notable"), (Decimal(5), "Aprobado"), (Decimal(0), "Suspenso"))
SPANISH_SCALE = Decimal(10)
MAX_DECIMALS = 4


def decimal(value: float | int | str | Decimal) -> Decimal:
    """The number as the decimal it was written as (8.125 -> Decimal('8.125'), not the binary float's expansion)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    if isinstance(value, float):
        return Decimal(int(value)) if value.is_integer() else Decimal(repr(value))
    return Decimal(value)


def round_half_up(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def lms_number(value: Decimal) -> str:
    """A number as the LMSs' importers read it: a dot for decimals, the decimals it has, never '-0'."""
    text = f"{value:f}"
    return text[1:] if text.startswith("-") and value == 0 else text


def number_es(value: Decimal) -> str:
    """A number as Spanish readers write it: a decimal comma ("8,1"), a minus sign for negatives."""
    return lms_number(value).replace(".", ",").replace("-", "−")


def qualitative(grade: Decimal) -> str:
    """The qualitative grade of RD 1125/2003 for a grade on the 0–10 scale."""
    return next(name for bound, name in QUALITATIVE if grade >= bound)


@dataclass(frozen=True)
class GradeScale:
    """How a lab's points become the grade recorded: rescaled to `out_of` (None: the lab's own points), rounded."""

    out_of: Decimal | None = SPANISH_SCALE
    decimals: int = 1

    def __post_init__(self) -> None:
        if self.out_of is not None and not (self.out_of.is_finite() and self.out_of > 0):
            raise HarnessError(f"--scale is the grade's maximum, a positive number (e.g. 10), not {self.out_of}")
        if not 0 <= self.decimals <= MAX_DECIMALS:
            raise HarnessError(f"--decimals is how many decimals a grade keeps, 0 to {MAX_DECIMALS}, not {self.decimals}")

    def maximum(self, max_points: Decimal) -> Decimal:
        return max_points if self.out_of is None else self.out_of

    def exact(self, points: Decimal, max_points: Decimal) -> Decimal:
        """The grade before rounding: points / max_points * out_of, in decimal arithmetic."""
        if self.out_of is None:
            return points
        return Decimal(0) if max_points <= 0 else points / max_points * self.out_of

    def grade(self, points: Decimal, max_points: Decimal) -> Decimal:
        return round_half_up(self.exact(points, max_points), self.decimals)

    @property
    def spanish(self) -> bool:
        """The 0–10 scale of RD 1125/2003, on which the qualitative grades apply."""
        return self.out_of == SPANISH_SCALE


def parse_scale(text: str) -> Decimal | None:
    """--scale: 'points' (the lab's own points) or the maximum grade, e.g. 10 (a decimal comma is fine)."""
    if text.strip().lower() == "points":
        return None
    try:
        value = Decimal(text.strip().replace(",", "."))
    except ArithmeticError:
        raise HarnessError(f"--scale {text!r} is neither a number (e.g. 10) nor 'points'") from None
    if not value.is_finite() or value <= 0:
        raise HarnessError(f"--scale is the grade's maximum, a positive number (e.g. 10), not {text}")
    return value
