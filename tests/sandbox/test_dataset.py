"""The sample generator and the dataset file format."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from migrator.sandbox import dataset
from migrator.sandbox.idgen import IdSource
from migrator.sandbox.loader import DatasetError, build_orgs
from migrator.sandbox.options import ServeOptions
from migrator.sandbox.store import Orgs

from .spec_check import V1


def sample(seed: int = 7, meetings: int = 20, participants: int = 10) -> Orgs:
    return ServeOptions(random_seed=seed, meetings=meetings, participants=participants).org_builder()(IdSource(seed))


def everything(orgs: Orgs) -> tuple[object, ...]:
    v1 = orgs.v1
    return (
        v1.id,
        v1.api_key,
        orgs.v2.id,
        orgs.v2.api_key,
        list(v1.meetings),
        list(v1.presets),
        list(v1.roles),
        {meeting: list(table) for meeting, table in v1.participants.items()},
        {meeting: list(table) for meeting, table in v1.recordings.items()},
        list(v1.webhooks),
    )


def test_the_sample_is_deterministic_per_seed() -> None:
    assert everything(sample(seed=7)) == everything(sample(seed=7))
    assert sample(seed=7).v1.api_key != sample(seed=8).v1.api_key
    assert next(iter(sample(seed=7).v1.meetings))["id"] != next(iter(sample(seed=8).v1.meetings))["id"]


def test_the_sample_covers_the_hard_cases_and_every_participant_resolves() -> None:
    orgs = sample(meetings=20, participants=10)
    v1 = orgs.v1
    meetings = list(v1.meetings)
    participants = [p for table in v1.participants.values() for p in table]
    assert {m["status"] for m in meetings} == {"CREATED", "LIVE", "CLOSED"}
    assert {m["presetName"] is None for m in meetings} == {True, False}
    assert {m["authorization"]["waitingRoom"] for m in meetings} == {True, False}
    assert any(m["recordOnStart"] for m in meetings) and any(not m["title"].isascii() for m in meetings)
    assert {role["role"]["waitingRoom"] for role in v1.roles} == {"skip", "skipOnAccept", "skipOnPrivilegeduserEntry"}
    assert any(role["role"]["produce"]["video"]["quality"] == "fhd" for role in v1.roles)
    assert any(role["role"]["produce"]["video"]["frameRate"] > 30 for role in v1.roles)
    assert len(participants) == 200 and len(orgs.v2.meetings) == 0
    assert any(p["clientSpecificId"] is None for p in participants)
    assert any(p["presetName"] for p in participants) and any(p["roleName"] for p in participants)
    assert any(p["presetName"] is None and p["roleName"] is None for p in participants)
    assert any(not p.get("name", "x").isascii() for p in participants) and any("picture" in p for p in participants)
    role_of = {preset["name"]: preset["preset"]["role"] for preset in v1.presets}
    differing = 0
    for meeting in meetings:
        for participant in v1.participants[meeting["id"]]:
            assert participant["presetName"] in (None, *role_of)
            assert participant["roleName"] in (None, *(role["name"] for role in v1.roles))
            preset = participant["presetName"] or meeting["presetName"]
            differing += bool(participant["roleName"] and preset and participant["roleName"] != role_of[preset])
    assert differing > 0
    recordings = [r for table in v1.recordings.values() for r in table]
    assert recordings and all(
        r["downloadUrl"] is None or r["downloadUrl"].startswith("https://recordings.example.invalid/") for r in recordings
    )


def test_sample_documents_and_webhooks_are_valid_request_bodies() -> None:
    orgs = sample()
    for validator, items in (
        (V1.component_validator("CreatePresetRoleRequestBody"), orgs.v1.roles),
        (V1.component_validator("CreatePresetRequestBody"), orgs.v1.presets),
        (V1.component_validator("WebhookRequestBody"), orgs.v1.webhooks),
    ):
        for item in items:
            assert not [error.message for error in validator.iter_errors(item)], item["name"]


def test_a_hundred_thousand_participants_build_in_seconds() -> None:
    started = time.monotonic()
    orgs = sample(meetings=1000, participants=100)
    assert sum(len(table) for table in orgs.v1.participants.values()) == 100_000
    assert time.monotonic() - started < 10


def test_a_short_dataset_file_gets_defaults(tmp_path: Path) -> None:
    file = tmp_path / "data.json"
    file.write_text(
        json.dumps(
            {
                "credentials": {"v1": {"org_id": "org-one", "api_key": "k1"}},
                "v1": {"meetings": [{"title": "Solo", "participants": [{"clientSpecificId": "a", "presetName": "missing"}]}]},
                "v2": {"presets": [{"name": "existing", "config": {}, "ui": {}}]},
            }
        )
    )
    orgs = ServeOptions(dataset=str(file)).org_builder()(IdSource(1))
    meeting = next(iter(orgs.v1.meetings))
    assert (orgs.v1.id, orgs.v1.api_key) == ("org-one", "k1") and orgs.v2.api_key != "k1"
    assert meeting["status"] == "CREATED" and meeting["presetName"] is None and meeting["roomName"]
    participant = next(iter(orgs.v1.participants[meeting["id"]]))
    assert participant["presetName"] == "missing"  # files may hold unresolvable data on purpose
    assert list(orgs.v2.preset_ids_by_name) == ["existing"]


@pytest.mark.parametrize(
    "document, message",
    [
        ([], "must be a JSON object"),
        ({"v1": {"presets": [{"preset": {}}]}}, "v1.presets[0] lacks 'name'"),
        ({"v1": {"webhooks": "none"}}, "v1.webhooks must be a list"),
        ({"v2": {"meetings": [{"participants": [{"preset_name": "p"}]}]}}, "custom_participant_id"),
    ],
)
def test_malformed_datasets_name_the_problem(document: object, message: str) -> None:
    with pytest.raises(DatasetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_orgs(document, IdSource(1))  # type: ignore[arg-type]


def test_empty_and_sample_share_credentials_per_seed() -> None:
    empty = build_orgs(dataset.EMPTY, IdSource(5))
    full = sample(seed=5, meetings=1, participants=1)
    assert (empty.v1.id, empty.v1.api_key, empty.v2.id, empty.v2.api_key) == (
        full.v1.id,
        full.v1.api_key,
        full.v2.id,
        full.v2.api_key,
    )
