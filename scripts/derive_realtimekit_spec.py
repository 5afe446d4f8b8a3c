"""Derive `migrator/specs/realtimekit.json` from the official `cloudflare` Python SDK.

The SDK is generated from Cloudflare's OpenAPI and is the schema of record for
RealtimeKit (see /work/shared/specs/realtimekit.md). This script reads the SDK's
`resources/realtime_kit/api.md` (method, path and params type of every operation) and
its `types/realtime_kit/*_params.py` TypedDicts, and writes an OpenAPI-shaped document
(schemas are JSON Schema, draft 4 compatible) holding the operations the migration and
the sandbox use. Parameters of GET operations are query parameters, of the others the
JSON body (as the SDK's resource modules send them); path parameters are left out.

    python scripts/derive_realtimekit_spec.py            # rewrite the file
    python scripts/derive_realtimekit_spec.py --check    # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import collections.abc
import datetime
import importlib
import json
import re
import sys
import typing
from pathlib import Path
from typing import Any

import typing_extensions

OUTPUT = Path(__file__).resolve().parent.parent / "migrator" / "specs" / "realtimekit.json"
RESOURCES = ("apps", "presets", "meetings", "webhooks", "recordings")
# Recordings: only the reads the v2 surface serves too (the migration never writes recordings).
SKIPPED = {"recordings": {"start_recordings", "start_track_recording", "pause_resume_stop_recording"}}
PATH_PARAMETERS = {"account_id", "app_id", "meeting_id", "participant_id", "preset_id", "webhook_id", "recording_id"}
OPERATION = re.compile(
    r'<code title="(?P<method>\w+) (?P<path>[^"]+)">client\.realtime_kit\.(?P<resource>\w+)\.<a [^>]*>(?P<name>\w+)</a>'
    r"\((?P<args>[^)]*)\)"
)
PARAMS_TYPE = re.compile(r"types/realtime_kit/(\w+_params)\.py")


def _camel(module: str) -> str:
    return "".join(part.upper() if part == "id" else part.capitalize() for part in module.split("_"))


def _strip(hint: Any) -> tuple[Any, dict[str, Any]]:
    """Unwrap Required/NotRequired/Annotated; return the bare type and the PropertyInfo facts."""
    facts: dict[str, Any] = {}
    while True:
        origin = typing_extensions.get_origin(hint)
        if origin in (typing_extensions.Required, typing_extensions.NotRequired, typing.Required, typing.NotRequired):
            hint = typing_extensions.get_args(hint)[0]
        elif origin is typing_extensions.Annotated:
            base, *extras = typing_extensions.get_args(hint)
            for extra in extras:
                for key in ("alias", "format"):
                    if getattr(extra, key, None):
                        facts[key] = getattr(extra, key)
            hint = base
        else:
            return hint, facts


def schema_of(hint: Any) -> dict[str, Any]:
    hint, facts = _strip(hint)
    if facts.get("format") == "iso8601":  # the SDK sends a datetime (or a string) as ISO 8601
        return {"type": "string", "format": "date-time"}
    origin, args = typing_extensions.get_origin(hint), typing_extensions.get_args(hint)
    if typing_extensions.is_typeddict(hint):
        return _object(hint)
    if hint is str:
        return {"type": "string"}
    if hint is bool:
        return {"type": "boolean"}
    if hint is int:
        return {"type": "integer"}
    if hint is float:
        return {"type": "number"}
    if hint is object or hint is Any:
        return {}
    if hint is datetime.datetime:
        return {"type": "string", "format": "date-time"}
    if origin in (typing.Literal, typing_extensions.Literal):
        kinds = {type(value) for value in args}
        schema: dict[str, Any] = {"enum": list(args)}
        if kinds == {str}:
            schema["type"] = "string"
        return schema
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        members = [a for a in args if a is not type(None)]
        inner = schema_of(members[0]) if len(members) == 1 else {"anyOf": [schema_of(m) for m in members]}
        if type(None) not in args:
            return inner
        return {"anyOf": [inner, {"type": "null"}]}
    if origin in (list, collections.abc.Iterable, collections.abc.Sequence) or getattr(hint, "__name__", "") == "SequenceNotStr":
        item = args[0] if args else Any
        return {"type": "array", "items": schema_of(item)}
    if origin is dict or origin is collections.abc.Mapping:
        return {"type": "object", "additionalProperties": schema_of(args[1])}
    raise TypeError(f"no JSON Schema rule for {hint!r}")


def _required(td: Any, hint: Any) -> bool:
    """Required[...] marks a key of a total=False TypedDict (the SDK's modules postpone
    annotations, so `__required_keys__` cannot see it)."""
    origin = typing_extensions.get_origin(hint)
    if origin in (typing_extensions.Required, typing.Required):
        return True
    return bool(td.__total__) and origin not in (typing_extensions.NotRequired, typing.NotRequired)


def _object(td: Any, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    hints = typing_extensions.get_type_hints(td, include_extras=True)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for key, hint in hints.items():
        if key in skip:
            continue
        _, facts = _strip(hint)
        name = facts.get("alias", key)
        properties[name] = schema_of(hint)
        if _required(td, hint):
            required.append(name)
    schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    # TypedDicts are closed unless they declare extra items (e.g. a plugin's free-form config).
    schema["additionalProperties"] = (
        {}
        if getattr(td, "__extra_items__", typing_extensions.NoExtraItems) not in (typing_extensions.NoExtraItems, None)
        else False
    )
    return schema


def derive() -> dict[str, Any]:
    import cloudflare

    root = Path(cloudflare.__file__).resolve().parent
    api_md = (root / "resources" / "realtime_kit" / "api.md").read_text(encoding="utf-8")
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, Any] = {}
    for line in api_md.splitlines():
        found = OPERATION.search(line)
        if not found or found["resource"] not in RESOURCES or found["name"] in SKIPPED.get(found["resource"], ()):
            continue
        method = found["method"].lower()
        operation: dict[str, Any] = {"operationId": f"{found['resource']}.{found['name']}", "responses": {}}
        params_module = PARAMS_TYPE.search(line)
        if params_module:
            module = importlib.import_module(f"cloudflare.types.realtime_kit.{params_module[1]}")
            class_name = next(n for n in dir(module) if n.lower() == params_module[1].replace("_", "").lower())
            typed = getattr(module, class_name)
            body = _object(typed, skip=frozenset(PATH_PARAMETERS))
            if method == "get":
                required = set(body.get("required", []))
                operation["parameters"] = [
                    {"name": name, "in": "query", "required": name in required, "schema": schema}
                    for name, schema in body["properties"].items()
                ]
            else:
                schemas[class_name] = body
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{class_name}"}}},
                }
        paths.setdefault(found["path"], {})[method] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Cloudflare RealtimeKit: the operations dyte-migrate uses",
            "version": cloudflare.__version__,
            "description": (
                "Derived by scripts/derive_realtimekit_spec.py from the official cloudflare Python SDK "
                f"{cloudflare.__version__} (resources/realtime_kit/api.md and types/realtime_kit/*_params.py). "
                "Schemas are JSON Schema (type lists for null). Do not edit by hand."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": dict(sorted(schemas.items()))},
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=1, sort_keys=False) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when the committed file differs")
    args = parser.parse_args()
    text = render(derive())
    if args.check:
        stale = not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text
        print(f"{OUTPUT} is {'stale' if stale else 'up to date'}")
        return 1 if stale else 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
