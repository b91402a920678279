"""Checks a document against `export.schema.json` and names the first problem's JSON path.

A small checker for the keywords that schema uses (type, const, enum, required,
additionalProperties, properties, items, anyOf, $ref, pattern, minimum), so the runtime
needs no JSON Schema library. Tests compare its verdicts with `jsonschema`'s.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = Path(__file__).with_name("export.schema.json")

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


@cache
def export_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


def first_problem(document: Any, schema: dict[str, Any] | None = None) -> tuple[str, str] | None:
    """(JSON path, what is wrong) of the first problem found, or None for a valid document."""
    root = schema or export_schema()
    return _check(document, root, root, "$")


def _check(
    value: Any, schema: dict[str, Any], root: dict[str, Any], path: str
) -> tuple[str, str] | None:
    if "$ref" in schema:
        return _check(value, _resolve(root, schema["$ref"]), root, path)
    if "anyOf" in schema:
        return _any_of(value, schema["anyOf"], root, path)
    for check in (_type, _const, _enum, _pattern, _minimum):
        problem = check(value, schema)
        if problem:
            return path, problem
    if isinstance(value, dict):
        return _object(value, schema, root, path)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found = _check(item, schema["items"], root, f"{path}[{index}]")
            if found:
                return found
    return None


def _resolve(root: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = root
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return dict(node)


def _any_of(
    value: Any, options: list[dict[str, Any]], root: dict[str, Any], path: str
) -> tuple[str, str] | None:
    problems = [_check(value, option, root, path) for option in options]
    if any(problem is None for problem in problems):
        return None
    # The option that got furthest into the value says the most.
    return max((p for p in problems if p), key=lambda p: len(p[0]))


def _is(value: Any, name: str) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    if name == "number" and isinstance(value, float):
        return True
    return isinstance(value, _TYPES[name])


def _type(value: Any, schema: dict[str, Any]) -> str | None:
    expected = schema.get("type")
    if expected is None:
        return None
    names = [expected] if isinstance(expected, str) else list(expected)
    if any(_is(value, name) for name in names):
        return None
    return f"expected {' or '.join(names)}, found {_kind(value)}"


def _kind(value: Any) -> str:
    for name in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if _is(value, name):
            return name
    return type(value).__name__


def _const(value: Any, schema: dict[str, Any]) -> str | None:
    if "const" in schema and value != schema["const"]:
        return f"must be {json.dumps(schema['const'])}"
    return None


def _enum(value: Any, schema: dict[str, Any]) -> str | None:
    if "enum" in schema and value not in schema["enum"]:
        return "must be one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    return None


def _pattern(value: Any, schema: dict[str, Any]) -> str | None:
    if "pattern" in schema and isinstance(value, str) and not re.search(schema["pattern"], value):
        return f"{json.dumps(value)} does not match {schema['pattern']}"
    return None


def _minimum(value: Any, schema: dict[str, Any]) -> str | None:
    if "minimum" in schema and _is(value, "number") and value < schema["minimum"]:
        return f"must be at least {schema['minimum']}"
    return None


def _object(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str
) -> tuple[str, str] | None:
    for name in schema.get("required", []):
        if name not in value:
            return path, f"{json.dumps(name)} is missing"
    properties: dict[str, Any] = schema.get("properties", {})
    for name, item in value.items():
        if name not in properties:
            if schema.get("additionalProperties") is False:
                return f"{path}.{name}", "is not a known property"
            continue
        found = _check(item, properties[name], root, f"{path}.{name}")
        if found:
            return found
    return None
