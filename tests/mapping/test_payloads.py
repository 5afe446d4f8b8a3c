"""Every v2 body the mapper emits validates against the v2 spec's request schema.

Validation is strict: jsonschema with a format checker (an independent URI check), OpenAPI
`nullable` converted, and properties the spec does not list refused.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.mapping import MappingSet, PresetCatalog, Unmappable

from . import strategies as v1
from .helpers import meeting_errors, sample_org, v1_examples, v2_errors

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def all_choices(mapping_set: MappingSet, catalog: PresetCatalog) -> list[Any]:
    """Plain presets, and every role / waiting-room variant participants can need."""
    choices = list(mapping_set.base_presets(catalog))
    for preset in catalog.presets:
        for role in [None, *catalog.roles]:
            for waiting_room in (False, True):
                participant = {"presetName": preset, "roleName": role}
                choices.append(mapping_set.resolve_preset(participant, {"authorization": {"waitingRoom": waiting_room}}, catalog))
    return choices


def test_presets_and_all_variants_from_the_spec_examples_validate(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    choices = all_choices(mapping_set, catalog)
    names = {choice.v2_name for choice in choices}
    assert {
        "preset_1",
        "preset_3--waiting-room",
        "preset_1--role-role_2--waiting-room",
        "preset_3--role-role_1",
    } <= names
    for choice in choices:
        payload = mapping_set.map_preset(choice, catalog).payload
        assert payload["name"] == choice.v2_name
        assert v2_errors("CreatePresetBody", payload) == [], choice.v2_name


def test_meeting_examples_validate(mapping_set: MappingSet) -> None:
    examples = v1_examples("Meeting") + v1_examples("CreateMeetingRequestBody") + v1_examples("UpdateMeetingRequestBody")
    for meeting in examples:
        assert meeting_errors(mapping_set.map_meeting(meeting).payload) == [], meeting


def test_participant_examples_validate(mapping_set: MappingSet) -> None:
    for participant in v1_examples("Participant") + v1_examples("AddParticipantRequestBody"):
        assert v2_errors("AddParticipantBody", mapping_set.map_participant(participant, "preset_1").payload) == [], participant


def test_webhook_examples_validate(mapping_set: MappingSet) -> None:
    for webhook in v1_examples("Webhook") + v1_examples("WebhookRequestBody"):
        assert v2_errors("WebhookRequest", mapping_set.map_webhook(webhook).payload) == [], webhook


def test_the_validator_catches_a_bad_body() -> None:
    """The strict validator refuses unknown fields, wrong enums and non-URIs (else the tests above prove nothing)."""
    assert v2_errors("AddParticipantBody", {"custom_participant_id": "a", "preset_name": "p", "emial": "x"})
    assert v2_errors("AddParticipantBody", {"custom_participant_id": "a", "preset_name": "p", "picture": "not a uri"})
    assert meeting_errors({"status": "CLOSED"})
    assert v2_errors("WebhookRequest", {"name": "n", "url": "https://x.io", "events": ["meeting.bogus"]})


@FAST
@given(meeting=v1.meetings())
def test_generated_meetings_validate(mapping_set: MappingSet, meeting: dict[str, Any]) -> None:
    assert meeting_errors(mapping_set.map_meeting(meeting).payload) == []


@FAST
@given(participant=v1.participants())
def test_generated_participants_validate(mapping_set: MappingSet, participant: dict[str, Any]) -> None:
    try:
        mapped = mapping_set.map_participant(participant, "preset_1")
    except Unmappable as refused:  # only when there is neither a clientSpecificId nor an id
        assert not participant.get("clientSpecificId") and not participant.get("id"), refused.reason
        return
    assert v2_errors("AddParticipantBody", mapped.payload) == []


@FAST
@given(webhook=v1.webhooks())
def test_generated_webhooks_validate(mapping_set: MappingSet, webhook: dict[str, Any]) -> None:
    try:
        mapped = mapping_set.map_webhook(webhook)
    except Unmappable:
        return
    assert v2_errors("WebhookRequest", mapped.payload) == []


@FAST
@given(
    preset=v1.preset_documents(),
    own_role=v1.role_documents(),
    other_role=v1.role_documents(),
    waiting_room=st.booleans(),
)
def test_generated_presets_and_variants_validate(
    mapping_set: MappingSet,
    preset: dict[str, Any],
    own_role: dict[str, Any],
    other_role: dict[str, Any],
    waiting_room: bool,
) -> None:
    preset = {**preset, "name": "generated", "preset": {**preset.get("preset", {}), "role": "own"}}
    own_role, other_role = (
        {**own_role, "name": "own", "role": own_role.get("role", {})},
        {**other_role, "name": "other", "role": other_role.get("role", {})},
    )
    catalog = PresetCatalog(
        [{"id": "p", "name": "generated", "document": {**preset, "role": own_role}}],
        [{"id": "r", "name": "other", "document": other_role}],
    )
    meeting = {"authorization": {"waitingRoom": waiting_room}}
    for participant in ({"presetName": "generated"}, {"presetName": "generated", "roleName": "other"}):
        choice = mapping_set.resolve_preset(participant, meeting, catalog)
        payload = mapping_set.map_preset(choice, catalog).payload
        assert v2_errors("CreatePresetBody", payload) == [], choice


@pytest.mark.parametrize("preset", [p["name"] for p in sample_org()[0]])
def test_map_preset_by_name_is_the_plain_preset(mapping_set: MappingSet, catalog: PresetCatalog, preset: str) -> None:
    by_name = mapping_set.map_preset(preset, catalog)
    plain = next(c for c in mapping_set.base_presets(catalog) if c.preset == preset)
    assert by_name == mapping_set.map_preset(plain, catalog)


def test_payloads_share_no_objects_and_inputs_stay_untouched(mapping_set: MappingSet, catalog: PresetCatalog) -> None:
    presets_before = copy.deepcopy(catalog.presets)
    first = mapping_set.map_preset("preset_1", catalog).payload
    first["permissions"]["plugins"]["config"]["access_control"] = "VIEW_ONLY"
    again = mapping_set.map_preset("preset_1", catalog).payload
    assert again["permissions"]["plugins"]["config"]["access_control"] == "FULL_ACCESS"
    assert catalog.presets == presets_before
    meeting = v1_examples("CreateMeetingRequestBody")[3]
    untouched = copy.deepcopy(meeting)
    mapping_set.map_meeting(meeting)
    assert meeting == untouched
