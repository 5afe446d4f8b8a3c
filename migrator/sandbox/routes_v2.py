"""The v2 operations of `dyte-v2.yaml` the toolkit uses; no meeting DELETE, as in the real API.

Handlers run under the store lock and only touch the v2 org; bodies arrive already
validated against the spec's request schema.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import cache
from typing import Any, Callable

import jsonschema

from migrator.sandbox.idgen import now_iso, parse_iso
from migrator.sandbox.loader import V2_MEETING_DEFAULTS, v2_meeting, v2_participant
from migrator.sandbox.paging import v2_paging, v2_window
from migrator.sandbox.query import QueryRules
from migrator.sandbox.routing import BodySchema, Route
from migrator.sandbox.specs import SpecDocument, first_problem
from migrator.sandbox.store import Obj, Store, Table, V2Org
from migrator.sandbox.wire import ApiError, Call, Reply

V2_SPEC = "dyte-v2.yaml"


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
def _preset_schema() -> jsonschema.Draft4Validator:
    return SpecDocument.load(V2_SPEC).component_validator("Preset")


def _preset_item(preset: Obj) -> Obj:
    return {key: preset[key] for key in ("id", "name", "created_at", "updated_at")}


def list_presets(store: Store, call: Call) -> Reply:
    return _paged_table(store.orgs.v2.presets, call, _preset_item)


def create_preset(store: Store, call: Call) -> Reply:
    org, body, now = store.orgs.v2, call.body, now_iso()
    if body["name"] in org.preset_ids_by_name:
        raise ApiError(409, f"A preset named {body['name']!r} already exists")
    preset = {**body, "id": store.ids.uuid(), "created_at": now, "updated_at": now}
    org.presets.put(preset["id"], preset)
    org.preset_ids_by_name[preset["name"]] = preset["id"]
    return _ok(preset)


def get_preset(store: Store, call: Call) -> Reply:
    return _ok(_preset(store.orgs.v2, call))


def update_preset(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    preset = _preset(org, call)
    updated = {**deep_merge(preset, call.body), "id": preset["id"], "created_at": preset["created_at"], "updated_at": now_iso()}
    problem = first_problem(_preset_schema(), updated, root="preset")
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
    org = store.orgs.v2
    preset = _preset(org, call)
    org.presets.remove(preset["id"])
    del org.preset_ids_by_name[preset["name"]]
    return _ok(preset)


# --- meetings --------------------------------------------------------------------------

MEETING_FIELDS = frozenset({*V2_MEETING_DEFAULTS, "title", "recording_config", "ai_config"})  # writable by a client


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
    org = store.orgs.v2
    search = call.query.get("search", "").casefold()
    start, end = _time_bound(call, "start_time"), _time_bound(call, "end_time")
    if not search and start is None and end is None:
        return _paged_table(org.meetings, call)
    matching = []
    for meeting in org.meetings:
        created = parse_iso(meeting["created_at"])
        if (search in meeting.get("title", "").casefold()
                and (start is None or created >= start) and (end is None or created <= end)):
            matching.append(meeting)
    return _paged(matching, len(matching), call)


def create_meeting(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    fields = {key: value for key, value in call.body.items() if key in MEETING_FIELDS and key != "status"}
    meeting = v2_meeting(fields, store.ids, now=now_iso())
    org.meetings.put(meeting["id"], meeting)
    return _ok(meeting, 201)


def get_meeting(store: Store, call: Call) -> Reply:
    return _ok(_meeting(store.orgs.v2, call.params["meeting_id"]))


def update_meeting(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    meeting = _meeting(org, call.params["meeting_id"])
    changes = {key: value for key, value in call.body.items() if key in MEETING_FIELDS}
    updated = {**meeting, **changes, "updated_at": now_iso()}
    org.meetings.put(updated["id"], updated)
    return _ok(updated)


def replace_meeting(store: Store, call: Call) -> Reply:
    """PUT: every CreateMeetingBody field from the body or its default; id, status and created_at stay."""
    org = store.orgs.v2
    meeting = _meeting(org, call.params["meeting_id"])
    fields = {key: value for key, value in call.body.items() if key in MEETING_FIELDS}
    replaced = v2_meeting({**fields, "id": meeting["id"], "status": meeting["status"], "created_at": meeting["created_at"]},
                          store.ids, now=now_iso())
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
    org = store.orgs.v2
    return _paged_table(org.participants_of(_meeting(org, call.params["meeting_id"])["id"]), call)


def add_participant(store: Store, call: Call) -> Reply:
    """Creates every time: custom_participant_id is not unique in v2, so a retried create duplicates."""
    org, body = store.orgs.v2, call.body
    meeting = _meeting(org, call.params["meeting_id"])
    _require_preset(org, body["preset_name"])
    participant = v2_participant(body, store.ids, now=now_iso())
    org.participants_of(meeting["id"]).put(participant["id"], participant)
    token = org.tokens[participant["id"]] = store.ids.token()
    return _ok({**participant, "token": token}, 201)


def get_participant(store: Store, call: Call) -> Reply:
    return _ok(_participant(store.orgs.v2, call)[1])


def edit_participant(store: Store, call: Call) -> Reply:
    org, body = store.orgs.v2, call.body
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


def delete_participant(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    participants, participant = _participant(org, call)
    participants.remove(participant["id"])
    org.tokens.pop(participant["id"], None)
    preset_id = org.preset_ids_by_name.get(participant["preset_name"]) or str(uuid.uuid5(uuid.NAMESPACE_URL, participant["preset_name"]))
    return _ok({key: participant[key] for key in ("custom_participant_id", "created_at", "updated_at")} | {"preset_id": preset_id})


# --- webhooks --------------------------------------------------------------------------

def _webhook(org: V2Org, call: Call) -> Obj:
    webhook = org.webhooks.get(call.params["webhook_id"])
    if webhook is None:
        raise ApiError(404, "Webhook not found")
    return webhook


def list_webhooks(store: Store, call: Call) -> Reply:
    return _ok(list(store.orgs.v2.webhooks))


def create_webhook(store: Store, call: Call) -> Reply:
    org, body, now = store.orgs.v2, call.body, now_iso()
    webhook = {"id": store.ids.uuid(), "name": body["name"], "url": body["url"], "events": body["events"],
               "enabled": body.get("enabled", True), "created_at": now, "updated_at": now}
    org.webhooks.put(webhook["id"], webhook)
    return _ok(webhook, 201)


def get_webhook(store: Store, call: Call) -> Reply:
    return _ok(_webhook(store.orgs.v2, call))


def _store_webhook(org: V2Org, webhook: Obj, changes: Obj) -> Reply:
    fields: Obj = {key: changes[key] for key in ("name", "url", "events", "enabled") if key in changes}
    updated: Obj = {**webhook, **fields, "updated_at": now_iso()}
    org.webhooks.put(updated["id"], updated)
    return _ok(updated)


def replace_webhook(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    return _store_webhook(org, _webhook(org, call), {"enabled": True, **call.body})


def edit_webhook(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    return _store_webhook(org, _webhook(org, call), call.body)


def delete_webhook(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    webhook = _webhook(org, call)
    org.webhooks.remove(webhook["id"])
    return _ok(webhook)


# --- recordings ------------------------------------------------------------------------

def _public(recording: Obj) -> Obj:
    return {key: value for key, value in recording.items() if not key.startswith("_")}


def list_recordings(store: Store, call: Call) -> Reply:
    org = store.orgs.v2
    meeting_id = call.query.get("meeting_id")
    statuses = set(call.query["status"].split(",")) if call.query.get("status") else None
    matching = [r for r in org.recordings
                if (meeting_id is None or r["_meeting_id"] == meeting_id) and (statuses is None or r["status"] in statuses)]

    def shape(recording: Obj) -> Obj:
        item = {**_public(recording), "storage_config": None}
        meeting = org.meetings.get(recording["_meeting_id"])
        if meeting is not None:
            item["meeting"] = meeting
        return item

    return _paged(matching, len(matching), call, shape)


def get_recording(store: Store, call: Call) -> Reply:
    recording = store.orgs.v2.recordings.get(call.params["recording_id"])
    if recording is None:
        raise ApiError(404, "Recording not found")
    return _ok({**_public(recording), "storage_config": None})


def active_recording(store: Store, call: Call) -> Reply:
    meeting_id = call.params["meeting_id"]
    for recording in store.orgs.v2.recordings:
        if recording["_meeting_id"] == meeting_id and recording["status"] in ("RECORDING", "PAUSED"):
            return _ok(_public(recording))
    raise ApiError(404, "No active recording for this meeting")


# --- the table -------------------------------------------------------------------------

def _body(path: str, method: str) -> BodySchema:
    return BodySchema(*SpecDocument.load(V2_SPEC).request_body_validator(path, method))


def routes() -> list[Route]:
    """v2 routes; request schemas are compiled here, once per process start."""
    preset, meeting = "/presets/{preset_id}", "/meetings/{meeting_id}"
    participant, webhook = f"{meeting}/participants/{{participant_id}}", "/webhooks/{webhook_id}"
    table: list[tuple[str, str, Any, BodySchema | None]] = [
        ("GET", "/presets", list_presets, None),
        ("POST", "/presets", create_preset, _body("/presets", "post")),
        ("GET", preset, get_preset, None),
        ("PATCH", preset, update_preset, _body(preset, "patch")),
        ("DELETE", preset, delete_preset, None),
        ("GET", "/meetings", list_meetings, None),
        ("POST", "/meetings", create_meeting, _body("/meetings", "post")),
        ("GET", meeting, get_meeting, None),
        ("PATCH", meeting, update_meeting, _body(meeting, "patch")),
        ("PUT", meeting, replace_meeting, _body(meeting, "put")),
        ("GET", f"{meeting}/participants", list_participants, None),
        ("POST", f"{meeting}/participants", add_participant, _body(f"{meeting}/participants", "post")),
        ("GET", participant, get_participant, None),
        ("PATCH", participant, edit_participant, _body(participant, "patch")),
        ("DELETE", participant, delete_participant, None),
        ("GET", "/webhooks", list_webhooks, None),
        ("POST", "/webhooks", create_webhook, _body("/webhooks", "post")),
        ("GET", webhook, get_webhook, None),
        ("PUT", webhook, replace_webhook, _body(webhook, "put")),
        ("PATCH", webhook, edit_webhook, _body(webhook, "patch")),
        ("DELETE", webhook, delete_webhook, None),
        ("GET", "/recordings", list_recordings, None),
        ("GET", "/recordings/{recording_id}", get_recording, None),
        ("GET", "/recordings/active-recording/{meeting_id}", active_recording, None),
    ]
    spec = SpecDocument.load(V2_SPEC)
    # Undeclared query parameters are refused: a client sending v1's offset/limit to v2 learns at once.
    return [Route(method, "/v2" + path, handler, "v2", body, QueryRules.from_spec(spec, path, method))
            for method, path, handler, body in table]
