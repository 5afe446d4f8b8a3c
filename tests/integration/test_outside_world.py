"""Where the world differs from one ledger (issue 10): counted through the sandbox's APIs.

Variant names that could be read two ways, a webhook already in v2 under another name,
the same ledger reached through a symlink, and the default ledger found from any folder.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.api import default_mappings_dir
from migrator.errors import EXIT_FAILED, EXIT_OK
from migrator.sandbox.dataset import ROLES, _role

from .helpers import V2, Workspace, get_json


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# ---------------------------------------------------------------- variant names (item 4)
def _clashing_roles_org() -> dict[str, Any]:
    """The issue's example: role `x` (a host who waits) in a waiting-room meeting, and role
    `x--waiting-room` (a viewer) in a meeting without one, both with preset `foo`."""
    base = _role(admin=False, waiting_room="skipOnAccept", video=(True, "vga", 24), audio=True,
                 screenshare=(False, "vga", 5), polls=False, chat=(True, False), reactions=False)
    host = _role(admin=True, waiting_room="skipOnAccept", video=(True, "hd", 30), audio=True,
                 screenshare=(True, "hd", 5), polls=True, chat=(True, True), reactions=True, recording=True)
    viewer = _role(admin=False, waiting_room="skip", video=(False, "vga", 24), audio=False,
                   screenshare=(False, "vga", 5), polls=False, chat=(True, False), reactions=False)
    return {"v1": {
        "roles": [{"name": "base", "role": base}, {"name": "x", "role": host}, {"name": "x--waiting-room", "role": viewer}],
        "presets": [{"name": "foo", "preset": {"role": "base", "uiConfig": {}}}],
        "meetings": [
            {"title": "with a waiting room", "presetName": "foo", "authorization": {"waitingRoom": True},
             "participants": [{"clientSpecificId": "host-in-waiting-room", "roleName": "x"}]},
            {"title": "without one", "presetName": "foo", "authorization": {"waitingRoom": False},
             "participants": [{"clientSpecificId": "viewer-elsewhere", "roleName": "x--waiting-room"}]},
        ],
        "webhooks": [],
    }, "v2": {}}


def test_two_choices_whose_readable_names_clash_get_two_presets(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, dataset=str(_write(tmp_path / "org.json", _clashing_roles_org())))
    ws = Workspace.for_sandbox(tmp_path, org)
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output

    v2 = V2(org)
    preset_of = {p["custom_participant_id"]: p["preset_name"] for p in v2.participants()}
    assert preset_of["host-in-waiting-room"] != preset_of["viewer-elsewhere"]
    presets = {p["name"]: get_json(v2.client, f"/presets/{p['id']}")["data"] for p in v2.all("/presets")}
    host, viewer = presets[preset_of["host-in-waiting-room"]], presets[preset_of["viewer-elsewhere"]]
    assert host["permissions"]["kick_participant"] is True
    assert host["permissions"]["waiting_room_type"] == "SKIP_ON_ACCEPT"
    assert viewer["permissions"]["kick_participant"] is False
    assert viewer["permissions"]["waiting_room_type"] == "SKIP"
    assert viewer["permissions"]["media"]["video"]["can_produce"] == "NOT_ALLOWED"
    assert preset_of["host-in-waiting-room"] == "foo--role-x--waiting-room", "the unambiguous name stays readable"


def test_a_generated_name_clash_is_a_plan_warning_and_a_conflict(sandbox_factory, tmp_path):
    """Templates edited so that they lose the distinction: the plan says so, migrate merges nothing."""
    mappings = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), mappings)
    presets = yaml.safe_load((mappings / "presets.yaml").read_text(encoding="utf-8"))
    presets["variant_names"].update({"role": "{preset}-{role}", "role_and_waiting_room": "{preset}-{role}-wr",
                                     "waiting_room": "{preset}-wr"})
    (mappings / "presets.yaml").write_text(yaml.safe_dump(presets, allow_unicode=True), encoding="utf-8")
    document = _clashing_roles_org()
    document["v1"]["roles"][2]["name"] = "x-wr"  # "foo-x-wr": role x-wr, or role x with a waiting room
    document["v1"]["meetings"][1]["participants"][0]["roleName"] = "x-wr"
    org = sandbox_factory(rate_limit=0, dataset=str(_write(tmp_path / "org.json", document)))
    ws = Workspace.for_sandbox(tmp_path, org)

    result, plan = ws.run("--mappings", str(mappings), "plan")
    assert result.exit_code == EXIT_OK, result.output
    assert plan["counts"]["preset"].get("conflict") == 1 and plan["counts"]["participant"].get("conflict") == 2
    report = json.loads((ws.reports / "plan.json").read_text(encoding="utf-8"))
    assert [w for w in report["warnings"] if "'foo-x-wr' is generated for" in w], report["warnings"]

    result, migrated = ws.run("--mappings", str(mappings), "migrate")
    assert result.exit_code == EXIT_FAILED, result.output
    v2 = V2(org)
    assert "foo-x-wr" not in {p["name"] for p in v2.all("/presets")}
    assert v2.participants() == [], "no participant may land in a preset meant for another choice"


# ---------------------------------------------------------------- webhooks (item 5)
def test_a_webhook_already_in_v2_under_another_name_is_not_created_again(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, meetings=2, participants=1)
    v2 = V2(org)
    url = "https://hooks.example.invalid/dyte/meetings"  # the sample's "meeting lifecycle" webhook
    made = v2.client.post("/webhooks", json={"name": "made by hand", "url": url, "events": ["meeting.started"]})
    assert made.status_code in (200, 201), made.text
    ws = Workspace.for_sandbox(tmp_path, org)

    for _ in range(2):
        result, outcome = ws.run("migrate")
        assert result.exit_code in (EXIT_OK, EXIT_FAILED), result.output
    per_url = Counter(h["url"] for h in v2.webhooks())
    assert per_url[url] == 1, "a receiver must get each event once"
    assert all(n == 1 for n in per_url.values()), per_url
