"""Hypothesis strategies for v1 objects, built from the v1 spec's schemas.

`hostile=True` lets any field be replaced by junk (null, wrong type, odd strings, nested
objects) to check that the mapper answers with notes or Unmappable, never a traceback.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from .helpers import v1_schema

URIS = st.sampled_from(
    [
        "https://example.com/a.png",
        "http://cdn.example.org/x?y=1#z",
        "https://mywebhook.site/path/to/webhook",
        "urn:isbn:0451450523",
    ]
)
JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _merged(schema: dict[str, Any]) -> dict[str, Any]:
    merged = dict(schema)
    properties = dict(schema.get("properties", {}))
    for branch in schema.get("allOf", []):
        inner = _merged(branch)
        properties.update(inner.get("properties", {}))
        merged.setdefault("type", inner.get("type"))
    merged.pop("allOf", None)
    if properties:
        merged["properties"] = properties
        merged["type"] = "object"
    return merged


def from_schema(schema: dict[str, Any], hostile: bool = False) -> st.SearchStrategy[Any]:
    schema = _merged(schema)
    kind = schema.get("type")
    kind = next((k for k in kind if k != "null"), None) if isinstance(kind, list) else kind
    strategy: st.SearchStrategy[Any]
    if "enum" in schema:
        strategy = st.sampled_from([v for v in schema["enum"] if v is not None])
    elif kind == "object":
        optional = {key: from_schema(sub, hostile) for key, sub in schema.get("properties", {}).items()}
        strategy = st.fixed_dictionaries({}, optional=optional)
    elif kind == "array":
        strategy = st.lists(from_schema(schema.get("items", {}), hostile), max_size=6)
    elif kind == "boolean":
        strategy = st.booleans()
    elif kind == "integer":
        strategy = st.integers(schema.get("minimum", -5), schema.get("maximum", 200))
    elif kind == "number":
        strategy = st.integers(0, 120) | st.floats(0, 120, allow_nan=False)
    elif schema.get("format") == "uri":
        strategy = URIS | st.text(max_size=10)
    else:
        strategy = st.text(max_size=16)
    return strategy | JUNK if hostile else strategy


def _schema(name: str, file: str = "dyte-v1.yaml") -> dict[str, Any]:
    found = v1_schema(name, file)
    assert found is not None, name
    return _merged(found)


def _union(*names: str, **extra: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for name in names:
        properties.update(_schema(name).get("properties", {}))
    properties.update(extra)
    return {"type": "object", "properties": properties}


STRING = {"type": "string"}
MEETING = _union(
    "Meeting",
    "CreateMeetingRequestBody",
    "UpdateMeetingRequestBody",
    status={"type": "string", "enum": ["CREATED", "LIVE", "CLOSED"]},
)
PARTICIPANT = _union("Participant", "AddParticipantRequestBody", meetingId=STRING)
WEBHOOK = _union("Webhook", enabled={"type": "boolean"})
ROLE_DOCUMENT = _schema("CreatePresetRoleRequestBody")
PRESET_DOCUMENT = _schema("CreatePresetRequestBody")


def meetings(hostile: bool = False) -> st.SearchStrategy[Any]:
    return from_schema(MEETING, hostile)


def participants(hostile: bool = False) -> st.SearchStrategy[Any]:
    return from_schema(PARTICIPANT, hostile)


def webhooks(hostile: bool = False) -> st.SearchStrategy[Any]:
    return from_schema(WEBHOOK, hostile)


def role_documents(hostile: bool = False) -> st.SearchStrategy[Any]:
    return from_schema(ROLE_DOCUMENT, hostile)


def preset_documents(hostile: bool = False) -> st.SearchStrategy[Any]:
    return from_schema(PRESET_DOCUMENT, hostile)
