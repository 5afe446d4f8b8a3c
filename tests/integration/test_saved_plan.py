"""A saved plan is an artifact: `migrate --plan` applies exactly what was reviewed, or refuses."""

from __future__ import annotations

import json
import stat

import pytest

from migrator.errors import EXIT_OK, EXIT_USAGE

from .helpers import PAIRS, TITLES, V1, V2, Workspace, assert_exact_copy, target_count, v2_writes, workspace_for_pair


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(rate_limit=0, meetings=6, participants=3)


@pytest.fixture
def ws(tmp_path, org):
    return Workspace.for_sandbox(tmp_path, org)


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_reviewed_plan_is_applied_with_no_other_write(tmp_path, org, source, target):
    ws = workspace_for_pair(tmp_path, org, source, target)
    writes = v2_writes(org)  # a v2 source was seeded: Dyte v2 writes already happened
    saved = ws.root / "reviewed.plan.json"
    result, planned = ws.run("plan", "--out", str(saved))
    assert result.exit_code == EXIT_OK, result.output
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    document = json.loads(saved.read_text())
    assert set(document["saved_plan"]["fingerprints"]) == {"v1_snapshot", "v2_state", "mappings", "tool_version"}
    creates = sum(planned["counts"][kind].get("create", 0) for kind in planned["counts"])
    assert creates > 0 and v2_writes(org) == writes, "plan writes nothing"

    result, migrated = ws.run("migrate", "--plan", str(saved))
    assert result.exit_code == EXIT_OK, result.output
    posts = sum(
        target_count(org, target, "POST", resource)
        for resource in ("/presets", "/meetings", "/webhooks", "/meetings/{meeting_id}/participants")
    )
    assert posts == creates, "every planned create was sent once, and nothing else was created"
    assert_exact_copy(org, target, source)


@pytest.mark.parametrize(("source", "target"), [PAIRS[0], PAIRS[2]])  # each source
def test_a_source_change_after_the_plan_makes_it_stale(tmp_path, org, source, target):
    ws = workspace_for_pair(tmp_path, org, source, target)
    saved = ws.root / "reviewed.plan.json"
    assert ws.run("plan", "--out", str(saved))[0].exit_code == EXIT_OK
    if source == "dyte-v2":
        v2 = V2(org, source)
        meeting = v2.all("/meetings")[0]
        assert v2.client.patch(f"/meetings/{meeting['id']}", json={"title": "Renamed after review"}).status_code == 200
    else:
        v1 = V1(org)
        meeting = v1.all("/meetings", "meetings")[0]
        assert v1.client.put(f"/meetings/{meeting['id']}", json={"title": "Renamed after review"}).status_code == 200
    writes = v2_writes(org)

    result, outcome = ws.run("migrate", "--plan", str(saved))
    assert result.exit_code == EXIT_USAGE
    assert "stale" in outcome["error"] and f"{TITLES[source]} changed since" in outcome["error"]
    assert v2_writes(org) == writes, "a stale plan writes nothing"


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_target_object_added_after_the_plan_makes_it_stale(tmp_path, org, source, target):
    ws = workspace_for_pair(tmp_path, org, source, target)
    saved = ws.root / "reviewed.plan.json"
    assert ws.run("plan", "--out", str(saved))[0].exit_code == EXIT_OK
    V2(org, target).client.post("/meetings", json={"title": "Someone else's meeting"}).raise_for_status()
    writes = v2_writes(org)

    result, outcome = ws.run("migrate", "--plan", str(saved))
    assert result.exit_code == EXIT_USAGE
    assert "stale" in outcome["error"] and f": {TITLES[target]} changed since" in outcome["error"]
    assert v2_writes(org) == writes


def test_changed_mappings_make_a_saved_plan_stale(ws, org, tmp_path):
    import shutil

    from migrator.api import default_mappings_dir

    saved = ws.root / "reviewed.plan.json"
    assert ws.run("plan", "--out", str(saved))[0].exit_code == EXIT_OK
    edited = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), edited)
    (edited / "meetings.yaml").write_text((edited / "meetings.yaml").read_text() + "\n# reviewed copy\n")
    result, outcome = ws.run("--mappings", str(edited), "migrate", "--plan", str(saved))
    assert result.exit_code == EXIT_USAGE and "the mappings changed" in outcome["error"]


def test_a_file_that_is_not_a_saved_plan_is_one_line_exit_2(ws, org):
    bogus = ws.root / "plan.json"
    bogus.write_text('{"report": "plan"}')
    result, outcome = ws.run("migrate", "--plan", str(bogus))
    assert result.exit_code == EXIT_USAGE and "is not a saved plan" in outcome["error"]
    assert v2_writes(org) == 0


def test_a_canary_migrates_one_meeting_with_the_presets_it_needs(ws, org):
    v1, v2 = V1(org), V2(org)
    meeting = v1.all("/meetings", "meetings")[1]
    people = v1.all(f"/meetings/{meeting['id']}/participants", "participants")
    result, outcome = ws.run("migrate", "--meeting", meeting["id"])
    assert result.exit_code == EXIT_OK, result.output
    assert "canary" in outcome["message"]
    [copy] = v2.all("/meetings")
    assert copy["title"] == meeting["title"]
    held = v2.all(f"/meetings/{copy['id']}/participants")
    assert sorted(p["custom_participant_id"] for p in held) == sorted(p["clientSpecificId"] for p in people)
    assert {p["name"] for p in v2.all("/presets")} == {p["preset_name"] for p in held}, "only the presets it needs"
    assert v2.webhooks() == []
    result, outcome = ws.run("migrate")  # the rest, with nothing created twice
    assert result.exit_code == EXIT_OK
    assert_exact_copy(org)


def test_a_canary_of_an_unknown_meeting_is_exit_2(ws, org):
    result, outcome = ws.run("migrate", "--meeting", "no-such-meeting")
    assert result.exit_code == EXIT_USAGE and "no-such-meeting" in outcome["error"]
    assert v2_writes(org) == 0
