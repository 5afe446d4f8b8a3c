"""The v2 request schemas from the vendored OpenAPI file, as plain JSON Schema.

Mapping files are checked against these at load time (every target path exists, every
constant fits its field), so a rule can never promise a field or value v2 does not accept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import platformdirs
import yaml

SPEC_DIR = Path(__file__).resolve().parent.parent / "specs"
V2_SPEC = SPEC_DIR / "dyte-v2.yaml"

Schema = dict[str, Any]
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def load_spec(path: Path) -> dict[str, Any]:
    """The parsed spec. Parsing the 260 KB YAML costs ~0.2 s of every start, so its JSON form is
    kept in the user's cache folder, named by the spec's content hash: an edited spec is parsed afresh."""
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    cached = _cache_dir() / f"{path.stem}-{digest[:32]}.json"
    try:
        kept = json.loads(cached.read_bytes())
        if isinstance(kept, dict) and kept.get("source_sha256") == digest and isinstance(kept.get("document"), dict):
            document: dict[str, Any] = kept["document"]
            return document
    except (OSError, ValueError):
        pass  # absent, unreadable or damaged: parse the spec
    document = yaml.load(raw, Loader=_Loader)
    _keep(cached, digest, document)
    return document


def _cache_dir() -> Path:
    return platformdirs.user_cache_path("dyte-migrate") / "specs"


def _keep(cached: Path, digest: str, document: dict[str, Any]) -> None:
    """Write the JSON form when it gives back exactly the parsed spec (YAML has dates and non-string
    keys; JSON does not); atomically, and silently skipped where the cache folder is not writable."""
    try:
        text = json.dumps({"source_sha256": digest, "document": document})
    except (TypeError, ValueError):  # a value JSON has no form for
        return
    if json.loads(text)["document"] != document:
        return
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=cached.parent, suffix=".tmp")
    except OSError:
        return
    try:  # written beside, then renamed: another process never reads half a file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, cached)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def openapi_to_jsonschema(schema: Any, document: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """Inline `$ref`s and turn OpenAPI 3.0 `nullable: true` into a JSON Schema null type."""
    if isinstance(schema, list):
        return [openapi_to_jsonschema(item, document, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in seen:
            raise ValueError(f"recursive schema {ref}")
        target: Any = document
        for part in ref.removeprefix("#/").split("/"):
            target = target[part]
        return openapi_to_jsonschema(target, document, (*seen, ref))
    converted = {key: openapi_to_jsonschema(value, document, seen) for key, value in schema.items() if key != "nullable"}
    if schema.get("nullable") is True:
        if isinstance(converted.get("type"), str):
            converted["type"] = [converted["type"], "null"]
        if isinstance(converted.get("enum"), list) and None not in converted["enum"]:
            converted["enum"] = [*converted["enum"], None]
    return converted


@functools.cache
def request_schema(name: str, spec: Path = V2_SPEC) -> Schema:
    """The JSON Schema of a v2 request body, by its name in `requestBodies` or `schemas`."""
    document = load_spec(spec)
    components = document["components"]
    if name in components.get("requestBodies", {}):
        body = components["requestBodies"][name]["content"]["application/json"]["schema"]
    elif name in components.get("schemas", {}):
        body = components["schemas"][name]
    else:
        raise KeyError(name)
    schema: Schema = openapi_to_jsonschema(body, document)
    return schema


def request_body_names(spec: Path = V2_SPEC) -> set[str]:
    components = load_spec(spec)["components"]
    return set(components.get("requestBodies", {})) | set(components.get("schemas", {}))


def _alternatives(schema: Schema) -> Iterator[Schema]:
    yield schema
    for keyword in ("allOf", "oneOf", "anyOf"):
        for branch in schema.get(keyword, []):
            yield from _alternatives(branch)


def children(schema: Schema, key: str) -> list[Schema]:
    """Sub-schemas of property `key`, through allOf/oneOf/anyOf."""
    return [alt["properties"][key] for alt in _alternatives(schema) if key in alt.get("properties", {})]


def at_path(schemas: list[Schema], path: tuple[str, ...]) -> list[Schema]:
    """Every sub-schema a dotted path can reach from any of `schemas`; empty when v2 has no such field."""
    found = schemas
    for key in path:
        found = [child for schema in found for child in children(schema, key)]
    return found


def required_keys(schema: Schema) -> set[str]:
    return {key for alt in _alternatives(schema) for key in alt.get("required", [])}


def enum_of(schemas: list[Schema]) -> frozenset[Any] | None:
    """The allowed values when every candidate is an enum, else None (any value of the type)."""
    values: set[Any] = set()
    for schema in schemas:
        options = [alt["enum"] for alt in _alternatives(schema) if "enum" in alt]
        if not options:
            return None
        for enum in options:
            values.update(enum)
    return frozenset(values)


def json_types(schemas: list[Schema]) -> set[str]:
    types: set[str] = set()
    for schema in schemas:
        for alt in _alternatives(schema):
            declared = alt.get("type")
            types.update([declared] if isinstance(declared, str) else declared or [])
    return types


def fits(value: Any, schemas: list[Schema]) -> str | None:
    """None when `value` validates against one of `schemas`, else the first problem."""
    from jsonschema import Draft7Validator, FormatChecker  # on first use: start-up does not pay for it

    problems = []
    for schema in schemas:
        error = next(iter(Draft7Validator(schema, format_checker=FormatChecker()).iter_errors(value)), None)
        if error is None:
            return None
        problems.append(error.message)
    return problems[0] if problems else "no field to take it"
