"""The dyte-v2 source profile: credentials, the pair check, and the identity mapping set to RealtimeKit."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from migrator import sources
from migrator.errors import CredentialError
from migrator.mapping import v2spec
from migrator.mapping.mapping_set import V2_IDENTITY_LAYOUT, MappingSet
from migrator.mapping.overlay import SPEC_DIR
from migrator.settings import load_credentials
from tests.integration.test_v2_source import v2_preset
from tests.mapping.helpers import MAPPINGS, SPECS, _strict

V2_SOURCE = {"DYTE_V2_ORG_ID": "org2", "DYTE_V2_API_KEY": "key2"}
RTK = {"CLOUDFLARE_ACCOUNT_ID": "acc", "CLOUDFLARE_API_TOKEN": "tok", "REALTIMEKIT_APP_ID": "app"}
SOURCE_SCHEMAS = {
    "meetings.yaml": "Meeting",
    "participants.yaml": "Participant",
    "webhooks.yaml": "Webhook",
    "presets.yaml": "Preset",
}
MEETING = {
    "id": "m1",
    "title": "Weekly",
    "preferred_region": "ap-south-1",
    "record_on_start": True,
    "live_stream_on_start": False,
    "persist_chat": True,
    "summarize_on_end": False,
    "status": "INACTIVE",
    "created_at": "2024-01-01T00:00:00.000Z",
    "updated_at": "2024-01-02T00:00:00.000Z",
}
PARTICIPANT = {
    "id": "p1",
    "custom_participant_id": "user-1",
    "preset_name": "host",
    "name": "Zoë",
    "picture": "not a uri",
    "created_at": "2024-01-01T00:00:00.000Z",
    "updated_at": "2024-01-01T00:00:00.000Z",
    "meetingId": "m1",
}
WEBHOOK = {
    "id": "w1",
    "name": "all",
    "url": "https://hooks.example.invalid/a",
    "events": ["meeting.started"],
    "enabled": False,
    "created_at": "2024-01-01T00:00:00.000Z",
    "updated_at": "2024-01-01T00:00:00.000Z",
}


@cache
def _rtk() -> MappingSet:
    return MappingSet.load(target="realtimekit", layout=V2_IDENTITY_LAYOUT)


def _rtk_errors(body: str, payload: dict[str, Any]) -> list[str]:
    """Strict (no unknown fields) validation against the SDK-derived RealtimeKit schema."""
    schema = _strict(v2spec.request_schema(body, SPEC_DIR / "realtimekit.json"))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in Draft7Validator(schema).iter_errors(payload)]


def test_a_v2_source_reads_the_v2_credentials() -> None:
    creds = load_credentials(env={**V2_SOURCE, **RTK}, source="dyte-v2", target="realtimekit")
    assert (creds.v1.profile.name, creds.v1.base_url, creds.v1.org_id) == ("dyte-v2", "https://api.dyte.io/v2", "org2")
    assert sources.of(creds).mappings is V2_IDENTITY_LAYOUT
    with pytest.raises(CredentialError, match="v2 credentials incomplete.*DYTE_V2_ORG_ID"):
        load_credentials(env=RTK, source="dyte-v2", target="realtimekit")


@pytest.mark.parametrize(
    ("source", "target", "needle"),
    [
        ("dyte-v2", "dyte-v2", "nothing to migrate"),
        ("dyte-v3", "realtimekit", "unknown source"),
    ],
)
def test_pairs_without_a_migration_are_refused(source: str, target: str, needle: str) -> None:
    with pytest.raises(CredentialError, match=needle):
        load_credentials(env={**V2_SOURCE, **RTK}, source=source, target=target)


def _leaves(schema: Any, document: dict[str, Any], prefix: str = "") -> set[str]:
    """Every field path of a v2 spec schema (walked here, not with the engine's helpers)."""
    if "$ref" in schema:
        target: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return _leaves(target, document, prefix)
    properties = dict(schema.get("properties", {}))
    for branch in schema.get("allOf", []):
        properties.update({k: v for k, v in (branch.get("properties") or {}).items()})
    if not properties:
        return {prefix.rstrip(".")}
    return {leaf for key, sub in properties.items() for leaf in _leaves(sub, document, f"{prefix}{key}.")}


@pytest.mark.parametrize(("file", "schema"), SOURCE_SCHEMAS.items())
def test_every_field_of_the_v2_object_is_copied_or_dropped_with_a_reason(file: str, schema: str) -> None:
    document = yaml.safe_load((SPECS / "dyte-v2.yaml").read_text())
    data = yaml.safe_load((MAPPINGS / "sources" / "dyte-v2" / file).read_text())
    [section] = data["sections"].values()
    assert section["covers"] == [schema]
    read: set[str] = set()
    for rule in section["rules"]:
        assert rule.get("reason") or rule.get("drop") or rule.get("relocate"), rule
        read.update(rule["from"] if isinstance(rule["from"], list) else [rule["from"]])
    leaves = _leaves(document["components"]["schemas"][schema], document)
    assert leaves and {leaf for leaf in leaves if not any(leaf == r or leaf.startswith(r + ".") for r in read)} == set()


def test_v2_objects_map_to_valid_realtimekit_bodies_with_every_loss_noted() -> None:
    rtk = _rtk()
    assert rtk.route.overlay == "targets/realtimekit.yaml" and not rtk.resolves_presets and rtk.endpoints == []
    whole = {**v2_preset("host"), "id": "p"}
    preset = rtk.map_whole_preset(whole)
    assert _rtk_errors("PresetCreateParams", preset.payload) == []
    assert preset.payload["name"] == "host" and preset.payload["config"] == whole["config"]
    assert preset.payload["permissions"]["plugins"]["config"] == {}  # the overlay's default still applies
    dropped = {n.source for n in preset.notes if n.kind == "dropped"}
    assert {"ui.config_diff", "permissions.plugins.config", "id"} <= dropped

    meeting = rtk.map_meeting(MEETING)
    create = {k: v for k, v in meeting.payload.items() if k != "status"}
    assert _rtk_errors("MeetingCreateParams", create) == [] and meeting.payload["status"] == "INACTIVE"
    assert "preferred_region" not in meeting.payload
    assert any(n.source == "preferred_region" and n.kind == "dropped" for n in meeting.notes)

    participant = rtk.map_participant(PARTICIPANT)
    assert participant.payload == {"custom_participant_id": "user-1", "preset_name": "host", "name": "Zoë"}
    assert _rtk_errors("MeetingAddParticipantParams", participant.payload) == []
    assert any(n.source == "picture" and n.kind == "dropped" for n in participant.notes)  # not an absolute URI

    webhook = rtk.map_webhook(WEBHOOK)
    assert webhook.payload == {"name": "all", "url": WEBHOOK["url"], "events": ["meeting.started"], "enabled": False}
    assert _rtk_errors("WebhookCreateWebhookParams", webhook.payload) == []
    assert any("rtk-signature" in change.change for change in rtk.webhook_payload_changes)


def test_no_field_is_dropped_as_unknown_for_the_spec_fields() -> None:
    """An unruled field would be noted as 'no rule': the spec's fields all have one."""
    rtk = _rtk()
    for mapped in (
        rtk.map_meeting(MEETING),
        rtk.map_participant(PARTICIPANT),
        rtk.map_webhook(WEBHOOK),
        rtk.map_whole_preset({**v2_preset("host"), "id": "p"}),
    ):
        assert not [n for n in mapped.notes if "no rule" in (n.reason or "")]


def test_receivers_of_dyte_v2_events_are_told_what_realtimekit_changes_in_v2_terms() -> None:
    """v2 -> RealtimeKit: the headers, key and delivery rules; the meeting ids; nothing written about v1 events."""
    v2_source = _rtk().webhook_payload_changes
    fields = {change.field for change in v2_source}
    assert {"header: dyte-signature", "header: dyte-uuid", "delivery", "meeting.id"} <= fields
    assert "webhooks.json" in next(c.change for c in v2_source if c.field == "header: dyte-signature")
    assert "Dyte v2" in next(c.change for c in v2_source if c.field == "meeting.id")
    assert not [c.field for c in v2_source if "v1" in c.change]  # Dyte v2 already had every event RealtimeKit sends

    v1_source = MappingSet.load(target="realtimekit").webhook_payload_changes
    assert fields - {"meeting.id"} <= {change.field for change in v1_source}
    assert "the v1 one" in next(c.change for c in v1_source if c.field == "meeting.id")
