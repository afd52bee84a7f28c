"""Checking a graded submission against schemas/grading-report.schema.json before it enters a report.

The judge's result carries what the student's kernel wrote (messages, the kernel's facts), so the
host takes nothing on trust: each submission is checked against the report's schema, and one that
breaks it becomes that notebook's `error`, never an abort of the class run. The schema uses a small
part of JSON Schema (type, enum, const, required, properties, additionalProperties, items,
prefixItems, minItems, maxItems, minimum, pattern, maxLength, local $ref), checked here with the
standard library only: the host's harness has no jsonschema.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from harness.config import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "schemas" / "grading-report.schema.json"
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict), "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool), "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


class SchemaViolation(ValueError):
    """A value that breaks the schema; the message says where (a JSON path) and what."""


@functools.cache
def report_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
    return loaded


def check_submission(submission: dict[str, Any]) -> None:
    """SchemaViolation when a report's submission entry breaks the schema."""
    root = report_schema()
    check(submission, root["$defs"]["submission"], root=root, path="submission")


def check(value: Any, schema: dict[str, Any], *, root: dict[str, Any], path: str) -> None:
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].removeprefix("#/$defs/")]
    for rule in dict.fromkeys(_RULES[keyword] for keyword in schema if keyword in _RULES):
        rule(value, schema, root, path)


def _type(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    if not any(_TYPES[kind](value) for kind in kinds):
        raise SchemaViolation(f"{path}: {type(value).__name__} where {' or '.join(kinds)} is required")


def _enum(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if value not in schema["enum"]:
        raise SchemaViolation(f"{path}: {str(value)[:40]!r} is not one of {schema['enum']}")


def _const(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if value != schema["const"]:
        raise SchemaViolation(f"{path}: must be {schema['const']!r}")


def _object(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if not isinstance(value, dict):
        return
    missing = [key for key in schema.get("required", []) if key not in value]
    if missing:
        raise SchemaViolation(f"{path}: missing {', '.join(missing)}")
    properties = schema.get("properties", {})
    extra = [str(key)[:40] for key in value if key not in properties]
    if extra and schema.get("additionalProperties") is False:
        raise SchemaViolation(f"{path}: unknown keys {', '.join(extra)}")
    for key, item in value.items():
        if key in properties:
            check(item, properties[key], root=root, path=f"{path}.{key}")


def _array(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if not isinstance(value, list):
        return
    if not schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", len(value)):
        raise SchemaViolation(f"{path}: {len(value)} items")
    prefix = schema.get("prefixItems", [])
    for index, item in enumerate(value):
        rule = prefix[index] if index < len(prefix) else schema.get("items")
        if rule is not None:
            check(item, rule, root=root, path=f"{path}[{index}]")


def _minimum(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if _TYPES["number"](value) and value < schema["minimum"]:
        raise SchemaViolation(f"{path}: below {schema['minimum']}")


def _string(value: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> None:
    if not isinstance(value, str):
        return
    if "pattern" in schema and not re.search(schema["pattern"], value):
        raise SchemaViolation(f"{path}: does not match {schema['pattern']}")
    if len(value) > schema.get("maxLength", len(value)):
        raise SchemaViolation(f"{path}: longer than {schema['maxLength']} characters")


_RULES: dict[str, Callable[[Any, dict[str, Any], dict[str, Any], str], None]] = {
    "type": _type, "enum": _enum, "const": _const, "required": _object, "properties": _object, "items": _array,
    "prefixItems": _array, "minimum": _minimum, "pattern": _string, "maxLength": _string,
}
