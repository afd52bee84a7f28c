"""Draw the gradebook's distribution plot: one histogram per lab and one for the course (PNG).

Runs inside the CPU lab image, which has matplotlib (the host's light environment does not), as
`python draw_distribution.py DATA.json OUT.png`; it needs only the standard library and matplotlib
and imports nothing of the harness. DATA.json is harness.grading.gradebook.plot_data(): a title, the
grades' maximum, and per item a label, the grades of those who handed in and the number of no-shows.
Text is Spanish with decimal commas, as the students' grades are.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

COLUMNS = 2


def comma(value: float, _position: int | None = None) -> str:
    return f"{value:g}".replace(".", ",")


def draw(data: dict[str, Any], out: Path) -> None:
    items: list[dict[str, Any]] = data["items"]
    maximum = float(data["maximum"])
    rows = math.ceil(len(items) / COLUMNS)
    figure, axes = plt.subplots(rows, COLUMNS, figsize=(6 * COLUMNS, 3.2 * rows), squeeze=False)
    bins = [maximum * i / 10 for i in range(11)]
    for index, (item, axis) in enumerate(zip(items, axes.flat, strict=False)):
        grades = [min(float(g), maximum) for g in item["grades"]]
        course = index == len(items) - 1
        axis.hist(grades, bins=bins, color="#c0392b" if course else "#2e86c1", edgecolor="white")
        axis.axvline(maximum / 2, color="#555555", linestyle="--", linewidth=1)
        axis.set_title(f"{item['label']}\npresentados: {len(grades)} · no presentados: {item['no_shows']} · "
                       f"media: {item['mean']}", fontsize=10)
        axis.set_xlim(0, maximum)
        axis.set_xlabel("Nota")
        axis.set_ylabel("Estudiantes")
        axis.xaxis.set_major_formatter(FuncFormatter(comma))
        axis.yaxis.get_major_locator().set_params(integer=True)
    for axis in list(axes.flat)[len(items):]:
        axis.set_visible(False)
    figure.suptitle(str(data["title"]))
    figure.tight_layout()
    figure.savefig(out, dpi=100)
    plt.close(figure)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: draw_distribution.py DATA.json OUT.png", file=sys.stderr)
        return 2
    draw(json.loads(Path(argv[0]).read_text(encoding="utf-8")), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
