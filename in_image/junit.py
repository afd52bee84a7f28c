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


def xml_safe(text: str) -> str:
    """text without the characters XML 1.0 forbids (control characters, surrogates, U+FFFE/U+FFFF): shown as escapes."""
    def allowed(c: str) -> bool:
        code = ord(c)
        return c in "\t\n\r" or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF

    return "".join(c if allowed(c) else f"\\x{ord(c):02x}" for c in text)


def junit_xml(suite: str, cases: list[JUnitCase]) -> str:
    root = ET.Element(
        "testsuite",
        name=xml_safe(suite),
        tests=str(len(cases)),
        failures=str(sum(case.outcome == "failed" for case in cases)),
        errors=str(sum(case.outcome == "error" for case in cases)),
        skipped=str(sum(case.outcome == "skipped" for case in cases)),
        time=f"{sum(case.time_s for case in cases):.3f}",
    )
    for case in cases:
        element = ET.SubElement(root, "testcase", name=xml_safe(case.name), classname=xml_safe(case.classname),
                                time=f"{case.time_s:.3f}")
        message, details = xml_safe(case.message), xml_safe(case.details)
        if case.outcome == "failed":
            ET.SubElement(element, "failure", message=message).text = details or message
        elif case.outcome == "error":
            ET.SubElement(element, "error", message=message).text = details or message
        elif case.outcome == "skipped":
            ET.SubElement(element, "skipped", message=message)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(path: Path, suite: str, cases: list[JUnitCase]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(suite, cases))
    return path
