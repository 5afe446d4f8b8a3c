"""An org built through the sandbox's v1 API (not the sample generator) migrates and verifies."""

from __future__ import annotations

from migrator.errors import EXIT_FAILED, EXIT_OK

from .helpers import V1, V2, Workspace, assert_exact_copy

ROLE = {
    "permissions": {
        "acceptWaitingRequests": True,
        "disableParticipantAudio": True,
        "disableParticipantScreensharing": True,
        "disableParticipantVideo": True,
        "kickParticipants": True,
        "pinParticipant": True,
        "allowRecording": True,
    },
    "waitingRoom": "skip",
    "plugins": {"close": True, "start": True},
    "produce": {
        "video": {"allow": True, "quality": "fhd", "frameRate": 60},
        "audio": True,
        "screenshare": {"allow": True, "quality": "full-hd", "frameRate": 5},
        "polls": True,
        "chat": {"text": True, "files": True},
        "reactions": True,
    },
    "flags": {"hiddenParticipant": False},
}
GUEST = {
    **ROLE,
    "waitingRoom": "skipOnAccept",
    "permissions": {k: False for k in ROLE["permissions"]},
    "produce": {**ROLE["produce"], "video": {"allow": False, "quality": "vga", "frameRate": 15}},
}
UI = {
    "colors": {"primary": "#2160FD", "secondary": "#262626", "textPrimary": "#EEEEEE", "videoBackground": "#1A1A1A"},
    "grid": {"defaultView": "multi", "multi": {"maxVideoCount": 9, "videoFit": "cover"}},
    "logo": "https://example.invalid/logo.svg",
    "controlBar": True,
}


def seed(org) -> None:
    v1 = V1(org)

    def post(path: str, body: dict) -> dict:
        response = v1.client.post(path, json=body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    post("/preset-role", {"name": "boss", "description": "runs it", "role": ROLE})
    post("/preset-role", {"name": "guest", "description": "visits", "role": GUEST})
    post("/preset", {"name": "town_hall", "description": "all hands", "preset": {"role": "boss", "uiConfig": UI}})
    post("/preset", {"name": "group_call", "description": "org default", "preset": {"role": "guest", "uiConfig": UI}})
    plain = post("/meeting", {"title": "Plain"})["meeting"]
    hall = post(
        "/meeting",
        {
            "title": "Town hall ✓",
            "presetName": "town_hall",
            "recordOnStart": True,
            "authorization": {"waitingRoom": True, "closed": True},
        },
    )["meeting"]
    for i in range(3):
        post(f"/meetings/{plain['id']}/participant", {"clientSpecificId": f"plain-{i}", "userDetails": {"name": f"P{i}"}})
    post(f"/meetings/{hall['id']}/participant", {"clientSpecificId": "ceo", "userDetails": {"name": "Zoë"}})
    post(f"/meetings/{hall['id']}/participant", {"clientSpecificId": "visitor", "roleName": "guest"})
    post(f"/meetings/{plain['id']}/participant", {"clientSpecificId": "vip", "presetName": "town_hall"})
    post(
        "/webhook",
        {"name": "ops", "url": "https://hooks.example.invalid/ops", "events": ["meeting.started", "recording.statusUpdate"]},
    )
    assert v1.client.put(f"/meetings/{plain['id']}", json={"status": "CLOSED"}).status_code == 200


def test_org_seeded_through_v1_api(tmp_path, sandbox_factory):
    org = sandbox_factory(dataset="empty", rate_limit=0)
    seed(org)
    ws = Workspace.for_sandbox(tmp_path, org)
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert_exact_copy(org)
    assert ws.run("verify")[0].exit_code == EXIT_OK

    v2 = V2(org)
    presets = {p["name"]: p["id"] for p in v2.all("/presets")}
    assert {"town_hall", "group_call"} <= set(presets)
    by_custom = {p["custom_participant_id"]: p for p in v2.participants()}
    assert by_custom["plain-0"]["preset_name"] == "group_call"  # org default
    assert by_custom["vip"]["preset_name"] == "town_hall"  # own preset
    assert by_custom["visitor"]["preset_name"] == "town_hall--role-guest--waiting-room"  # role + waiting room
    visitor = v2.client.get(f"/presets/{presets['town_hall--role-guest--waiting-room']}").json()["data"]
    assert visitor["permissions"]["waiting_room_type"] == "SKIP_ON_ACCEPT"
    assert visitor["permissions"]["media"]["video"]["can_produce"] == "NOT_ALLOWED"
    boss = v2.client.get(f"/presets/{presets['town_hall']}").json()["data"]
    assert boss["permissions"]["can_record"] is True and boss["permissions"]["kick_participant"] is True
    assert boss["config"]["media"]["video"] == {"quality": "hd", "frame_rate": 30}  # fhd and 60 fps are lossy
    statuses = {m["title"]: m["status"] for m in v2.all("/meetings")}
    assert statuses == {"Plain": "INACTIVE", "Town hall ✓": "ACTIVE"}


def test_participant_without_resolvable_preset_is_unmappable(tmp_path, sandbox_factory):
    org = sandbox_factory(dataset="empty", rate_limit=0)
    v1 = V1(org)
    v1.client.post("/preset-role", json={"name": "boss", "description": "", "role": ROLE})
    v1.client.post("/preset", json={"name": "only_one", "description": "", "preset": {"role": "boss", "uiConfig": UI}})
    meeting = v1.client.post("/meeting", json={"title": "No preset anywhere"}).json()["data"]["meeting"]
    v1.client.post(f"/meetings/{meeting['id']}/participant", json={"clientSpecificId": "lost"})
    ws = Workspace.for_sandbox(tmp_path, org)
    result, plan = ws.run("plan")
    assert plan["counts"]["participant"]["unmappable"] == 1
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_FAILED
    assert outcome["counts"]["participant"]["unmappable"] == 1
    assert V2(org).participants() == []
    result, verified = ws.run("verify")
    assert result.exit_code == EXIT_FAILED and verified["status"] == "mismatch"
