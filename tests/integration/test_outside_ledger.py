"""The world outside the ledger (issue 10): a lost or second ledger, objects the tool did not
create, deletions in v1 or v2. Every count is read through the sandbox's v1 and v2 APIs."""

from __future__ import annotations

import contextlib
import json
from collections import Counter

import httpx
import pytest

from migrator.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE

from .helpers import PAIRS, TITLES, V1, V2, Workspace, assert_exact_copy, v2_writes, workspace_for_pair


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(rate_limit=0, meetings=5, participants=3)


@pytest.fixture
def ws(tmp_path, org):
    (tmp_path / "first").mkdir()
    return Workspace.for_sandbox(tmp_path / "first", org)


def _second(tmp_path, org) -> Workspace:
    (tmp_path / "second").mkdir()
    return Workspace.for_sandbox(tmp_path / "second", org)


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_a_second_ledger_refuses_to_duplicate_then_import_rebuilds_it(org, tmp_path, source, target):
    first, second = tmp_path / "first", tmp_path / "second"  # another folder, a lost ledger, a copy without its -wal
    first.mkdir(), second.mkdir()
    ws = workspace_for_pair(first, org, source, target)
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    v2 = V2(org, target)
    meetings, participants = len(v2.all("/meetings")), len(v2.participants())
    other = Workspace.for_sandbox(second, org, target, source)
    writes = v2_writes(org)

    result, outcome = other.run("migrate")
    assert result.exit_code == EXIT_USAGE
    assert "knows none of them" in outcome["error"] and "import" in outcome["error"]
    assert f"{TITLES[target]} already holds " in outcome["error"]
    assert f"objects that match {TITLES[source]}" in outcome["error"]
    assert v2_writes(org) == writes
    assert (len(v2.all("/meetings")), len(v2.participants())) == (meetings, participants)

    result, planned = other.run("plan")
    assert result.exit_code == EXIT_OK
    findings = (other.reports / "plan.json").read_text()
    assert f"already in {TITLES[target]}, not known to this ledger" in findings

    result, imported = other.run("import")
    assert result.exit_code == EXIT_OK, result.output
    assert sum(c["imported"] for c in imported["counts"].values()) == sum(
        (meetings, participants, len(v2.all("/presets")), len(v2.webhooks()))
    )
    assert v2_writes(org) == writes, "import writes nothing to the target"
    result, again = other.run("migrate")
    assert result.exit_code == EXIT_OK and v2_writes(org) == writes, "with the imported ledger, migrate writes 0"
    assert other.run("verify")[0].exit_code == EXIT_OK
    assert_exact_copy(org, target, source)


def test_import_leaves_ambiguous_meetings_out(ws, org, tmp_path):
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    meeting = V2(org).all("/meetings")[0]
    V2(org).client.post("/meetings", json={"title": meeting["title"]}).raise_for_status()  # an empty twin
    other = _second(tmp_path, org)
    result, imported = other.run("import")
    # the twin has no participants: the participant set tells them apart, so nothing is ambiguous
    assert imported["counts"]["meeting"]["ambiguous"] == 0
    V2(org).client.post("/meetings", json={"title": "Lonely"}).raise_for_status()
    V2(org).client.post("/meetings", json={"title": "Lonely"}).raise_for_status()
    V1(org).client.post("/meeting", json={"title": "Lonely"}).raise_for_status()
    third = Workspace.for_sandbox(tmp_path, org)
    result, imported = third.run("import")
    assert result.exit_code == EXIT_FAILED and imported["counts"]["meeting"]["ambiguous"] == 1


def test_reconcile_never_adopts_a_same_title_meeting_it_did_not_create(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, meetings=3, participants=2, faults="commit-then-drop:1.0")
    v1, v2 = V1(org), V2(org)
    titles = [m["title"] for m in v1.all("/meetings", "meetings")]
    for title in titles:  # the fault drops the answer to our own setup writes too: they are applied all the same
        with contextlib.suppress(httpx.TransportError):
            v2.client.post("/meetings", json={"title": title})
    foreign = {m["id"] for m in v2.all("/meetings")}
    assert len(foreign) == len(titles)
    ws = Workspace.for_sandbox(tmp_path, org)
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_USAGE, "a first run refuses to write next to look-alikes without --allow-existing"
    result, outcome = ws.run("migrate", "--allow-existing")
    assert result.exit_code == EXIT_OK, result.output
    meetings = v2.all("/meetings")
    assert Counter(m["title"] for m in meetings) == Counter(titles * 2), "one of ours beside each foreign one"
    for meeting in meetings:
        if meeting["id"] in foreign:
            assert v2.all(f"/meetings/{meeting['id']}/participants") == [], "nothing was added to a foreign meeting"
    ws.run("rollback", "--yes")
    assert {m["status"] for m in v2.all("/meetings") if m["id"] in foreign} == {"ACTIVE"}, "rollback left them alone"


def test_delete_and_re_add_in_v1_updates_the_v2_participant(ws, org):
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    v1 = V1(org)
    meeting = v1.all("/meetings", "meetings")[0]
    person = v1.all(f"/meetings/{meeting['id']}/participants", "participants")[0]
    presets = [p["name"] for p in v1.all("/presets", "presets")]
    other_preset = next(p for p in presets if p != person.get("presetName"))
    assert v1.client.delete(f"/meetings/{meeting['id']}/participant/{person['id']}").status_code == 200
    v1.client.post(
        f"/meetings/{meeting['id']}/participant",
        json={
            "clientSpecificId": person["clientSpecificId"],
            "presetName": other_preset,
            "userDetails": {"name": person.get("name")},
        },
    ).raise_for_status()

    for _ in range(2):  # converges: the second run writes nothing
        result, outcome = ws.run("migrate")
        assert result.exit_code == EXIT_OK, result.output
    writes = v2_writes(org)
    assert ws.run("migrate")[0].exit_code == EXIT_OK and v2_writes(org) == writes
    in_v2 = [p for p in V2(org).participants() if p["custom_participant_id"] == person["clientSpecificId"]]
    assert len(in_v2) == 1 and in_v2[0]["preset_name"].startswith(other_preset)
    assert_exact_copy(org)


def test_deleted_in_v1_is_named_and_pruned_only_when_asked(ws, org):
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    v1, v2 = V1(org), V2(org)
    meeting = v1.all("/meetings", "meetings")[0]
    person = v1.all(f"/meetings/{meeting['id']}/participants", "participants")[0]
    hook = v1.client.get("/webhooks").json()["data"]["webhooks"][0]
    assert v1.client.delete(f"/meetings/{meeting['id']}/participant/{person['id']}").status_code == 200
    assert v1.client.delete(f"/webhooks/{hook['id']}").status_code == 200
    participants, hooks = len(v2.participants()), len(v2.webhooks())

    result, planned = ws.run("plan")
    found = json.loads((ws.reports / "plan.json").read_text())["outside_ledger"]
    assert sorted(f["kind"] for f in found if "deleted in Dyte v1, kept in Dyte v2" in f["finding"]) == ["participant", "webhook"]
    result, verified = ws.run("verify")
    assert result.exit_code == EXIT_FAILED
    verify = (ws.reports / "verify.json").read_text()
    assert verify.count("deleted in Dyte v1, still in Dyte v2") == 2 and "duplicate" not in verify

    assert ws.run("migrate")[0].exit_code == EXIT_OK
    assert (len(v2.participants()), len(v2.webhooks())) == (participants, hooks), "kept without --prune"
    result, pruned = ws.run("migrate", "--prune")
    assert result.exit_code == EXIT_OK, result.output
    assert (len(v2.participants()), len(v2.webhooks())) == (participants - 1, hooks - 1)
    assert person["clientSpecificId"] not in {p["custom_participant_id"] for p in v2.participants()}
    assert ws.run("verify")[0].exit_code == EXIT_OK


def test_deleted_in_v2_is_created_again_dependencies_first(ws, org):
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    v2 = V2(org)
    preset = next(p for p in v2.all("/presets") if any(q["preset_name"] == p["name"] for q in v2.participants()))
    person = v2.participants()[0]
    hook = v2.webhooks()[0]
    for path in (
        f"/presets/{preset['id']}",
        f"/meetings/{person['meeting_id']}/participants/{person['id']}",
        f"/webhooks/{hook['id']}",
    ):
        assert v2.client.delete(path).status_code == 200
    assert ws.run("verify")[0].exit_code == EXIT_FAILED

    result, planned = ws.run("plan")
    found = json.loads((ws.reports / "plan.json").read_text())["outside_ledger"]
    assert sorted(f["kind"] for f in found if "deleted in Dyte v2" in f["finding"]) == ["participant", "preset", "webhook"]
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert outcome["counts"]["preset"]["created"] == 1 and outcome["counts"]["webhook"]["created"] == 1
    assert outcome["counts"]["participant"]["created"] == 1
    assert ws.run("verify")[0].exit_code == EXIT_OK
    assert_exact_copy(org)
