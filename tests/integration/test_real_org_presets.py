"""Issue 11: an org shaped by real use (seeded through the v1 API), not the sample data.

Three roles, three presets (none called `group_call`), a quarter of the meetings with no
meeting preset, and participants with their own preset, with only a roleName, or neither.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import cli
from migrator.errors import EXIT_OK, EXIT_USAGE

from .helpers import V1, V2, Workspace, assert_exact_copy, v2_writes
from .test_seeded_through_v1 import ROLE as HOST
from .test_seeded_through_v1 import UI

MEMBER = {
    **HOST,
    "waitingRoom": "skipOnAccept",
    "permissions": {**{k: False for k in HOST["permissions"]}, "pinParticipant": True},
}
VIEWER = {
    "permissions": {k: False for k in HOST["permissions"]},
    "waitingRoom": "skipOnPrivilegeduserEntry",
    "plugins": {"close": False, "start": False},
    "produce": {
        "video": {"allow": False, "quality": "vga", "frameRate": 15},
        "audio": False,
        "screenshare": {"allow": False, "quality": "vga", "frameRate": 5},
        "polls": False,
        "chat": {"text": True, "files": False},
        "reactions": False,
    },
    "flags": {"hiddenParticipant": True},
}
PRESETS = {"webinar_host": "host", "team": "member", "audience": "viewer"}
MEETINGS = 8  # two of them (a quarter) name no preset


def _post(v1: V1, path: str, body: dict) -> dict:
    response = v1.client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def seed_roles_and_presets(v1: V1) -> None:
    for name, role in (("host", HOST), ("member", MEMBER), ("viewer", VIEWER)):
        _post(v1, "/preset-role", {"name": name, "description": "", "role": role})
    for name, role in PRESETS.items():
        _post(v1, "/preset", {"name": name, "description": "", "preset": {"role": role, "uiConfig": UI}})


def seed_real_org(org) -> dict[str, int]:
    """The org of the issue; returns how many participants of each shape it holds."""
    v1 = V1(org)
    seed_roles_and_presets(v1)
    shapes = {"own": 0, "role-only": 0, "bare": 0}
    names = list(PRESETS)
    for i in range(MEETINGS):
        body: dict = {"title": f"M{i}"}
        if i % 4:  # meetings 0 and 4 have no preset
            body["presetName"] = names[i % 3]
        meeting = _post(v1, "/meeting", body)["meeting"]
        people = [({"presetName": "webinar_host"}, "own"), ({"roleName": "viewer"}, "role-only"), ({}, "bare")]
        for j, (extra, shape) in enumerate(people):
            _post(v1, f"/meetings/{meeting['id']}/participant", {"clientSpecificId": f"m{i}-p{j}", **extra})
            shapes[shape] += 1
    return shapes


@pytest.fixture
def real_org(sandbox_factory, tmp_path):
    org = sandbox_factory(dataset="empty", rate_limit=0)
    seed_real_org(org)
    return org, Workspace.for_sandbox(tmp_path, org)


def test_check_exits_2_without_a_default_preset_and_lists_the_presets(real_org):
    org, ws = real_org
    result, outcome = ws.run("check")
    assert result.exit_code == EXIT_USAGE, result.output
    assert "2 participants need the org default preset" in result.output  # bare ones in preset-less meetings
    assert "'group_call' is not a v1 preset" in result.output
    assert "audience, team, webinar_host" in result.output
    assert "--default-preset" in result.output
    assert outcome["details"]["default_preset"]["needed_by"] == 2
    assert v2_writes(org) == 0


def test_plan_warns_before_any_write(real_org):
    org, ws = real_org
    result, outcome = ws.run("plan")
    assert "2 participants need the org default preset" in result.output
    assert outcome["counts"]["participant"]["unmappable"] == 2
    assert v2_writes(org) == 0


def test_migrates_with_zero_unmappable_given_default_preset(real_org):
    org, ws = real_org
    result, outcome = ws.run("--default-preset", "team", "check")
    assert result.exit_code == EXIT_OK, result.output
    assert "default preset 'team' (--default-preset)" in result.output
    result, outcome = ws.run("--default-preset", "team", "migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert all(c.get("unmappable", 0) == 0 for c in outcome["counts"].values())
    assert_exact_copy(org)
    by_custom = {p["custom_participant_id"]: p["preset_name"] for p in V2(org).participants()}
    assert by_custom["m0-p2"] == "team"  # bare participant in a preset-less meeting: the default
    assert by_custom["m0-p0"] == "webinar_host"  # own preset
    assert by_custom["m1-p2"] == "team"  # meeting preset (meeting 1 names team)


def test_default_preset_from_the_environment(real_org, monkeypatch):
    org, ws = real_org
    monkeypatch.setenv("DYTE_MIGRATE_DEFAULT_PRESET", "audience")
    result, _ = ws.run("check")
    assert result.exit_code == EXIT_OK, result.output
    assert "(env DYTE_MIGRATE_DEFAULT_PRESET)" in result.output


def test_role_only_participant_gets_a_preset_built_from_its_role(sandbox_factory, tmp_path):
    """No preset from the participant, its meeting or the default: the role alone decides."""
    org = sandbox_factory(dataset="empty", rate_limit=0)
    v1 = V1(org)
    seed_roles_and_presets(v1)
    plain = _post(v1, "/meeting", {"title": "no preset"})["meeting"]
    waiting = _post(v1, "/meeting", {"title": "waits", "authorization": {"waitingRoom": True}})["meeting"]
    _post(v1, f"/meetings/{plain['id']}/participant", {"clientSpecificId": "viewer", "roleName": "viewer"})
    _post(v1, f"/meetings/{plain['id']}/participant", {"clientSpecificId": "host", "roleName": "host"})
    _post(v1, f"/meetings/{waiting['id']}/participant", {"clientSpecificId": "waiter", "roleName": "viewer"})
    ws = Workspace.for_sandbox(tmp_path, org)
    result, _ = ws.run("check")
    assert result.exit_code == EXIT_OK, result.output  # nobody needs the default
    result, _ = ws.run("plan")
    plan = json.loads((ws.reports / "plan.json").read_text())
    relocated = {row["v2_preset"]: row for row in plan["relocation"]}
    assert relocated["role-viewer"]["by_source"] == {"role-only": 1}
    assert "role-only" in (ws.reports / "plan.md").read_text()
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output

    v2 = V2(org)
    by_custom = {p["custom_participant_id"]: p["preset_name"] for p in v2.participants()}
    assert by_custom == {"viewer": "role-viewer", "host": "role-host", "waiter": "role-viewer--waiting-room"}
    presets = {p["name"]: p["id"] for p in v2.all("/presets")}
    viewer = v2.client.get(f"/presets/{presets['role-viewer']}").json()["data"]
    host = v2.client.get(f"/presets/{presets['role-host']}").json()["data"]
    waiter = v2.client.get(f"/presets/{presets['role-viewer--waiting-room']}").json()["data"]
    for preset, role in ((viewer, VIEWER), (host, HOST)):
        perms = preset["permissions"]
        assert perms["kick_participant"] is role["permissions"]["kickParticipants"]
        assert perms["pin_participant"] is role["permissions"]["pinParticipant"]
        assert perms["can_record"] is role["permissions"]["allowRecording"]
        assert perms["hidden_participant"] is role["flags"]["hiddenParticipant"]
        video = "ALLOWED" if role["produce"]["video"]["allow"] else "NOT_ALLOWED"
        audio = "ALLOWED" if role["produce"]["audio"] else "NOT_ALLOWED"
        assert perms["media"]["video"]["can_produce"] == video
        assert perms["media"]["audio"]["can_produce"] == audio
        assert perms["waiting_room_type"] == "SKIP"  # no waiting room in that meeting
        # the UI is v2's declared default, not any v1 preset's colours
        assert preset["ui"]["design_tokens"]["colors"]["brand"]["500"] == "#b56927"
        assert preset["ui"]["design_tokens"]["colors"]["video_bg"] == "#191919"
    assert waiter["permissions"]["waiting_room_type"] == "ON_PRIVILEGED_USER_ENTRY"
    assert_exact_copy(org)


def _participant_ids(export: Path) -> set[tuple[str, str, str]]:
    rows = json.loads(export.read_text())["ids"]
    return {(r["v1_id"], r["v2_id"], r["state"]) for r in rows if r["kind"] == "participant"}


def test_changed_mappings_are_named_and_never_make_migrated_participants_unmappable(real_org):
    org, ws = real_org
    result, _ = ws.run("--default-preset", "team", "migrate")
    assert result.exit_code == EXIT_OK, result.output
    ws.run("export-ids", "--format", "json", "--output", str(ws.root / "before.json"))
    # forgetting the setting once: the mappings differ from those the ledger was migrated with
    result, outcome = ws.run("plan")
    assert "mappings differ from those this ledger was migrated with" in result.output
    assert outcome["counts"]["participant"].get("unmappable", 0) == 0
    report = json.loads((ws.reports / "plan.json").read_text())
    kept = [e for e in report["unresolved"] if e["state"] == "kept"]
    assert len(kept) == 2 and all("--default-preset team" in e["resolve"] for e in kept)
    ws.run("export-ids", "--format", "json", "--output", str(ws.root / "after.json"))
    assert _participant_ids(ws.root / "after.json") == _participant_ids(ws.root / "before.json")  # no row dropped
    # a different default: the resulting updates are planned explicitly and listed
    result, outcome = ws.run("--default-preset", "audience", "plan")
    assert "mappings differ" in result.output
    report = json.loads((ws.reports / "plan.json").read_text())
    changed = [u for u in report["changed"] if u["kind"] == "participant" and u["action"] == "update"]
    # the bare and the role-only participants of the two preset-less meetings move to 'audience'
    assert sorted(u["label"] for u in changed) == ["m0-p1", "m0-p2", "m4-p1", "m4-p2"]


def test_unresolved_entities_are_named_in_reports_and_console(real_org):
    org, ws = real_org
    result, outcome = ws.run("migrate")
    assert result.exit_code == 1
    report = json.loads((ws.reports / "migrate.json").read_text())
    unresolved = [e for e in report["unresolved"] if e["kind"] == "participant"]
    assert len(unresolved) == 2
    for entry in unresolved:
        assert entry["state"] == "unmappable" and entry["v1_id"] and entry["label"]
        assert "group_call" in entry["reason"] and "--default-preset" in entry["resolve"]
    assert "participant: " in result.output and "2 unmappable" in result.output
    for entry in unresolved:
        assert entry["v1_id"] in result.output
    assert unresolved[0]["v1_id"] in (ws.reports / "migrate.md").read_text()
    assert unresolved[0]["v1_id"] in (ws.reports / "migrate.html").read_text()
    result, _ = ws.run("verify")
    verify = json.loads((ws.reports / "verify.json").read_text())
    assert {e["v1_id"] for e in verify["unresolved"]} >= {e["v1_id"] for e in unresolved}


def test_init_writes_a_config_that_check_accepts(real_org, monkeypatch):
    """The pip-installed user's workflow: init (with a copy of the mappings), name the default, check."""
    org, ws = real_org
    monkeypatch.chdir(ws.root)
    run = CliRunner()
    result = run.invoke(cli, ["init", "--with-mappings", "my-mappings"])
    assert result.exit_code == EXIT_OK, result.output
    assert (ws.root / "my-mappings" / "presets.yaml").is_file()
    common = ["--credentials", str(ws.credentials), "--rate-limit", "0", "--no-progress"]
    result = run.invoke(cli, [*common, "check"])
    assert result.exit_code == EXIT_USAGE, result.output  # the config is valid; the org needs a default preset
    assert "setting mappings = my-mappings (config file dyte-migrate.toml)" in result.output
    config = ws.root / "dyte-migrate.toml"
    config.write_text(config.read_text().replace('# default_preset = "group_call"', 'default_preset = "team"'))
    result = run.invoke(cli, [*common, "check"])
    assert result.exit_code == EXIT_OK, result.output
    assert "default preset 'team' (config file dyte-migrate.toml)" in result.output
    assert "setting ledger = the org pair's ledger in the user state directory (built-in default)" in result.output
