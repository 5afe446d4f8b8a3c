"""Hostile v1 data: missing fields, nulls, wrong types, unknown values.

The mapper answers with notes (optional fields) or Unmappable (required data), never with
another exception, and whatever it emits still validates against v2.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.mapping import MappingSet, PresetCatalog, Unmappable

from . import strategies as v1
from .helpers import meeting_errors, sample_org, v2_errors

HOSTILE = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOT_OBJECTS = [None, [], "meeting", 42, 1.5, True]


@pytest.mark.parametrize("value", NOT_OBJECTS)
def test_non_objects_are_unmappable(mapping_set: MappingSet, catalog: PresetCatalog, value: Any) -> None:
    for call in (
        lambda: mapping_set.map_meeting(value),
        lambda: mapping_set.map_webhook(value),
        lambda: mapping_set.map_participant(value, "p"),
        lambda: mapping_set.resolve_preset(value, None, catalog),
    ):
        with pytest.raises(Unmappable, match="not a JSON object"):
            call()


def test_an_empty_meeting_still_maps(mapping_set: MappingSet) -> None:
    mapped = mapping_set.map_meeting({})
    assert mapped.payload == {"status": "ACTIVE", "record_on_start": False, "live_stream_on_start": False}
    assert {n.kind for n in mapped.notes} == {"defaulted"}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", 5),
        ("status", ["LIVE"]),
        ("recordOnStart", "yes"),
        ("liveStreamOnStart", None),
        ("authorization", "open"),
        ("status", {"a": 1}),
    ],
)
def test_unusable_optional_meeting_fields_become_notes(mapping_set: MappingSet, field: str, value: Any) -> None:
    mapped = mapping_set.map_meeting({"title": "T", "status": "LIVE", field: value})
    assert meeting_errors(mapped.payload) == []
    if value is not None and field != "authorization":
        assert any(n.source == field and n.kind in ("dropped", "lossy") and n.before == value for n in mapped.notes)


@pytest.mark.parametrize(
    ("participant", "reason"),
    [
        ({}, "clientSpecificId is missing"),
        ({"clientSpecificId": 7}, "unusable value 7"),
        ({"clientSpecificId": "", "id": None}, "is missing"),
    ],
)
def test_participant_without_any_id_is_unmappable(mapping_set: MappingSet, participant: dict[str, Any], reason: str) -> None:
    with pytest.raises(Unmappable, match=reason):
        mapping_set.map_participant(participant, "p")


def test_participant_wrong_types_are_dropped_with_notes(mapping_set: MappingSet) -> None:
    mapped = mapping_set.map_participant(
        {"clientSpecificId": 7, "id": "v1", "name": ["x"], "userDetails": "junk", "picture": 3}, "p"
    )
    assert mapped.payload == {"custom_participant_id": "v1", "preset_name": "p"}
    dropped = {(n.source, repr(n.before)) for n in mapped.notes if n.kind == "dropped"}
    assert {("clientSpecificId", "7"), ("name", "['x']"), ("picture", "3")} <= dropped


@pytest.mark.parametrize("preset_name", ["", None, 5])
def test_participant_needs_a_preset_name(mapping_set: MappingSet, preset_name: Any) -> None:
    with pytest.raises(Unmappable):
        mapping_set.map_participant({"clientSpecificId": "c"}, preset_name)


@pytest.mark.parametrize(
    ("webhook", "reason"),
    [
        ({"name": "n", "events": []}, "url is missing"),
        ({"name": "n", "url": "ftp is not a uri", "events": []}, "url has an unusable value"),
        ({"name": "n", "url": "https://x.io", "events": "meeting.started"}, "events has an unusable value"),
    ],
)
def test_webhook_without_usable_required_fields_is_unmappable(
    mapping_set: MappingSet, webhook: dict[str, Any], reason: str
) -> None:
    with pytest.raises(Unmappable, match=reason):
        mapping_set.map_webhook(webhook)


def test_webhook_without_name_uses_its_url(mapping_set: MappingSet) -> None:
    mapped = mapping_set.map_webhook({"url": "https://x.io/h", "events": ["meeting.ended", None, 3], "enabled": "yes"})
    assert mapped.payload == {
        "name": "https://x.io/h",
        "url": "https://x.io/h",
        "events": ["meeting.ended"],
        "enabled": True,
    }
    assert [n.before for n in mapped.notes if n.kind == "lossy"] == [None, 3]


@pytest.mark.parametrize(
    "damage",
    [
        lambda role: role.update(produce="everything"),
        lambda role: role["produce"]["video"].update(frameRate=math.inf),
        lambda role: role["produce"]["video"].update(frameRate=float("nan")),
        lambda role: role["produce"]["video"].update(quality=None, allow="yes"),
        lambda role: role.update(waitingRoom=["skip"]),
        lambda role: role.update(permissions=None),
        lambda role: role["produce"].update(chat={"text": "no", "files": 0}),
        lambda role: role.clear(),
    ],
)
def test_damaged_role_documents_map_with_notes(mapping_set: MappingSet, damage: Any) -> None:
    presets, _ = sample_org()
    damage(presets[2]["document"]["role"]["role"])
    catalog = PresetCatalog(presets, [])
    for waiting_room in (False, True):
        choice = mapping_set.resolve_preset({"presetName": "preset_3"}, {"authorization": {"waitingRoom": waiting_room}}, catalog)
        mapped = mapping_set.map_preset(choice, catalog)
        assert v2_errors("CreatePresetBody", mapped.payload) == []
        assert any(n.kind in ("dropped", "defaulted") for n in mapped.notes)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda record: record.update(document=None), "names no role"),
        (lambda record: record["document"].update(preset="x", role=None), "names no role"),
        (lambda record: record["document"]["role"].update(role="not an object"), "has no readable document"),
        (
            lambda record: (record["document"].pop("role"), record["document"]["preset"].update(role="ghost")),
            "'ghost' has no readable document",
        ),
    ],
)
def test_unusable_preset_documents_are_unmappable(mapping_set: MappingSet, damage: Any, reason: str) -> None:
    presets, _ = sample_org()
    damage(presets[2])
    catalog = PresetCatalog(presets, [])
    with pytest.raises(Unmappable, match=reason):
        mapping_set.resolve_preset({"presetName": "preset_3"}, None, catalog)
    with pytest.raises(Unmappable):
        mapping_set.map_preset("preset_3", catalog)


def test_a_junk_role_name_falls_back_to_the_embedded_role(mapping_set: MappingSet) -> None:
    presets, _ = sample_org()
    presets[2]["document"]["preset"]["role"] = 17
    choice = mapping_set.resolve_preset({"presetName": "preset_3"}, None, PresetCatalog(presets, []))
    assert choice.role == "role_2"


def test_catalog_skips_records_it_cannot_index(mapping_set: MappingSet) -> None:
    presets, roles = sample_org()
    catalog = PresetCatalog([*presets, {"name": None}, "junk", copy.deepcopy(presets[0])], [*roles, {"id": 1}])  # type: ignore[list-item]
    assert sorted(catalog.presets) == ["preset_1", "preset_2", "preset_3"]
    assert len(catalog.problems) == 4
    assert [c.v2_name for c in mapping_set.base_presets(catalog)] == ["preset_1", "preset_2", "preset_3"]


@pytest.mark.parametrize("field", ["presetName", "roleName"])
@pytest.mark.parametrize("value", [5, ["preset_1"], {"name": "preset_1"}, True])
def test_wrong_typed_names_are_unmappable_not_guessed(
    mapping_set: MappingSet, catalog: PresetCatalog, field: str, value: Any
) -> None:
    with pytest.raises(Unmappable, match=f"{field} has an unusable value"):
        mapping_set.resolve_preset({field: value}, {"presetName": "preset_1"}, catalog)


@HOSTILE
@given(meeting=v1.meetings(hostile=True))
def test_hostile_meetings(mapping_set: MappingSet, meeting: Any) -> None:
    try:
        mapped = mapping_set.map_meeting(meeting)
    except Unmappable:
        assert not isinstance(meeting, dict)
        return
    assert meeting_errors(mapped.payload) == []


@HOSTILE
@given(participant=v1.participants(hostile=True), meeting=v1.meetings(hostile=True))
def test_hostile_participants(mapping_set: MappingSet, participant: Any, meeting: Any) -> None:
    presets, roles = sample_org()
    catalog = PresetCatalog(presets, roles)
    try:
        choice = mapping_set.resolve_preset(participant, meeting, catalog)
        mapped = mapping_set.map_participant(participant, choice.v2_name)
    except Unmappable as refused:
        assert refused.reason
        return
    assert v2_errors("AddParticipantBody", mapped.payload) == []
    assert v2_errors("CreatePresetBody", mapping_set.map_preset(choice, catalog).payload) == []


@HOSTILE
@given(webhook=v1.webhooks(hostile=True))
def test_hostile_webhooks(mapping_set: MappingSet, webhook: Any) -> None:
    try:
        mapped = mapping_set.map_webhook(webhook)
    except Unmappable:
        return
    assert v2_errors("WebhookRequest", mapped.payload) == []


@HOSTILE
@given(preset=v1.preset_documents(hostile=True), role=v1.role_documents(hostile=True), name=st.sampled_from(["p", "p x"]))
def test_hostile_preset_and_role_documents(mapping_set: MappingSet, preset: Any, role: Any, name: str) -> None:
    catalog = PresetCatalog([{"id": "1", "name": name, "document": preset}], [{"id": "2", "name": "r", "document": role}])
    for participant in ({"presetName": name}, {"presetName": name, "roleName": "r"}):
        try:
            choice = mapping_set.resolve_preset(participant, {"authorization": {"waitingRoom": True}}, catalog)
            mapped = mapping_set.map_preset(choice, catalog)
        except Unmappable as refused:
            assert refused.reason
            continue
        assert v2_errors("CreatePresetBody", mapped.payload) == []
