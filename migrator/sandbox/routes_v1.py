"""The v1 operations (`dyte-v1.yaml`, roles from `dyte-v1-2022-roles.yaml`) and the /s3 documents.

Handlers run under the store lock and only touch the v1 org; bodies arrive already
validated against the spec's request schema.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from migrator.sandbox.idgen import now_iso, parse_iso
from migrator.sandbox.loader import v1_meeting, v1_participant
from migrator.sandbox.paging import MAX_PAGE_SIZE, v1_window
from migrator.sandbox.routing import BodySchema, Route
from migrator.sandbox.specs import SpecDocument
from migrator.sandbox.store import Obj, Store, V1Org
from migrator.sandbox.wire import ApiError, Call, Reply

V1_SPEC = "dyte-v1.yaml"
ORG = "/organizations/{organizationId}"


def _ok(data: Any) -> Reply:
    return Reply(200, {"success": True, "data": data})


def _done(message: str) -> Reply:
    return Reply(200, {"success": True, "message": message})


def _meeting(org: V1Org, call: Call) -> Obj:
    meeting = org.meetings.get(call.params["meetingId"])
    if meeting is None:
        raise ApiError(404, "Meeting not found")
    return meeting


def _require_preset(org: V1Org, name: Any) -> None:
    if name is not None and name not in org.presets:
        raise ApiError(400, f"No preset named {name!r} in this organization")


def _require_role(org: V1Org, name: Any) -> None:
    if name is not None and name not in org.roles:
        raise ApiError(400, f"No role named {name!r} in this organization")


def document_url(base_url: str, org: V1Org, kind: str, name: str) -> str:
    return f"{base_url}/s3/{org.id}/{kind}/{quote(name, safe='')}.json"


def _listing_item(org: V1Org, stored: Obj, kind: str, base_url: str) -> Obj:
    """A PresetRole item; roles carry `organization` too because the spec's PresetRole requires it."""
    return {
        "id": stored["id"],
        "name": stored["name"],
        "description": stored["description"],
        "s3URL": document_url(base_url, org, kind, stored["name"]),
        "organization": org.organization,
    }


# --- presets and roles ---------------------------------------------------------------


def list_presets(store: Store, call: Call) -> Reply:
    org, window = store.orgs.v1, v1_window(call.query)
    return _ok(
        {"presets": [_listing_item(org, p, "presets", call.base_url) for p in org.presets.page(window.offset, window.limit)]}
    )


def add_preset(store: Store, call: Call) -> Reply:
    org, body = store.orgs.v1, call.body
    _require_role(org, body["preset"]["role"])
    existing = org.presets.get(body["name"])
    stored = {
        "id": existing["id"] if existing else store.ids.uuid(),
        "name": body["name"],
        "description": body.get("description", existing["description"] if existing else ""),
        "preset": body["preset"],
        "createdAt": existing["createdAt"] if existing else now_iso(),
    }
    org.presets.put(stored["name"], stored)
    return _ok({"preset": _listing_item(org, stored, "presets", call.base_url), "override": existing is not None})


def _roles_route(org: V1Org) -> None:
    if not org.roles_route:
        raise ApiError(404, "Not found")


def list_roles(store: Store, call: Call) -> Reply:
    org, window = store.orgs.v1, v1_window(call.query)
    _roles_route(org)
    return _ok({"roles": [_listing_item(org, r, "roles", call.base_url) for r in org.roles.page(window.offset, window.limit)]})


def add_role(store: Store, call: Call) -> Reply:
    org, body = store.orgs.v1, call.body
    _roles_route(org)
    existing = org.roles.get(body["name"])
    stored = {
        "id": existing["id"] if existing else store.ids.uuid(),
        "name": body["name"],
        "description": body.get("description", existing["description"] if existing else ""),
        "role": body["role"],
        "createdAt": existing["createdAt"] if existing else now_iso(),
    }
    org.roles.put(stored["name"], stored)
    return _ok({"role": _listing_item(org, stored, "roles", call.base_url), "override": existing is not None})


def _role_document(role: Obj) -> Obj:
    return {"name": role["name"], "description": role["description"], "role": role["role"]}


def _document_name(call: Call, kind: str) -> str:
    file = call.params["file"]
    if not file.endswith(".json"):
        raise ApiError(404, f"No such {kind} document")
    return file[: -len(".json")]


def _document_org(store: Store, call: Call) -> V1Org:
    org = store.orgs.v1
    if call.params["orgId"] != org.id:
        raise ApiError(404, "No such document")
    return org


def preset_document(store: Store, call: Call) -> Reply:
    """The preset as created (CreatePresetRequestBody) plus its role's full document."""
    org = _document_org(store, call)
    preset = org.presets.get(_document_name(call, "preset"))
    if preset is None:
        raise ApiError(404, "No such preset document")
    role = org.roles.get(preset["preset"].get("role", ""))
    return Reply(
        200,
        {
            "name": preset["name"],
            "description": preset["description"],
            "preset": preset["preset"],
            "role": _role_document(role) if role else None,
        },
    )


def role_document(store: Store, call: Call) -> Reply:
    org = _document_org(store, call)
    role = org.roles.get(_document_name(call, "role"))
    if role is None:
        raise ApiError(404, "No such role document")
    return Reply(200, _role_document(role))


# --- meetings and participants ----------------------------------------------------------


def _created_after(query_value: str) -> datetime:
    try:
        return parse_iso(query_value)
    except ValueError:
        raise ApiError(400, "startTime must be an ISO 8601 date-time") from None


def list_meetings(store: Store, call: Call) -> Reply:
    org, window = store.orgs.v1, v1_window(call.query)
    search = call.query.get("search", "").casefold()
    start = call.query.get("startTime", "")
    if not search and not start:
        return _ok({"meetings": org.meetings.page(window.offset, window.limit)})
    after = _created_after(start) if start else datetime.min.replace(tzinfo=UTC)
    matching = [
        meeting
        for meeting in org.meetings
        if (search in meeting.get("title", "").casefold() or search in meeting["roomName"].casefold())
        and parse_iso(meeting["createdAt"]) > after
    ]
    return _ok({"meetings": matching[window.offset : window.offset + window.limit]})


def create_meeting(store: Store, call: Call) -> Reply:
    org, body = store.orgs.v1, call.body
    _require_preset(org, body.get("presetName"))
    meeting = v1_meeting(
        {
            key: value
            for key, value in body.items()
            if key in ("title", "presetName", "authorization", "recordOnStart", "liveStreamOnStart")
        },
        store.ids,
    )
    org.meetings.put(meeting["id"], meeting)
    return _ok({"meeting": {**meeting, "participants": []}})


def get_meeting(store: Store, call: Call) -> Reply:
    return _ok({"meeting": _meeting(store.orgs.v1, call)})


def update_meeting(store: Store, call: Call) -> Reply:
    org, body = store.orgs.v1, call.body
    meeting = _meeting(org, call)
    _require_preset(org, body.get("presetName"))
    updated = {**meeting, **{key: body[key] for key in ("title", "presetName", "status") if key in body}}
    org.meetings.put(updated["id"], updated)
    return _ok({"meeting": updated})


def add_participant(store: Store, call: Call) -> Reply:
    """Adds once per clientSpecificId and meeting; a repeat answers `userAdded: false`, as v1 did."""
    org, body = store.orgs.v1, call.body
    meeting = _meeting(org, call)
    _require_preset(org, body.get("presetName"))
    _require_role(org, body.get("roleName"))
    participants = org.participants_of(meeting["id"])
    if any(p["clientSpecificId"] == body["clientSpecificId"] for p in participants):
        return _ok({"authResponse": {"userAdded": False, "authToken": store.ids.token()}})
    details = body.get("userDetails") or {}
    participant = v1_participant(
        {
            "name": details.get("name"),
            "picture": details.get("picture"),
            "clientSpecificId": body["clientSpecificId"],
            "presetName": body.get("presetName"),
            "roleName": body.get("roleName"),
        },
        store.ids,
    )
    participants.put(participant["id"], participant)
    return _ok({"authResponse": {"userAdded": True, "authToken": store.ids.token()}})


def list_participants(store: Store, call: Call) -> Reply:
    org, window = store.orgs.v1, v1_window(call.query)
    meeting = _meeting(org, call)
    return _ok({"participants": org.participants_of(meeting["id"]).page(window.offset, window.limit)})


def delete_participant(store: Store, call: Call) -> Reply:
    org = store.orgs.v1
    meeting = _meeting(org, call)
    if org.participants_of(meeting["id"]).remove(call.params["participantId"]) is None:
        raise ApiError(404, "Participant not found")
    return _done("Participant deleted")


# --- webhooks --------------------------------------------------------------------------


def _webhook(org: V1Org, call: Call) -> Obj:
    webhook = org.webhooks.get(call.params["webhookId"])
    if webhook is None:
        raise ApiError(404, "Webhook not found")
    return webhook


def create_webhook(store: Store, call: Call) -> Reply:
    org, body, now = store.orgs.v1, call.body, now_iso()
    webhook = {
        "id": store.ids.uuid(),
        "name": body["name"],
        "url": body["url"],
        "events": body["events"],
        "enabled": body.get("enabled", True),
        "organizationId": org.id,
        "createdAt": now,
        "updatedAt": now,
    }
    org.webhooks.put(webhook["id"], webhook)
    return _ok({"webhook": webhook})


def list_webhooks(store: Store, call: Call) -> Reply:
    """Unpaged in the spec; offset/limit still honoured so a paging client terminates."""
    org, window = store.orgs.v1, v1_window(call.query, default_limit=MAX_PAGE_SIZE)
    return _ok({"webhooks": org.webhooks.page(window.offset, window.limit)})


def get_webhook(store: Store, call: Call) -> Reply:
    return _ok({"webhook": _webhook(store.orgs.v1, call)})


def update_webhook(store: Store, call: Call) -> Reply:
    org, body = store.orgs.v1, call.body
    webhook = _webhook(org, call)
    updated = {
        **webhook,
        "name": body["name"],
        "url": body["url"],
        "events": body["events"],
        "enabled": body.get("enabled", webhook["enabled"]),
        "updatedAt": now_iso(),
    }
    org.webhooks.put(updated["id"], updated)
    return _ok({"webhook": updated})


def delete_webhook(store: Store, call: Call) -> Reply:
    org = store.orgs.v1
    org.webhooks.remove(_webhook(org, call)["id"])
    return _done("Webhook deleted")


# --- recordings ------------------------------------------------------------------------


def _unix_bound(call: Call, name: str) -> float | None:
    raw = call.query.get(name, "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a Unix timestamp") from None


def recording_stats(store: Store, call: Call) -> Reply:
    org, window = store.orgs.v1, v1_window(call.query)
    start, end = _unix_bound(call, "startTime"), _unix_bound(call, "endTime")
    stats = []
    for meeting in org.meetings:
        for recording in org.recordings.get(meeting["id"], ()):
            started = parse_iso(recording["startedTime"]).timestamp()
            if (start is None or started >= start) and (end is None or started <= end):
                stats.append(
                    {
                        "startedTime": recording["startedTime"],
                        "stoppedTime": recording["stoppedTime"],
                        "roomName": meeting["roomName"],
                        "status": recording["status"],
                    }
                )
    return _ok({"total": len(stats), "recordingStats": stats[window.offset : window.offset + window.limit]})


def list_meeting_recordings(store: Store, call: Call) -> Reply:
    org, window = store.orgs.v1, v1_window(call.query)
    meeting = _meeting(org, call)
    return _ok({"recordings": org.recordings_of(meeting["id"]).page(window.offset, window.limit)})


def get_recording(store: Store, call: Call) -> Reply:
    org = store.orgs.v1
    recording = org.recordings_of(_meeting(org, call)["id"]).get(call.params["recordingId"])
    if recording is None:
        raise ApiError(404, "Recording not found")
    return _ok({"recording": recording})


# --- the table -------------------------------------------------------------------------


def _body(path: str, method: str) -> BodySchema:
    return BodySchema(*SpecDocument.load(V1_SPEC).request_body_validator(path, method))


def routes() -> list[Route]:
    """v1 routes; request schemas are compiled here, once per process start."""
    meeting = f"{ORG}/meetings/{{meetingId}}"
    webhook = f"{ORG}/webhooks/{{webhookId}}"
    # The 2022 roles spec's role body lacks video quality `fhd`, which the later v1 spec
    # (and real v1 roles) carry: validate against the later, wider schema.
    role_body = BodySchema(SpecDocument.load(V1_SPEC).component_validator("CreatePresetRoleRequestBody"), True)
    table: list[tuple[str, str, Any, BodySchema | None]] = [
        ("POST", f"{ORG}/preset", add_preset, _body(f"{ORG}/preset", "post")),
        ("GET", f"{ORG}/presets", list_presets, None),
        ("POST", f"{ORG}/preset-role", add_role, role_body),
        ("GET", f"{ORG}/preset-roles", list_roles, None),
        ("POST", f"{ORG}/meeting", create_meeting, _body(f"{ORG}/meeting", "post")),
        ("GET", f"{ORG}/meetings", list_meetings, None),
        ("GET", meeting, get_meeting, None),
        ("PUT", meeting, update_meeting, _body(meeting, "put")),
        ("POST", f"{meeting}/participant", add_participant, _body(f"{meeting}/participant", "post")),
        ("GET", f"{meeting}/participants", list_participants, None),
        ("DELETE", f"{meeting}/participant/{{participantId}}", delete_participant, None),
        ("GET", f"{meeting}/recordings", list_meeting_recordings, None),
        ("GET", f"{meeting}/recordings/{{recordingId}}", get_recording, None),
        ("POST", f"{ORG}/webhook", create_webhook, _body(f"{ORG}/webhook", "post")),
        ("GET", f"{ORG}/webhooks", list_webhooks, None),
        ("GET", webhook, get_webhook, None),
        ("PUT", webhook, update_webhook, _body(webhook, "put")),
        ("DELETE", webhook, delete_webhook, None),
        ("GET", f"{ORG}/recordings", recording_stats, None),
    ]
    api = [Route(method, "/v1" + path, handler, "v1", body) for method, path, handler, body in table]
    documents = [
        Route("GET", "/s3/{orgId}/presets/{file}", preset_document, "s3"),
        Route("GET", "/s3/{orgId}/roles/{file}", role_document, "s3"),
    ]
    return api + documents
