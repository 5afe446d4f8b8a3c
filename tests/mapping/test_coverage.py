"""Every field of the v1 schemas the migration reads is mapped, relocated or dropped with a reason."""

from __future__ import annotations

import pytest

from migrator.mapping.filemodels import PayloadFile, PresetFile, WebhookFile
from migrator.mapping.yamlsource import read

from .helpers import MAPPINGS, v1_schema_leaves

FILES = {
    "meetings.yaml": PayloadFile,
    "participants.yaml": PayloadFile,
    "webhooks.yaml": WebhookFile,
    "presets.yaml": PresetFile,
}
SCHEMAS = [
    "Meeting",
    "CreateMeetingRequestBody",
    "UpdateMeetingRequestBody",
    "Participant",
    "AddParticipantRequestBody",
    "PresetRole",
    "CreatePresetRequestBody",
    "CreatePresetRoleRequestBody",
    "Webhook",
    "WebhookRequestBody",
]


def load_models() -> dict[str, PayloadFile]:
    return {name: read(MAPPINGS / name).validate(model) for name, model in FILES.items()}


def sections_covering(models: dict[str, PayloadFile], schema: str) -> list[tuple[str, str]]:
    return [
        (file, name) for file, model in models.items() for name, section in model.sections.items() if schema in section.covers
    ]


def rule_sources(rule) -> list[str]:  # type: ignore[no-untyped-def]
    return rule.sources + ([rule.fallback.from_] if rule.fallback else [])


def uncovered(models: dict[str, PayloadFile], schema: str) -> set[str]:
    """Leaves of `schema` that no rule of the covering sections reads (exactly or through a parent)."""
    rules = [rule for file, name in sections_covering(models, schema) for rule in models[file].sections[name].rules]
    sources = {path for rule in rules for path in rule_sources(rule)}
    return {leaf for leaf in v1_schema_leaves(schema) if not any(leaf == s or leaf.startswith(s + ".") for s in sources)}


@pytest.fixture(scope="module")
def models() -> dict[str, PayloadFile]:
    return load_models()


@pytest.mark.parametrize("schema", SCHEMAS)
def test_every_field_of_the_v1_schema_has_a_rule(models: dict[str, PayloadFile], schema: str) -> None:
    assert sections_covering(models, schema), f"no mapping section declares `covers: [{schema}]`"
    assert v1_schema_leaves(schema), f"{schema} has no fields in the v1 spec: the walk is broken"
    assert uncovered(models, schema) == set()


def test_every_rule_says_why(models: dict[str, PayloadFile]) -> None:
    for file, model in models.items():
        for section in model.sections.values():
            for rule in section.rules:
                why = rule.reason or rule.drop or rule.relocate
                assert why and len(why.split()) >= 3, f"{file}: rule for {rule.sources} has no reason in plain words"
        for default in model.defaults:
            assert len(default.reason.split()) >= 3, f"{file}: default for {default.to} has no reason"


def test_walk_reaches_nested_and_allof_fields() -> None:
    """The coverage walk itself: allOf branches, nested objects and required-only names are seen."""
    assert {"recordOnStart", "liveStreamOnStart", "authorization.waitingRoom"} <= v1_schema_leaves("CreateMeetingRequestBody")
    assert "preset.uiConfig.grid.multi.maxVideoCount" in v1_schema_leaves("CreatePresetRequestBody")
    assert "role.produce.screenshare.frameRate" in v1_schema_leaves("CreatePresetRoleRequestBody")
    assert {"organizationId", "events"} <= v1_schema_leaves("Webhook")
    assert "organization" in v1_schema_leaves("PresetRole")  # required, but has no property entry
    assert "enabled" in v1_schema_leaves("WebhookRequestBody")  # only in the 2022 revision


def test_a_removed_rule_is_reported(models: dict[str, PayloadFile]) -> None:
    section = models["presets.yaml"].sections["role_document"]
    kept = [rule for rule in section.rules if "role.produce.reactions" not in rule.sources]
    trimmed = dict(models)
    trimmed["presets.yaml"] = models["presets.yaml"].model_copy(
        update={"sections": {**models["presets.yaml"].sections, "role_document": section.model_copy(update={"rules": kept})}}
    )
    assert uncovered(trimmed, "CreatePresetRoleRequestBody") == {"role.produce.reactions"}
