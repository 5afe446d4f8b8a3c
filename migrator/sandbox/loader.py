"""Turns a dataset document (the JSON format of docs/sandbox.md) into the orgs (v1, v2, RealtimeKit).

Every field the document leaves out gets a default or a seeded id, so a hand-written
file can stay short. Nothing here judges whether the v1 data is sensible: tests use
file datasets to feed the migrator malformed or unresolvable v1 objects on purpose.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from migrator.sandbox.idgen import IdSource, now_iso
from migrator.sandbox.store import Obj, Orgs, RtkAccount, V1Org, V2Org

SANDBOX_EPOCH = "2023-01-02T09:00:00.000Z"


class DatasetError(ValueError):
    """The dataset document is not in the documented format."""


def _list(parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = parent.get(key, [])
    if not isinstance(value, list):
        raise DatasetError(f"{where}.{key} must be a list")
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise DatasetError(f"{where}.{key}[{index}] must be an object")
    return value


def _required(item: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in item:
        raise DatasetError(f"{where} lacks {key!r}")
    return item[key]


def build_orgs(document: Mapping[str, Any], ids: IdSource) -> Orgs:
    """Both orgs from a dataset document; credentials first, so they depend only on the seed."""
    if not isinstance(document, Mapping):
        raise DatasetError("a dataset must be a JSON object")
    credentials = document.get("credentials", {})
    v1_id = credentials.get("v1", {}).get("org_id") or ids.uuid()
    v1_key = credentials.get("v1", {}).get("api_key") or ids.secret()
    v2_id = credentials.get("v2", {}).get("org_id") or ids.uuid()
    v2_key = credentials.get("v2", {}).get("api_key") or ids.secret()
    features = document.get("features", {})
    v1 = _build_v1(document.get("v1", {}), V1Org(v1_id, v1_key, {}, bool(features.get("roles_route", True))), ids)
    v2 = _build_v2(document.get("v2", {}), V2Org(v2_id, v2_key), ids)
    return Orgs(v1, v2, _build_rtk(credentials.get("realtimekit", {}), v2_key))


def _build_rtk(credentials: Mapping[str, Any], seed_text: str) -> RtkAccount:
    """One account with one empty app (apps made through the API have no presets).

    Ids come from their own source, seeded by the v2 key, so that they depend on the seed
    only (not on the dataset's size) and the v1/v2 ids stay what they were.
    """
    ids = IdSource(int(hashlib.sha256(seed_text.encode()).hexdigest()[:12], 16))
    account = RtkAccount(
        credentials.get("account_id") or ids.uuid().replace("-", ""), credentials.get("api_token") or ids.secret()
    )
    app_id = credentials.get("app_id") or ids.uuid().replace("-", "")
    account.add_app({"id": app_id, "name": "sandbox", "created_at": SANDBOX_EPOCH})
    return account


def _build_v1(data: Mapping[str, Any], org: V1Org, ids: IdSource) -> V1Org:
    given = data.get("organization", {})
    org.organization = {
        "id": org.id,
        "name": given.get("name", "Sandbox v1 organization"),
        "description": given.get("description", "Local Dyte v1 organization served by dyte-migrate sandbox"),
        "contact": given.get("contact", "+10000000000"),
        "website": given.get("website", "https://sandbox.example.invalid"),
        "accessToken": given.get("accessToken", f"org-access-{ids.secret(16)}"),
        "createdAt": given.get("createdAt", SANDBOX_EPOCH),
    }
    for index, role in enumerate(_list(data, "roles", "v1")):
        where = f"v1.roles[{index}]"
        name = _required(role, "name", where)
        org.roles.put(
            name,
            {
                "id": role.get("id") or ids.uuid(),
                "name": name,
                "description": role.get("description", ""),
                "role": _required(role, "role", where),
                "createdAt": role.get("createdAt", SANDBOX_EPOCH),
            },
        )
    for index, preset in enumerate(_list(data, "presets", "v1")):
        where = f"v1.presets[{index}]"
        name = _required(preset, "name", where)
        org.presets.put(
            name,
            {
                "id": preset.get("id") or ids.uuid(),
                "name": name,
                "description": preset.get("description", ""),
                "preset": _required(preset, "preset", where),
                "createdAt": preset.get("createdAt", SANDBOX_EPOCH),
            },
        )
    for index, meeting in enumerate(_list(data, "meetings", "v1")):
        where = f"v1.meetings[{index}]"
        wire = v1_meeting(meeting, ids)
        org.meetings.put(wire["id"], wire)
        participants = org.participants_of(wire["id"])
        for participant in _list(meeting, "participants", where):
            stored = v1_participant(participant, ids)
            participants.put(stored["id"], stored)
        recordings = org.recordings_of(wire["id"])
        for recording in _list(meeting, "recordings", where):
            stored = v1_recording(recording, wire["id"], ids)
            recordings.put(stored["id"], stored)
    for index, webhook in enumerate(_list(data, "webhooks", "v1")):
        where = f"v1.webhooks[{index}]"
        stored = {
            "id": webhook.get("id") or ids.uuid(),
            "name": _required(webhook, "name", where),
            "url": _required(webhook, "url", where),
            "events": list(_required(webhook, "events", where)),
            "enabled": webhook.get("enabled", True),
            "organizationId": org.id,
            "createdAt": webhook.get("createdAt", SANDBOX_EPOCH),
            "updatedAt": webhook.get("updatedAt", webhook.get("createdAt", SANDBOX_EPOCH)),
        }
        org.webhooks.put(stored["id"], stored)
    return org


def v1_meeting(given: Mapping[str, Any], ids: IdSource) -> Obj:
    """A v1 meeting in wire shape: the spec's fields plus the ones a migration needs."""
    authorization = given.get("authorization") or {}
    meeting: Obj = {"id": given.get("id") or ids.uuid()}
    if given.get("title") is not None:
        meeting["title"] = given["title"]
    meeting.update(
        {
            "roomName": given.get("roomName") or ids.room_name(),
            "status": given.get("status", "CREATED"),
            "createdAt": given.get("createdAt") or now_iso(),
            "presetName": given.get("presetName"),
            "authorization": {
                "waitingRoom": bool(authorization.get("waitingRoom", False)),
                "closed": bool(authorization.get("closed", False)),
            },
            "recordOnStart": bool(given.get("recordOnStart", False)),
            "liveStreamOnStart": bool(given.get("liveStreamOnStart", False)),
        }
    )
    return meeting


def v1_participant(given: Mapping[str, Any], ids: IdSource) -> Obj:
    """A v1 participant in wire shape; absent optional spec fields stay absent (they are not nullable)."""
    participant: Obj = {"id": given.get("id") or ids.uuid()}
    for key in ("name", "email", "picture"):
        if given.get(key) is not None:
            participant[key] = given[key]
    participant["createdAt"] = given.get("createdAt") or now_iso()
    for key in ("clientSpecificId", "presetName", "roleName"):
        participant[key] = given.get(key)
    return participant


def v1_recording(given: Mapping[str, Any], meeting_id: str, ids: IdSource) -> Obj:
    started = given.get("startedTime", SANDBOX_EPOCH)
    recording: Obj = {
        "id": given.get("id") or ids.uuid(),
        "status": given.get("status", "UPLOADED"),
        "outputFileName": given.get("outputFileName", "recording.mp4"),
        "downloadUrl": given.get("downloadUrl"),
        "downloadUrlExpiry": given.get("downloadUrlExpiry"),
        "audioDownloadUrl": given.get("audioDownloadUrl"),
        "errMessage": given.get("errMessage"),
        "roomUUID": meeting_id,
        "invokedTime": given.get("invokedTime", started),
        "startedTime": started,
        "stoppedTime": given.get("stoppedTime", started),
    }
    for key in ("fileSize", "recordingDuration"):
        if key in given:
            recording[key] = given[key]
    return recording


def _build_v2(data: Mapping[str, Any], org: V2Org, ids: IdSource) -> V2Org:
    for index, preset in enumerate(_list(data, "presets", "v2")):
        stored = {"id": preset.get("id") or ids.uuid(), **preset}
        stored.setdefault("created_at", SANDBOX_EPOCH)
        stored.setdefault("updated_at", stored["created_at"])
        org.preset_ids_by_name[_required(preset, "name", f"v2.presets[{index}]")] = stored["id"]
        org.presets.put(stored["id"], stored)
    for index, meeting in enumerate(_list(data, "meetings", "v2")):
        where = f"v2.meetings[{index}]"
        fields = {key: value for key, value in meeting.items() if key not in ("participants", "recordings")}
        wire = v2_meeting(fields, ids, now=fields.get("created_at") or SANDBOX_EPOCH)
        org.meetings.put(wire["id"], wire)
        participants = org.participants_of(wire["id"])
        for number, participant in enumerate(_list(meeting, "participants", where)):
            for key in ("custom_participant_id", "preset_name"):
                _required(participant, key, f"{where}.participants[{number}]")
            stored = v2_participant(participant, ids, now=participant.get("created_at") or SANDBOX_EPOCH)
            participants.put(stored["id"], stored)
        for recording in _list(meeting, "recordings", where):
            stored = v2_recording(recording, wire["id"], ids)
            org.recordings.put(stored["id"], stored)
    for index, webhook in enumerate(_list(data, "webhooks", "v2")):
        where = f"v2.webhooks[{index}]"
        stored = {
            "id": webhook.get("id") or ids.uuid(),
            "name": _required(webhook, "name", where),
            "url": _required(webhook, "url", where),
            "events": list(_required(webhook, "events", where)),
            "enabled": webhook.get("enabled", True),
            "created_at": webhook.get("created_at", SANDBOX_EPOCH),
            "updated_at": webhook.get("updated_at", webhook.get("created_at", SANDBOX_EPOCH)),
        }
        org.webhooks.put(stored["id"], stored)
    return org


V2_MEETING_DEFAULTS: Obj = {
    "preferred_region": None,
    "record_on_start": False,
    "live_stream_on_start": False,
    "persist_chat": False,
    "summarize_on_end": False,
    "status": "ACTIVE",
}


# RealtimeKit's meeting (SDK MeetingCreateResponse): no preferred_region; transcribe_on_end;
# session_keep_alive_time_in_secs only when set.
RTK_MEETING_DEFAULTS: Obj = {key: value for key, value in V2_MEETING_DEFAULTS.items() if key != "preferred_region"} | {
    "transcribe_on_end": False,
}
OPTIONAL_MEETING_FIELDS = ("ai_config", "session_keep_alive_time_in_secs")  # kept only when given


def v2_meeting(given: Mapping[str, Any], ids: IdSource, now: str, defaults: Mapping[str, Any] = V2_MEETING_DEFAULTS) -> Obj:
    """A meeting from a CreateMeetingBody-like mapping; nulls fall back to `defaults` (v2's or RealtimeKit's)."""
    meeting: Obj = {"id": given.get("id") or ids.uuid()}
    if given.get("title") is not None:
        meeting["title"] = given["title"]
    for key, default in defaults.items():
        value = given.get(key)
        meeting[key] = default if value is None else value
    if given.get("recording_config") is not None:
        meeting["recording_config"] = _readable(given["recording_config"])
    for key in OPTIONAL_MEETING_FIELDS:
        if given.get(key) is not None:
            meeting[key] = given[key]
    meeting["created_at"] = given.get("created_at") or now
    meeting["updated_at"] = given.get("updated_at") or now
    return meeting


def _readable(recording_config: Any) -> Any:
    """RecordingConfig as v2 answers it: `storage_config.access_key` is write-only in the spec."""
    storage = recording_config.get("storage_config") if isinstance(recording_config, dict) else None
    if not isinstance(storage, dict) or "access_key" not in storage:
        return recording_config
    return {**recording_config, "storage_config": {k: v for k, v in storage.items() if k != "access_key"}}


def v2_participant(given: Mapping[str, Any], ids: IdSource, now: str) -> Obj:
    return {
        "id": given.get("id") or ids.uuid(),
        "name": given.get("name"),
        "picture": given.get("picture"),
        "custom_participant_id": given["custom_participant_id"],
        "preset_name": given["preset_name"],
        "created_at": given.get("created_at") or now,
        "updated_at": given.get("updated_at") or now,
    }


def v2_recording(given: Mapping[str, Any], meeting_id: str, ids: IdSource) -> Obj:
    started = given.get("started_time", SANDBOX_EPOCH)
    recording: Obj = {
        "id": given.get("id") or ids.uuid(),
        "download_url": given.get("download_url"),
        "download_url_expiry": given.get("download_url_expiry"),
        "audio_download_url": given.get("audio_download_url"),
        "file_size": given.get("file_size"),
        "session_id": given.get("session_id"),
        "output_file_name": given.get("output_file_name", "recording.mp4"),
        "status": given.get("status", "UPLOADED"),
        "invoked_time": given.get("invoked_time", started),
        "started_time": started,
        "stopped_time": given.get("stopped_time"),
        "_meeting_id": meeting_id,
    }
    if "recording_duration" in given:
        recording["recording_duration"] = given["recording_duration"]
    return recording
