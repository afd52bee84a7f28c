"""The kernel's data: each lab's public cases with their expected outputs, precomputed by the answer key.

`python -m answer_key.kernel_data FOLDER` writes FOLDER/labNN.json for every lab with an answer key.
The lab image runs it as root at build time into /opt/dl-lab/practica/data (the students' package);
the host runs it into labs/practica/data for local runs and tests. What it writes is data only (wire
JSON): `comprobar` compares the student's answers with it and never computes an answer.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

from in_image.exercises import wire
from in_image.exercises.framework import Exercise, case_digest

FORMAT = 1


def lab_data(lab: str) -> dict[str, Any]:
    """{"format", "lab", "exercises": {id: [{"digest", "expected"}, ...]}} for lab's public cases."""
    checks = importlib.import_module(f"practica.lab{lab}_checks")
    key = importlib.import_module(f"answer_key.lab{lab}")
    exercises: tuple[Exercise, ...] = tuple(checks.EXERCISES)
    return {"format": FORMAT, "lab": lab, "exercises": {
        exercise.id: [{"digest": case_digest(case), "expected": wire.encode(key.expect(exercise.id, case, None))}
                      for case in exercise.cases]
        for exercise in exercises}}


def labs_with_a_key() -> list[str]:
    folder = Path(__file__).parent
    return sorted(path.stem.removeprefix("lab") for path in folder.glob("lab[0-9][0-9].py"))


def write_all(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for lab in labs_with_a_key():
        path = folder / f"lab{lab}.json"
        path.write_text(json.dumps(lab_data(lab), separators=(",", ":")) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m answer_key.kernel_data FOLDER", file=sys.stderr)
        return 2
    for path in write_all(Path(argv[0])):
        print(f"{path}: {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
