"""JUnit XML reports (the format CI systems read): one <testsuite> of <testcase>s."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Outcome = Literal["passed", "failed", "error", "skipped"]


@dataclass(frozen=True)
class JUnitCase:
    name: str
    classname: str
    time_s: float
    outcome: Outcome
    message: str = ""
    details: str = ""


def junit_xml(suite: str, cases: list[JUnitCase]) -> str:
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(cases)),
        failures=str(sum(case.outcome == "failed" for case in cases)),
        errors=str(sum(case.outcome == "error" for case in cases)),
        skipped=str(sum(case.outcome == "skipped" for case in cases)),
        time=f"{sum(case.time_s for case in cases):.3f}",
    )
    for case in cases:
        element = ET.SubElement(root, "testcase", name=case.name, classname=case.classname, time=f"{case.time_s:.3f}")
        if case.outcome == "failed":
            ET.SubElement(element, "failure", message=case.message).text = case.details or case.message
        elif case.outcome == "error":
            ET.SubElement(element, "error", message=case.message).text = case.details or case.message
        elif case.outcome == "skipped":
            ET.SubElement(element, "skipped", message=case.message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, suite: str, cases: list[JUnitCase]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(suite, cases))
    return path
