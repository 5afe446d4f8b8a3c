"""The v2 resources (presets, meetings, participants, webhooks, recordings reads), served twice.

Dyte v2 (`/v2/...`, `dyte-v2.yaml`) and Cloudflare RealtimeKit
(`/client/v4/accounts/{account_id}/realtime/kit/{app_id}/...`, `realtimekit.json`, derived
from the cloudflare SDK) are the same resources under another base path, auth and schema:
one implementation, one `Surface` each. No meeting DELETE in either, as in the real APIs.
Handlers run under the store lock on the org their route is scoped to (`call.org`);
bodies arrive already validated against the surface's request schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import jsonschema

from migrator.sandbox.idgen import now_iso, parse_iso
from migrator.sandbox.loader import OPTIONAL_MEETING_FIELDS, RTK_MEETING_DEFAULTS, V2_MEETING_DEFAULTS, v2_meeting, v2_participant
from migrator.sandbox.paging import v2_paging, v2_window
from migrator.sandbox.query import QueryRules
from migrator.sandbox.routing import BodySchema, Route, Scope
from migrator.sandbox.specs import SpecDocument, first_problem
from migrator.sandbox.store import Obj, Store, Table, V2Org
from migrator.sandbox.wire import ApiError, Area, Call, Reply

V2_SPEC = "dyte-v2.yaml"
RTK_SPEC = "realtimekit.json"


def _ok(data: Any, status: int = 200) -> Reply:
    return Reply(status, {"success": True, "data": data})


def _paged(table_items: list[Obj], total: int, call: Call, shape: Callable[[Obj], Obj] | None = None) -> Reply:
    window = v2_window(call.query)
    page = table_items[window.offset : window.offset + window.limit]
    data = [shape(item) for item in page] if shape else page
    return Reply(200, {"success": True, "data": data, "paging": v2_paging(total, window, len(data))})


def _paged_table(table: Table, call: Call, shape: Callable[[Obj], Obj] | None = None) -> Reply:
    """Paging straight off a table: O(page), no copy of the whole list."""
    window = v2_window(call.query)
    data = table.page(window.offset, window.limit)
    if shape:
        data = [shape(item) for item in data]
    return Reply(200, {"success": True, "data": data, "paging": v2_paging(len(table), window, len(data))})


def deep_merge(base: Obj, patch: Obj) -> Obj:
    """`patch` over `base`, object by object (PATCH semantics of UpdatePreset)."""
    merged = dict(base)
    for key, value in patch.items():
        merged[key] = deep_merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key), dict) else value
    return merged


# --- presets ---------------------------------------------------------------------------


def _preset(org: V2Org, call: Call) -> Obj:
    preset = org.presets.get(call.params["preset_id"])
    if preset is None:
        raise ApiError(404, "Preset not found")
    return preset


@cache
def _preset_schema(spec: str) -> jsonschema.Draft4Validator:
    """What a stored preset must stay valid against: v2's Preset; RealtimeKit's create body."""
    return SpecDocument.load(spec).component_validator("Preset" if spec == V2_SPEC else "PresetCreateParams")


SERVER_PRESET_FIELDS = ("id", "created_at", "updated_at")


def _preset_item(preset: Obj) -> Obj:
    return {key: preset[key] for key in ("id", "name", "created_at", "updated_at")}


def list_presets(store: Store, call: Call) -> Reply:
    return _paged_table(call.org.presets, call, _preset_item)


def create_preset(store: Store, call: Call) -> Reply:
    org, body, now = call.org, call.body, now_iso()
    if body["name"] in org.preset_ids_by_name:
        raise ApiError(409, f"A preset named {body['name']!r} already exists")
    preset = {**body, "id": store.ids.uuid(), "created_at": now, "updated_at": now}
    org.presets.put(preset["id"], preset)
    org.preset_ids_by_name[preset["name"]] = preset["id"]
    return _ok(preset)


def get_preset(store: Store, call: Call) -> Reply:
    return _ok(_preset(call.org, call))


def update_preset(store: Store, call: Call) -> Reply:
    org = call.org
    preset = _preset(org, call)
    updated = {**deep_merge(preset, call.body), "id": preset["id"], "created_at": preset["created_at"], "updated_at": now_iso()}
    return _store_preset(org, preset, updated, call.spec)


def replace_preset(store: Store, call: Call) -> Reply:
    """PUT (RealtimeKit only): the body is the whole preset; id and created_at stay."""
    org = call.org
    preset = _preset(org, call)
    replaced = {**call.body, "id": preset["id"], "created_at": preset["created_at"], "updated_at": now_iso()}
    return _store_preset(org, preset, replaced, call.spec)


def _store_preset(org: V2Org, preset: Obj, updated: Obj, spec: str) -> Reply:
    checked = updated if spec == V2_SPEC else {k: v for k, v in updated.items() if k not in SERVER_PRESET_FIELDS}
    problem = first_problem(_preset_schema(spec), checked, root="preset")
    if problem is not None:  # e.g. plugins.config switched from an id to a partial object
        raise ApiError(400, f"The update would leave the preset invalid {problem}")
    if updated["name"] != preset["name"]:
        if updated["name"] in org.preset_ids_by_name:
            raise ApiError(409, f"A preset named {updated['name']!r} already exists")
        del org.preset_ids_by_name[preset["name"]]
        org.preset_ids_by_name[updated["name"]] = updated["id"]
    org.presets.put(updated["id"], updated)
    return _ok(updated)


def delete_preset(store: Store, call: Call) -> Reply:
    org = call.org
    preset = _preset(org, call)
    org.presets.remove(preset["id"])
    del org.preset_ids_by_name[preset["name"]]
    return _ok(preset)


# --- meetings --------------------------------------------------------------------------

MEETING_FIELDS = frozenset({*V2_MEETING_DEFAULTS, *RTK_MEETING_DEFAULTS, *OPTIONAL_MEETING_FIELDS, "title", "recording_config"})


def _meeting_defaults(call: Call) -> Obj:
    return V2_MEETING_DEFAULTS if call.spec == V2_SPEC else RTK_MEETING_DEFAULTS


def _meeting(org: V2Org, meeting_id: str) -> Obj:
    meeting = org.meetings.get(meeting_id)
    if meeting is None:
        raise ApiError(404, "Meeting not found")
    return meeting


def _time_bound(call: Call, name: str) -> datetime | None:
    raw = call.query.get(name, "").strip()
    if not raw:
        return None
    try:
        return parse_iso(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be an ISO 8601 date-time") from None


def list_meetings(store: Store, call: Call) -> Reply:
    org = call.org
    search = call.query.get("search", "").casefold()
    status = call.query.get("status")  # RealtimeKit only; v2's spec declares no such filter
    start, end = _time_bound(call, "start_time"), _time_bound(call, "end_time")
    if not search and not status and start is None and end is None:
        return _paged_table(org.meetings, call)
    matching = []
    for meeting in org.meetings:
        created = parse_iso(meeting["created_at"])
        if (
            search in meeting.get("title", "").casefold()
            and status in (None, meeting["status"])
            and (start is None or created >= start)
            and (end is None or created <= end)
        ):
            matching.append(meeting)
    return _paged(matching, len(matching), call)


def create_meeting(store: Store, call: Call) -> Reply:
    org = call.org
    fields = {key: value for key, value in call.body.items() if key in MEETING_FIELDS and key != "status"}
    meeting = v2_meeting(fields, store.ids, now=now_iso(), defaults=_meeting_defaults(call))
    org.meetings.put(meeting["id"], meeting)
    return _ok(meeting, 201)


def get_meeting(store: Store, call: Call) -> Reply:
    return _ok(_meeting(call.org, call.params["meeting_id"]))


def update_meeting(store: Store, call: Call) -> Reply:
    org = call.org
    meeting = _meeting(org, call.params["meeting_id"])
    changes = {key: value for key, value in call.body.items() if key in MEETING_FIELDS}
    updated = {**meeting, **changes, "updated_at": now_iso()}
    org.meetings.put(updated["id"], updated)
    return _ok(updated)


def replace_meeting(store: Store, call: Call) -> Reply:
    """PUT: every CreateMeetingBody field from the body or its default; id, status and created_at stay."""
    org = call.org
    meeting = _meeting(org, call.params["meeting_id"])
    fields = {key: value for key, value in call.body.items() if key in MEETING_FIELDS}
    replaced = v2_meeting(
        {**fields, "id": meeting["id"], "status": meeting["status"], "created_at": meeting["created_at"]},
        store.ids,
        now=now_iso(),
        defaults=_meeting_defaults(call),
    )
    replaced["updated_at"] = now_iso()
    org.meetings.put(replaced["id"], replaced)
    return _ok(replaced)


# --- participants ----------------------------------------------------------------------


def _participant(org: V2Org, call: Call) -> tuple[Table, Obj]:
    participants = org.participants_of(_meeting(org, call.params["meeting_id"])["id"])
    participant = participants.get(call.params["participant_id"])
    if participant is None:
        raise ApiError(404, "Participant not found")
    return participants, participant


def _require_preset(org: V2Org, name: str) -> None:
    if name not in org.preset_ids_by_name:
        raise ApiError(400, f"No preset named {name!r} in this organization")


def list_participants(store: Store, call: Call) -> Reply:
    org = call.org
    return _paged_table(org.participants_of(_meeting(org, call.params["meeting_id"])["id"]), call)


def add_participant(store: Store, call: Call) -> Reply:
    """Creates every time: custom_participant_id is not unique in v2, so a retried create duplicates."""
    org, body = call.org, call.body
    meeting = _meeting(org, call.params["meeting_id"])
    _require_preset(org, body["preset_name"])
    participant = v2_participant(body, store.ids, now=now_iso())
    org.participants_of(meeting["id"]).put(participant["id"], participant)
    token = org.tokens[participant["id"]] = store.ids.token()
    return _ok({**participant, "token": token}, 201)


def get_participant(store: Store, call: Call) -> Reply:
    return _ok(_participant(call.org, call)[1])


def edit_participant(store: Store, call: Call) -> Reply:
    org, body = call.org, call.body
    participants, participant = _participant(org, call)
    updated = {**participant, "updated_at": now_iso()}
    for key in ("name", "picture"):
        if key in body:
            updated[key] = body[key]
    if body.get("preset_name") is not None:
        _require_preset(org, body["preset_name"])
        updated["preset_name"] = body["preset_name"]
    participants.put(updated["id"], updated)
    token = org.tokens.setdefault(updated["id"], store.ids.token())
    return _ok({**updated, "token": token})


def refresh_token(store: Store, call: Call) -> Reply:
    """RealtimeKit only: a new token for an existing participant."""
    org = call.org
    _, participant = _participant(org, call)
    token = org.tokens[participant["id"]] = store.ids.token()
    return _ok({"token": token})


def delete_participant(store: Store, call: Call) -> Reply:
    org = call.org
    participants, participant = _participant(org, call)
    participants.remove(participant["id"])
    org.tokens.pop(participant["id"], None)
    preset_id = org.preset_ids_by_name.get(participant["preset_name"]) or str(
        uuid.uuid5(uuid.NAMESPACE_URL, participant["preset_name"])
    )
    return _ok(
        {key: participant[key] for key in ("custom_participant_id", "created_at", "updated_at")} | {"preset_id": preset_id}
    )


# --- webhooks --------------------------------------------------------------------------


def _webhook(org: V2Org, call: Call) -> Obj:
    webhook = org.webhooks.get(call.params["webhook_id"])
    if webhook is None:
        raise ApiError(404, "Webhook not found")
    return webhook


def list_webhooks(store: Store, call: Call) -> Reply:
    return _ok(list(call.org.webhooks))


def create_webhook(store: Store, call: Call) -> Reply:
    org, body, now = call.org, call.body, now_iso()
    webhook = {
        "id": store.ids.uuid(),
        "name": body["name"],
        "url": body["url"],
        "events": body["events"],
        "enabled": body.get("enabled", True),
        "created_at": now,
        "updated_at": now,
    }
    org.webhooks.put(webhook["id"], webhook)
    return _ok(webhook, 201)


def get_webhook(store: Store, call: Call) -> Reply:
    return _ok(_webhook(call.org, call))


def _store_webhook(org: V2Org, webhook: Obj, changes: Obj) -> Reply:
    fields: Obj = {key: changes[key] for key in ("name", "url", "events", "enabled") if key in changes}
    updated: Obj = {**webhook, **fields, "updated_at": now_iso()}
    org.webhooks.put(updated["id"], updated)
    return _ok(updated)


def replace_webhook(store: Store, call: Call) -> Reply:
    org = call.org
    return _store_webhook(org, _webhook(org, call), {"enabled": True, **call.body})


def edit_webhook(store: Store, call: Call) -> Reply:
    org = call.org
    return _store_webhook(org, _webhook(org, call), call.body)


def delete_webhook(store: Store, call: Call) -> Reply:
    org = call.org
    webhook = _webhook(org, call)
    org.webhooks.remove(webhook["id"])
    return _ok(webhook)


# --- recordings ------------------------------------------------------------------------


def _public(recording: Obj) -> Obj:
    return {key: value for key, value in recording.items() if not key.startswith("_")}


def list_recordings(store: Store, call: Call) -> Reply:
    org = call.org
    meeting_id = call.query.get("meeting_id")
    statuses = set(call.query["status"].split(",")) if call.query.get("status") else None
    matching = [
        r
        for r in org.recordings
        if (meeting_id is None or r["_meeting_id"] == meeting_id) and (statuses is None or r["status"] in statuses)
    ]

    def shape(recording: Obj) -> Obj:
        item = {**_public(recording), "storage_config": None}
        meeting = org.meetings.get(recording["_meeting_id"])
        if meeting is not None:
            item["meeting"] = meeting
        return item

    return _paged(matching, len(matching), call, shape)


def get_recording(store: Store, call: Call) -> Reply:
    recording = call.org.recordings.get(call.params["recording_id"])
    if recording is None:
        raise ApiError(404, "Recording not found")
    return _ok({**_public(recording), "storage_config": None})


def active_recording(store: Store, call: Call) -> Reply:
    meeting_id = call.params["meeting_id"]
    for recording in call.org.recordings:
        if recording["_meeting_id"] == meeting_id and recording["status"] in ("RECORDING", "PAUSED"):
            return _ok(_public(recording))
    raise ApiError(404, "No active recording for this meeting")


# --- the table -------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    """Where one copy of these resources is served: URL prefix, spec, auth area, org scope."""

    area: Area
    route_prefix: str  # prepended to the spec's paths to give the URL templates
    spec: str
    spec_prefix: str  # the spec's paths start with this before the resource path
    scope: Scope  # which org a request works on, from the path parameters


def _v2_org(store: Store, params: Any) -> V2Org:
    return store.orgs.v2


def _rtk_app(store: Store, params: Any) -> V2Org:
    org = store.orgs.rtk.app_orgs.get(params["app_id"])
    if org is None:
        raise ApiError(404, "App not found")
    return org


DYTE_V2 = Surface("v2", "/v2", V2_SPEC, "", _v2_org)
REALTIMEKIT = Surface("rtk", "/client/v4", RTK_SPEC, "/accounts/{account_id}/realtime/kit/{app_id}", _rtk_app)

_PRESET, _MEETING = "/presets/{preset_id}", "/meetings/{meeting_id}"
_PARTICIPANT, _WEBHOOK = f"{_MEETING}/participants/{{participant_id}}", "/webhooks/{webhook_id}"
_OPERATIONS: list[tuple[str, str, Any]] = [
    ("GET", "/presets", list_presets),
    ("POST", "/presets", create_preset),
    ("GET", _PRESET, get_preset),
    ("PATCH", _PRESET, update_preset),
    ("PUT", _PRESET, replace_preset),
    ("DELETE", _PRESET, delete_preset),
    ("GET", "/meetings", list_meetings),
    ("POST", "/meetings", create_meeting),
    ("GET", _MEETING, get_meeting),
    ("PATCH", _MEETING, update_meeting),
    ("PUT", _MEETING, replace_meeting),
    ("GET", f"{_MEETING}/participants", list_participants),
    ("POST", f"{_MEETING}/participants", add_participant),
    ("GET", _PARTICIPANT, get_participant),
    ("PATCH", _PARTICIPANT, edit_participant),
    ("DELETE", _PARTICIPANT, delete_participant),
    ("POST", f"{_PARTICIPANT}/token", refresh_token),
    ("GET", "/webhooks", list_webhooks),
    ("POST", "/webhooks", create_webhook),
    ("GET", _WEBHOOK, get_webhook),
    ("PUT", _WEBHOOK, replace_webhook),
    ("PATCH", _WEBHOOK, edit_webhook),
    ("DELETE", _WEBHOOK, delete_webhook),
    ("GET", "/recordings", list_recordings),
    ("GET", "/recordings/{recording_id}", get_recording),
    ("GET", "/recordings/active-recording/{meeting_id}", active_recording),
]


def routes(surface: Surface = DYTE_V2) -> list[Route]:
    """The operations the surface's spec declares; request schemas are compiled here, once per process start.

    Undeclared query parameters are refused: a client sending v1's offset/limit to v2 learns at once.
    """
    spec = SpecDocument.load(surface.spec)
    table = []
    for method, path, handler in _OPERATIONS:
        spec_path = surface.spec_prefix + path
        operation = spec.document["paths"].get(spec_path, {}).get(method.lower())
        if operation is None:
            continue  # e.g. PUT /presets/{id} and the token refresh exist only in RealtimeKit
        body = BodySchema(*spec.request_body_validator(spec_path, method)) if "requestBody" in operation else None
        table.append(
            Route(
                method,
                surface.route_prefix + spec_path,
                handler,
                surface.area,
                body,
                QueryRules.from_spec(spec, spec_path, method),
                surface.scope,
                surface.spec,
            )
        )
    return table
