"""The official OpenAPI files as JSON Schema validators.

The sandbox validates request bodies against the same files the tests validate its
answers against, so a spec change shows up on both sides. OpenAPI 3.0 is not JSON
Schema: `nullable` must be rewritten, `$ref`s point into the file, and the formats
the specs use (`uri`, `date-time`, `color_hex`) need checkers that jsonschema only
ships behind optional extras, so they are defined here.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import jsonschema.exceptions
import yaml

SPEC_FILES = ("dyte-v1.yaml", "dyte-v1-2022-roles.yaml", "dyte-v2.yaml", "realtimekit.json")

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*$")
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")
_COLOR_HEX = re.compile(r"^#(?:[0-9A-Fa-f]{3}|[0-9A-Fa-f]{6}|[0-9A-Fa-f]{8})$")

FORMAT_CHECKER = jsonschema.FormatChecker()


@FORMAT_CHECKER.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # range check: month 13 raises
    return True


@FORMAT_CHECKER.checks("color_hex")
def _is_color_hex(value: object) -> bool:
    return not isinstance(value, str) or bool(_COLOR_HEX.match(value))


def first_problem(validator: jsonschema.Draft4Validator, instance: Any, root: str = "body") -> str | None:
    """The most relevant violation as `at <path>: <message>` (cut to a sane length), or None."""
    error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or root
    return f"at {where}: {error.message}"[:360]


@cache
def load_spec(name: str) -> dict[str, Any]:
    """One spec file, parsed once per process."""
    if name not in SPEC_FILES:
        raise ValueError(f"unknown spec file {name!r}")
    text = resources.files("migrator.specs").joinpath(name).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def openapi_to_json_schema(node: Any) -> Any:
    """Rewrite OpenAPI 3.0 `nullable: true` as JSON Schema, recursively (returns a copy)."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: openapi_to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if not node.get("nullable"):
        return converted
    if isinstance(converted.get("type"), str):
        converted["type"] = [converted["type"], "null"]
        if "enum" in converted and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
        return converted
    return {"anyOf": [converted, {"type": "null"}]}


class SpecDocument:
    """One spec file converted to JSON Schema, handing out validators for its schemas."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    @classmethod
    @cache
    def load(cls, name: str) -> SpecDocument:
        """The shipped spec file, converted once per process."""
        return cls(openapi_to_json_schema(load_spec(name)))

    def resolve(self, node: Any) -> Any:
        """Follow `$ref`s (only local refs exist in these files)."""
        while isinstance(node, dict) and "$ref" in node:
            pointer = node["$ref"]
            if not pointer.startswith("#/"):
                raise ValueError(f"non-local $ref {pointer!r}")
            node = self.document
            for part in pointer[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def validator(self, schema: Any) -> jsonschema.Draft4Validator:
        """A validator whose `$ref`s resolve inside this document.

        Draft 4 is the dialect OpenAPI 3.0 schemas are written in. The schema is laid
        over the document's root so that `#/components/...` pointers resolve.
        """
        return jsonschema.Draft4Validator({**self.document, **schema}, format_checker=FORMAT_CHECKER)

    def component_validator(self, component: str) -> jsonschema.Draft4Validator:
        return self.validator({"$ref": f"#/components/schemas/{component}"})

    def operation(self, path: str, method: str) -> dict[str, Any]:
        """The operation object (KeyError if the spec lacks it)."""
        return self.document["paths"][path][method.lower()]

    def query_parameters(self, path: str, method: str) -> dict[str, dict[str, Any]]:
        """The query parameter objects an operation declares (path-level ones included), by name."""
        declared = [*self.document["paths"][path].get("parameters", []), *self.operation(path, method).get("parameters", [])]
        return {p["name"]: p for p in map(self.resolve, declared) if p.get("in") == "query"}

    def request_body_validator(self, path: str, method: str) -> tuple[jsonschema.Draft4Validator, bool]:
        """Validator of an operation's JSON request body, and whether a body is required."""
        body = self.resolve(self.operation(path, method)["requestBody"])
        return self.validator(self.resolve(body["content"]["application/json"]["schema"])), bool(body.get("required"))

    def response_validator(self, path: str, method: str, status: int) -> jsonschema.Draft4Validator | None:
        """Validator of an operation's JSON answer for one status; None when the spec declares no schema."""
        responses = self.operation(path, method).get("responses", {})
        declared = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
        if declared is None:
            return None
        content = self.resolve(declared).get("content", {}).get("application/json", {})
        return self.validator(self.resolve(content["schema"])) if "schema" in content else None
