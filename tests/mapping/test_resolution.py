"""Which preset a participant gets, the variants' names, and the notes on lossy conversions."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from migrator.mapping import MappingSet, Note, PresetCatalog, Unmappable

from .helpers import sample_org

WAITING = {"authorization": {"waitingRoom": True}}
# In the spec examples: preset_1 and preset_2 use role_1 (waitingRoom: skip), preset_3 uses role_2 (skipOnAccept).


def note(notes: list[Note], kind: str, source: str) -> Note:
    return next(n for n in notes if n.kind == kind and n.source == source)


def declared_default(mapping_set: MappingSet) -> str:
    return f"org_default_preset: {mapping_set.org_default_preset}"


def test_participant_preset_wins_over_the_meeting(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choice = mapping_set.resolve_preset({"presetName": "preset_2"}, {"presetName": "preset_1"}, catalog)
    assert (choice.v2_name, choice.source, choice.role, choice.waiting_room) == (
        "preset_2",
        "participant",
        "role_1",
        False,
    )
    assert "preset_2" in choice.reason


def test_meeting_preset_when_the_participant_names_none(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choice = mapping_set.resolve_preset({"presetName": None}, {"presetName": "preset_1"}, catalog)
    assert (choice.v2_name, choice.source) == ("preset_1", "meeting")


def test_org_default_when_neither_names_one(mapping_set: MappingSet, edit: Callable[..., Path]) -> None:
    folder = edit("presets.yaml", declared_default(mapping_set), "org_default_preset: preset_3")
    custom = MappingSet.load(folder)
    presets, roles = sample_org()
    catalog = PresetCatalog(presets, roles)
    assert custom.org_default_preset == "preset_3"
    choice = custom.resolve_preset({}, {"presetName": ""}, catalog)
    assert (choice.v2_name, choice.source) == ("preset_3", "org-default")


def test_no_preset_and_no_org_default_is_unmappable(
    mapping_set: MappingSet, edit: Callable[..., Path], catalog: PresetCatalog
) -> None:
    custom = MappingSet.load(edit("presets.yaml", declared_default(mapping_set), "org_default_preset: null"))
    assert custom.org_default_preset is None
    with pytest.raises(Unmappable, match="no preset"):
        custom.resolve_preset({}, None, catalog)


@pytest.mark.parametrize(
    ("participant", "meeting", "reason"),
    [
        ({"presetName": "ghost"}, {"presetName": "preset_1"}, "participant presetName 'ghost' is not a v1 preset"),
        ({}, {"presetName": "ghost"}, "meeting presetName 'ghost' is not a v1 preset"),
        ({}, {}, "org default preset .* is not a v1 preset"),
        ({"presetName": "preset_1", "roleName": "ghost"}, None, "roleName 'ghost' is not a v1 role"),
    ],
)
def test_a_named_but_missing_preset_or_role_is_never_guessed(
    mapping_set: MappingSet,
    catalog: PresetCatalog,
    participant: dict[str, Any],
    meeting: dict[str, Any] | None,
    reason: str,
) -> None:
    with pytest.raises(Unmappable, match=reason):
        mapping_set.resolve_preset(participant, meeting, catalog)


def test_the_preset_s_own_role_is_no_variant(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choice = mapping_set.resolve_preset({"presetName": "preset_1", "roleName": "role_1"}, None, catalog)
    assert (choice.v2_name, choice.role) == ("preset_1", "role_1")


def test_another_role_is_a_role_variant_with_that_role_s_permissions(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choice = mapping_set.resolve_preset({"presetName": "preset_1", "roleName": "role_2"}, None, catalog)
    assert (choice.v2_name, choice.role, choice.waiting_room) == ("preset_1--role-role_2", "role_2", False)
    payload = mapping_set.map_preset(choice, catalog).payload
    assert payload["name"] == "preset_1--role-role_2"
    assert payload["permissions"]["media"]["video"]["can_produce"] == "NOT_ALLOWED"  # role_2 has video.allow false
    assert payload["ui"]["design_tokens"]["colors"]["brand"]["500"] == "#2160FD"  # preset_1's UI


def test_waiting_room_with_a_skipping_role_needs_no_variant(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choice = mapping_set.resolve_preset({"presetName": "preset_1"}, WAITING, catalog)
    assert (choice.v2_name, choice.waiting_room) == ("preset_1", False)
    assert "skips it" in choice.reason


def test_waiting_room_with_a_waiting_role_gets_the_variant(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    plain = mapping_set.resolve_preset({"presetName": "preset_3"}, {"authorization": {"waitingRoom": False}}, catalog)
    variant = mapping_set.resolve_preset({"presetName": "preset_3"}, WAITING, catalog)
    assert (plain.v2_name, variant.v2_name, variant.waiting_room) == ("preset_3", "preset_3--waiting-room", True)
    plain_mapped = mapping_set.map_preset(plain, catalog)
    variant_mapped = mapping_set.map_preset(variant, catalog)
    assert plain_mapped.payload["permissions"]["waiting_room_type"] == "SKIP"
    assert variant_mapped.payload["permissions"]["waiting_room_type"] == "SKIP_ON_ACCEPT"
    moved = note(plain_mapped.notes, "relocated", "role.waitingRoom")
    assert (moved.before, moved.target) == ("skipOnAccept", "permissions.waiting_room_type")
    assert not any(n.source == "role.waitingRoom" and n.kind == "relocated" for n in variant_mapped.notes)
    rest = lambda p: {**p, "name": None, "permissions": {**p["permissions"], "waiting_room_type": None}}  # noqa: E731
    assert rest(plain_mapped.payload) == rest(variant_mapped.payload)


def test_role_and_waiting_room_variant_name(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choice = mapping_set.resolve_preset({"presetName": "preset_1", "roleName": "role_2"}, WAITING, catalog)
    assert choice.v2_name == "preset_1--role-role_2--waiting-room"
    assert mapping_set.variant_name("preset_1", "role_2", True) == choice.v2_name


def test_only_a_true_waiting_room_flag_counts(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    for flag in ("true", 1, None, {"x": 1}):
        choice = mapping_set.resolve_preset({"presetName": "preset_3"}, {"authorization": {"waitingRoom": flag}}, catalog)
        assert choice.v2_name == "preset_3"


def test_unsafe_role_names_are_sanitised_deterministically_and_stay_distinct(mapping_set: MappingSet) -> None:
    presets, roles = sample_org()
    renamed = []
    for name in ("co host", "co/host", "co_host"):
        role = copy.deepcopy(roles[1])
        role["name"] = role["document"]["name"] = name
        renamed.append(role)
    catalog = PresetCatalog(presets, roles + renamed)
    names = [
        mapping_set.resolve_preset({"presetName": "preset_1", "roleName": r["name"]}, None, catalog).v2_name for r in renamed
    ]
    assert names[2] == "preset_1--role-co_host"
    assert names[0].startswith("preset_1--role-co_host-") and names[1].startswith("preset_1--role-co_host-")
    assert len(set(names)) == 3
    again = mapping_set.resolve_preset(
        {"presetName": "preset_1", "roleName": "co host"}, None, PresetCatalog(presets, roles + renamed)
    )
    assert again.v2_name == names[0]


def test_a_variant_name_taken_by_a_v1_preset_gets_a_hash(mapping_set: MappingSet) -> None:
    presets, roles = sample_org()
    squatter = copy.deepcopy(presets[0])
    squatter["name"] = squatter["document"]["name"] = "preset_3--waiting-room"
    catalog = PresetCatalog([*presets, squatter], roles)
    choice = mapping_set.resolve_preset({"presetName": "preset_3"}, WAITING, catalog)
    assert (
        choice.v2_name.startswith("preset_3--waiting-room--h-") and len(choice.v2_name) == len("preset_3--waiting-room--h-") + 6
    )
    assert mapping_set.resolve_preset({"presetName": "preset_3--waiting-room"}, None, catalog).v2_name == squatter["name"]


def test_names_holding_the_separator_stay_distinct(mapping_set: MappingSet) -> None:
    """Role `x--waiting-room` without a waiting room and role `x` with one: two names, each stable."""
    presets, roles = sample_org()
    tricky = copy.deepcopy(roles[1])
    tricky["name"] = tricky["document"]["name"] = "role_2--waiting-room"
    catalog = PresetCatalog(presets, [*roles, tricky])
    waiting = mapping_set.resolve_preset({"presetName": "preset_1", "roleName": "role_2"}, WAITING, catalog)
    plain = mapping_set.resolve_preset({"presetName": "preset_1", "roleName": "role_2--waiting-room"}, None, catalog)
    assert waiting.v2_name == "preset_1--role-role_2--waiting-room"
    assert plain.v2_name.startswith("preset_1--role-role_2--waiting-room--h-")
    assert mapping_set.variant_name("preset_1", "role_2--waiting-room") == plain.v2_name


def test_roles_embedded_in_preset_documents_suffice(mapping_set: MappingSet) -> None:
    """An org without the roles route (404) still resolves each preset's own role."""
    presets, _ = sample_org()
    catalog = PresetCatalog(presets, [])
    choice = mapping_set.resolve_preset({"presetName": "preset_3"}, WAITING, catalog)
    assert choice.v2_name == "preset_3--waiting-room"
    assert mapping_set.map_preset(choice, catalog).payload["permissions"]["waiting_room_type"] == "SKIP_ON_ACCEPT"


def test_a_listed_role_without_document_is_unmappable(mapping_set: MappingSet) -> None:
    presets, roles = sample_org()
    roles.append({"id": "r9", "name": "unread", "description": "", "s3URL": "https://s3.example/x", "document": None})
    catalog = PresetCatalog(presets, roles)
    with pytest.raises(Unmappable, match="'unread' has no readable document"):
        mapping_set.resolve_preset({"presetName": "preset_1", "roleName": "unread"}, None, catalog)


def test_base_presets_cover_every_v1_preset(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choices = mapping_set.base_presets(catalog)
    assert [c.v2_name for c in choices] == ["preset_1", "preset_2", "preset_3"]
    assert all(c.source == "v1-preset" and not c.waiting_room for c in choices)


def test_choices_are_remembered_per_catalog(mapping_set: MappingSet) -> None:
    presets, roles = sample_org()
    first = PresetCatalog(presets, roles)
    assert mapping_set.resolve_preset({"presetName": "preset_3"}, WAITING, first).v2_name == "preset_3--waiting-room"
    skipping = copy.deepcopy(presets)
    skipping[2]["document"]["role"]["role"]["waitingRoom"] = "skip"
    second = PresetCatalog(skipping, [])
    assert mapping_set.resolve_preset({"presetName": "preset_3"}, WAITING, second).v2_name == "preset_3"


# ---- notes on lossy conversions carry before and after ----------------------------------------


def role_catalog(**produce: Any) -> PresetCatalog:
    presets, _ = sample_org()
    document = presets[0]["document"]["role"]["role"]
    for key, value in produce.items():
        document["produce"][key].update(value)
    return PresetCatalog(presets[:1], [])


@pytest.mark.parametrize(
    ("produce", "source", "before", "after", "target"),
    [
        (
            {"video": {"quality": "fhd"}},
            "role.produce.video.quality",
            "fhd",
            "hd",
            ("config", "media", "video", "quality"),
        ),
        (
            {"video": {"frameRate": 60}},
            "role.produce.video.frameRate",
            60,
            30,
            ("config", "media", "video", "frame_rate"),
        ),
        ({"video": {"frameRate": 0}}, "role.produce.video.frameRate", 0, 1, ("config", "media", "video", "frame_rate")),
        (
            {"video": {"frameRate": 24.4}},
            "role.produce.video.frameRate",
            24.4,
            24,
            ("config", "media", "video", "frame_rate"),
        ),
        (
            {"screenshare": {"quality": "full-hd"}},
            "role.produce.screenshare.quality",
            "full-hd",
            "hd",
            ("config", "media", "screenshare", "quality"),
        ),
        (
            {"video": {"quality": "8k"}},
            "role.produce.video.quality",
            "8k",
            "vga",
            ("config", "media", "video", "quality"),
        ),
    ],
)
def test_lossy_conversions_note_before_and_after(
    mapping_set: MappingSet, produce: dict[str, Any], source: str, before: Any, after: Any, target: tuple[str, ...]
) -> None:
    mapped = mapping_set.map_preset("preset_1", role_catalog(**produce))
    lossy = note(mapped.notes, "lossy", source)
    assert (lossy.before, lossy.after, lossy.target) == (before, after, ".".join(target))
    assert lossy.reason
    value: Any = mapped.payload
    for key in target:
        value = value[key]
    assert value == after


def test_a_fitting_value_is_not_lossy(mapping_set: MappingSet) -> None:
    mapped = mapping_set.map_preset("preset_1", role_catalog(video={"quality": "hd", "frameRate": 30}))
    assert not [n for n in mapped.notes if n.kind == "lossy" and n.source and n.source.startswith("role.produce.video")]
    assert mapped.payload["config"]["media"]["video"] == {"quality": "hd", "frame_rate": 30}


def test_permissions_and_conversions_follow_the_role(mapping_set: MappingSet) -> None:
    mapped = mapping_set.map_preset("preset_1", role_catalog(chat={"text": False, "files": True}, screenshare={"allow": False}))
    permissions = mapped.payload["permissions"]
    assert permissions["chat"]["public"] == {"text": False, "files": True, "can_send": True}
    assert permissions["media"]["screenshare"]["can_produce"] == "NOT_ALLOWED"
    assert permissions["kick_participant"] is True and permissions["accept_waiting_requests"] is True
    assert mapped.payload["config"]["max_video_streams"] == {"desktop": 6, "mobile": 6}
    assert note(mapped.notes, "renamed", "role.permissions.kickParticipants").target == "permissions.kick_participant"


def test_meeting_status_and_relocations(mapping_set: MappingSet) -> None:
    closed = mapping_set.map_meeting(
        {
            "id": "m",
            "title": "T",
            "status": "CLOSED",
            "roomName": "r",
            "presetName": "p",
            "authorization": {"waitingRoom": True, "closed": True},
        }
    )
    assert closed.payload == {
        "title": "T",
        "status": "INACTIVE",
        "record_on_start": False,
        "live_stream_on_start": False,
    }
    assert note(closed.notes, "converted", "status").after == "INACTIVE"
    assert note(closed.notes, "dropped", "roomName").before == "r"
    assert note(closed.notes, "relocated", "presetName").before == "p"
    assert note(closed.notes, "relocated", "authorization.waitingRoom").before is True
    odd = mapping_set.map_meeting({"status": "ARCHIVED"})
    assert odd.payload["status"] == "ACTIVE"
    assert (note(odd.notes, "lossy", "status").before, note(odd.notes, "lossy", "status").after) == (
        "ARCHIVED",
        "ACTIVE",
    )


def test_participant_fields(mapping_set: MappingSet) -> None:
    full = mapping_set.map_participant(
        {
            "id": "v1-id",
            "clientSpecificId": "user-7",
            "userDetails": {"name": "Ann", "picture": "https://x.io/a.png"},
            "email": "a@x.io",
            "roleName": "r",
        },
        "p--role-r",
    )
    assert full.payload == {
        "custom_participant_id": "user-7",
        "name": "Ann",
        "picture": "https://x.io/a.png",
        "preset_name": "p--role-r",
    }
    assert note(full.notes, "dropped", "email").before == "a@x.io"
    fallback = mapping_set.map_participant({"id": "v1-id", "name": "Bo", "picture": "not a link"}, "p")
    assert fallback.payload == {"custom_participant_id": "v1-id", "name": "Bo", "preset_name": "p"}
    assert note(fallback.notes, "defaulted", "id").after == "v1-id"
    assert note(fallback.notes, "dropped", "picture").before == "not a link"


def test_webhook_unknown_event_is_dropped_with_a_note(mapping_set: MappingSet) -> None:
    mapped = mapping_set.map_webhook(
        {"name": "n", "url": "https://x.io/h", "events": ["meeting.started", "meeting.exploded"], "enabled": False}
    )
    assert mapped.payload == {"name": "n", "url": "https://x.io/h", "events": ["meeting.started"], "enabled": False}
    assert note(mapped.notes, "lossy", "events").before == "meeting.exploded"


def test_webhook_payload_changes_are_declared(mapping_set: MappingSet) -> None:
    fields = {change.field for change in mapping_set.webhook_payload_changes}
    assert {"participant.customParticipantId", "meeting.roomName"} <= fields
