"""Spec readers shared by the mapping tests: v1 schema walking and strict v2 validation.

Kept independent of the engine's own URI check and schema walking, so the tests judge
the engine instead of agreeing with it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft7Validator, FormatChecker

from migrator.mapping.v2spec import openapi_to_jsonschema

REPO = Path(__file__).resolve().parents[2]
SPECS = REPO / "migrator" / "specs"
MAPPINGS = REPO / "mappings"
V1_FILES = ("dyte-v1.yaml", "dyte-v1-2022-roles.yaml")

# RFC 3986 appendix B splits any string; a URI additionally needs a scheme and only URI characters.
_RFC3986 = re.compile(r"^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?")
_URI_CHARS = re.compile(r"^(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


@cache
def spec(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / name).read_text())


def is_absolute_uri(value: object) -> bool:
    if not isinstance(value, str) or not _URI_CHARS.match(value):
        return False
    match = _RFC3986.match(value)
    return bool(match and match.group(2) and _SCHEME.match(match.group(2)))


FORMATS = FormatChecker()
FORMATS.checks("uri")(is_absolute_uri)


def _strict(schema: Any) -> Any:
    """Forbid properties the spec does not list, so a misspelt v2 field fails validation."""
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    strict = {key: _strict(value) for key, value in schema.items()}
    if "properties" in strict and not any(k in strict for k in ("allOf", "oneOf", "anyOf")):
        strict.setdefault("additionalProperties", False)
    return strict


@cache
def v2_validator(body: str) -> Draft7Validator:
    document = spec("dyte-v2.yaml")
    components = document["components"]
    raw = (
        components["requestBodies"][body]["content"]["application/json"]["schema"]
        if body in components["requestBodies"]
        else components["schemas"][body]
    )
    return Draft7Validator(_strict(openapi_to_jsonschema(raw, document)), format_checker=FORMATS)


def v2_errors(body: str, payload: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in v2_validator(body).iter_errors(payload)]


def meeting_errors(payload: dict[str, Any]) -> list[str]:
    """The meeting body is CreateMeetingBody plus the `status` the loader PATCHes afterwards."""
    create = {k: v for k, v in payload.items() if k != "status"}
    status = {"status": payload["status"]} if "status" in payload else {}
    return v2_errors("CreateMeetingBody", create) + v2_errors("UpdateMeetingBody", status)


def v1_schema(name: str, file: str = "dyte-v1.yaml") -> dict[str, Any] | None:
    document = spec(file)
    raw = document["components"]["schemas"].get(name)
    return None if raw is None else openapi_to_jsonschema(raw, document)


def _merged(schema: dict[str, Any]) -> dict[str, Any]:
    """Fold allOf branches into one object schema (properties and required)."""
    merged: dict[str, Any] = {
        "properties": dict(schema.get("properties", {})),
        "required": list(schema.get("required", [])),
    }
    for branch in schema.get("allOf", []):
        inner = _merged(branch)
        merged["properties"].update(inner["properties"])
        merged["required"] += inner["required"]
    return merged


def leaf_paths(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every property path of a v1 schema, recursively; required names without a property count too."""
    merged = _merged(schema)
    names = list(merged["properties"]) + [r for r in merged["required"] if r not in merged["properties"]]
    for name in names:
        path = f"{prefix}{name}"
        child = merged["properties"].get(name, {})
        if _merged(child)["properties"]:
            yield from leaf_paths(child, f"{path}.")
        else:
            yield path


def v1_schema_leaves(name: str) -> set[str]:
    """Leaves of a schema across both v1 spec files (the 2022 file adds e.g. WebhookRequestBody.enabled)."""
    leaves: set[str] = set()
    for file in V1_FILES:
        schema = v1_schema(name, file)
        if schema is not None:
            leaves |= set(leaf_paths(schema))
    return leaves


def v1_examples(name: str) -> list[dict[str, Any]]:
    raw = spec("dyte-v1.yaml")["components"]["schemas"][name]
    return [copy.deepcopy(example) for example in raw.get("x-examples", {}).values()]


def sample_org() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Preset and role snapshot records built from the v1 spec's own examples."""
    roles = v1_examples("CreatePresetRoleRequestBody")
    role_records = [
        {
            "id": f"role-{i}",
            "name": r["name"],
            "description": r["description"],
            "s3URL": f"https://s3.example/{r['name']}.json",
            "document": r,
        }
        for i, r in enumerate(roles)
    ]
    preset_records = []
    for i, document in enumerate(v1_examples("CreatePresetRequestBody")):
        document["role"] = next(copy.deepcopy(r) for r in roles if r["name"] == document["preset"]["role"])
        preset_records.append(
            {
                "id": f"preset-{i}",
                "name": document["name"],
                "description": document["description"],
                "s3URL": f"https://s3.example/{document['name']}.json",
                "document": document,
            }
        )
    return preset_records, role_records
