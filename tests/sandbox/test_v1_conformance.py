"""Every implemented v1 operation, success and error, validated against dyte-v1.yaml (roles: the 2022 file)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from migrator.sandbox import routes_v1
from migrator.sandbox.server import SandboxServer

from .spec_check import (
    GENERIC_ERROR,
    V1,
    V1_ROLES,
    Conformance,
    SandboxClient,
    assert_each_once,
)

ORG = "/organizations/{organizationId}"
MEETING = f"{ORG}/meetings/{{meetingId}}"
WEBHOOK = f"{ORG}/webhooks/{{webhookId}}"


@pytest.fixture
def v1(sandbox_factory: Callable[..., SandboxServer]) -> tuple[SandboxClient, Conformance]:
    return SandboxClient(sandbox_factory(rate_limit=0, meetings=20, participants=12)), Conformance()


def walk(
    fetch: Callable[[int, int], httpx.Response], key: str, limit: int, check: Callable[[httpx.Response], Any]
) -> list[dict[str, Any]]:
    """Pages of `limit` until a short page; each page validated by `check`."""
    items: list[dict[str, Any]] = []
    while True:
        page = check(fetch(len(items), limit))["data"][key]
        items.extend(page)
        if len(page) < limit:
            return items


def test_presets_roles_and_their_documents(v1: tuple[SandboxClient, Conformance]) -> None:
    api, conformance = v1
    ok = lambda path, status=200, spec=V1: lambda response: conformance.check(spec, "v1", path, response, status)  # noqa: E731

    presets = walk(
        lambda offset, limit: api.v1("GET", "/presets", params={"offset": offset, "limit": limit}),
        "presets",
        2,
        ok(f"{ORG}/presets"),
    )
    assert_each_once(presets, 5)
    conformance.check(V1, "v1", f"{ORG}/presets", api.v1("GET", "/presets", api_key="wrong"), 401)

    roles = walk(
        lambda offset, limit: api.v1("GET", "/preset-roles", params={"offset": offset, "limit": limit}),
        "roles",
        2,
        ok("/organizations/{organizationID}/preset-roles", spec=V1_ROLES),
    )
    assert_each_once(roles, 5)
    conformance.check(
        V1_ROLES,
        "v1",
        "/organizations/{organizationID}/preset-roles",
        api.v1("GET", "/preset-roles", org_id="00000000-0000-4000-8000-000000000000"),
        401,
    )

    # Documents: the preset as created plus its role's document, each valid per the request schemas.
    preset_body = V1.component_validator("CreatePresetRequestBody")
    role_body = V1.component_validator("CreatePresetRoleRequestBody")
    for preset in presets:
        document = api.get(preset["s3URL"]).json()
        assert document["name"] == preset["name"]
        assert not list(preset_body.iter_errors({key: document[key] for key in ("name", "preset")}))
        assert document["role"]["name"] == document["preset"]["role"]
        assert not list(role_body.iter_errors(document["role"]))
    role_documents = {role["name"]: api.get(role["s3URL"]).json() for role in roles}
    for name, document in role_documents.items():
        assert document["name"] == name and not list(role_body.iter_errors(document))
    for preset in presets:
        document = api.get(preset["s3URL"]).json()
        assert document["role"] == role_documents[document["preset"]["role"]]
    missing_document = api.get(presets[0]["s3URL"].replace(".json", "-missing.json"))
    assert missing_document.status_code == 404 and missing_document.json()

    new_role = {"name": "guest", "role": {**api.get(roles[0]["s3URL"]).json()["role"]}}
    created = conformance.check(
        V1_ROLES, "v1", "/organizations/{organizationID}/preset-role", api.v1("POST", "/preset-role", json=new_role), 200
    )
    assert created["data"]["override"] is False and created["data"]["role"]["name"] == "guest"
    broken_role = {"name": "broken", "role": {**new_role["role"], "waitingRoom": "never"}}
    conformance.check(
        V1_ROLES, "v1", "/organizations/{organizationID}/preset-role", api.v1("POST", "/preset-role", json=broken_role), 400
    )

    new_preset = {"name": "guest_preset", "description": "for guests", "preset": {"role": "guest"}}
    created = conformance.check(V1, "v1", f"{ORG}/preset", api.v1("POST", "/preset", json=new_preset), 200)
    assert created["data"]["override"] is False
    assert api.get(created["data"]["preset"]["s3URL"]).json()["role"]["name"] == "guest"
    again = conformance.check(V1, "v1", f"{ORG}/preset", api.v1("POST", "/preset", json=new_preset), 200)
    assert again["data"]["override"] is True and again["data"]["preset"]["id"] == created["data"]["preset"]["id"]
    unknown_role = conformance.check(
        V1, "v1", f"{ORG}/preset", api.v1("POST", "/preset", json={"name": "x", "preset": {"role": "nobody"}}), 400
    )
    assert "nobody" in unknown_role["message"]
    conformance.check(V1, "v1", f"{ORG}/preset", api.v1("POST", "/preset", json={"name": "x"}), 400)
    assert not conformance.missing(
        [
            ("GET", f"/v1{ORG}/presets"),
            ("POST", f"/v1{ORG}/preset"),
            ("GET", f"/v1{ORG}/preset-roles"),
            ("POST", f"/v1{ORG}/preset-role"),
        ]
    )


def test_meetings_participants_recordings_webhooks(v1: tuple[SandboxClient, Conformance]) -> None:
    api, conformance = v1
    check = conformance.check

    meetings = walk(
        lambda offset, limit: api.v1("GET", "/meetings", params={"offset": offset, "limit": limit}),
        "meetings",
        7,
        lambda r: check(V1, "v1", f"{ORG}/meetings", r, 200),
    )
    assert_each_once(meetings, 20)
    assert {m["status"] for m in meetings} == {"CREATED", "LIVE", "CLOSED"}
    found = check(V1, "v1", f"{ORG}/meetings", api.v1("GET", "/meetings", params={"search": meetings[3]["roomName"]}), 200)
    assert [m["id"] for m in found["data"]["meetings"]] == [meetings[3]["id"]]
    check(V1, "v1", f"{ORG}/meetings", api.v1("GET", "/meetings", params={"offset": "first"}), 400)

    created = check(
        V1,
        "v1",
        f"{ORG}/meeting",
        api.v1(
            "POST",
            "/meeting",
            json={"title": "Ünïcode review", "presetName": "group_call", "authorization": {"waitingRoom": True}},
        ),
        200,
    )["data"]["meeting"]
    assert re.fullmatch(r"[a-z]{6}-[a-z]{6}", created["roomName"]) and created["participants"] == []
    assert created["presetName"] == "group_call" and created["authorization"] == {"waitingRoom": True, "closed": False}
    check(V1, "v1", f"{ORG}/meeting", api.v1("POST", "/meeting", json={"title": "x", "presetName": "nope"}), 400)
    check(V1, "v1", f"{ORG}/meeting", api.v1("POST", "/meeting", content=b'{"title": '), 400)

    meeting_path = f"/meetings/{created['id']}"
    assert check(V1, "v1", MEETING, api.v1("GET", meeting_path), 200)["data"]["meeting"] == {
        key: value for key, value in created.items() if key != "participants"
    }
    check(V1, "v1", MEETING, api.v1("GET", "/meetings/00000000-0000-4000-8000-000000000000"), 404)
    closed = check(V1, "v1", MEETING, api.v1("PUT", meeting_path, json={"status": "CLOSED", "title": "done"}), 200)
    assert closed["data"]["meeting"]["status"] == "CLOSED" and closed["data"]["meeting"]["title"] == "done"
    check(V1, "v1", MEETING, api.v1("PUT", meeting_path, json={"status": "OPEN"}), 400)

    participant = {
        "clientSpecificId": "cs-1",
        "userDetails": {"name": "Zoë", "picture": "https://a.example/z.png"},
        "presetName": "webinar_host",
        "roleName": "viewer",
    }
    added = check(V1, "v1", f"{MEETING}/participant", api.v1("POST", f"{meeting_path}/participant", json=participant), 200)
    assert added["data"]["authResponse"]["userAdded"] is True
    repeat = check(V1, "v1", f"{MEETING}/participant", api.v1("POST", f"{meeting_path}/participant", json=participant), 200)
    assert repeat["data"]["authResponse"]["userAdded"] is False
    check(V1, "v1", f"{MEETING}/participant", api.v1("POST", f"{meeting_path}/participant", json={"userDetails": {}}), 400)
    unknown = check(
        V1,
        "v1",
        f"{MEETING}/participant",
        api.v1("POST", f"{meeting_path}/participant", json={"clientSpecificId": "x", "roleName": "ghost"}),
        400,
    )
    assert "ghost" in unknown["message"]

    sample_meeting = f"/meetings/{meetings[0]['id']}"
    people = walk(
        lambda offset, limit: api.v1("GET", f"{sample_meeting}/participants", params={"offset": offset, "limit": limit}),
        "participants",
        5,
        lambda r: check(V1, "v1", f"{MEETING}/participants", r, 200),
    )
    assert_each_once(people, 12)
    assert {"clientSpecificId", "presetName", "roleName"} <= set(people[0])
    check(V1, "v1", f"{MEETING}/participants", api.v1("GET", "/meetings/00000000-0000-4000-8000-000000000000/participants"), 404)
    mine = check(V1, "v1", f"{MEETING}/participants", api.v1("GET", f"{meeting_path}/participants"), 200)["data"]["participants"]
    assert [(p["clientSpecificId"], p["name"], p["presetName"], p["roleName"]) for p in mine] == [
        ("cs-1", "Zoë", "webinar_host", "viewer")
    ]
    delete_path = f"{MEETING}/participant/{{participantId}}"
    check(V1, "v1", delete_path, api.v1("DELETE", f"{meeting_path}/participant/{mine[0]['id']}"), 200)
    check(V1, "v1", delete_path, api.v1("DELETE", f"{meeting_path}/participant/{mine[0]['id']}"), 404)

    recordings = check(V1, "v1", f"{MEETING}/recordings", api.v1("GET", f"{sample_meeting}/recordings"), 200)["data"][
        "recordings"
    ]
    assert recordings and recordings[0]["downloadUrl"].startswith("https://recordings.example.invalid/")
    check(V1, "v1", f"{MEETING}/recordings", api.v1("GET", "/meetings/00000000-0000-4000-8000-000000000000/recordings"), 404)
    check(
        V1,
        "v1",
        f"{MEETING}/recordings/{{recordingId}}",
        api.v1("GET", f"{sample_meeting}/recordings/{recordings[0]['id']}"),
        200,
    )
    check(
        V1, "v1", f"{MEETING}/recordings/{{recordingId}}", api.v1("GET", f"{sample_meeting}/recordings/{meetings[0]['id']}"), 404
    )
    stats = walk(
        lambda offset, limit: api.v1("GET", "/recordings", params={"offset": offset, "limit": limit}),
        "recordingStats",
        3,
        lambda r: check(V1, "v1", f"{ORG}/recordings", r, 200),
    )
    assert len(stats) == check(V1, "v1", f"{ORG}/recordings", api.v1("GET", "/recordings"), 200)["data"]["total"] == 10
    check(V1, "v1", f"{ORG}/recordings", api.v1("GET", "/recordings", params={"startTime": "yesterday"}), 400)

    hooks = check(V1, "v1", f"{ORG}/webhooks", api.v1("GET", "/webhooks"), 200)["data"]["webhooks"]
    assert len(hooks) == 3
    check(V1, "v1", f"{ORG}/webhooks", api.v1("GET", "/webhooks", api_key=""), 401)  # no Authorization header
    hook = {"name": "new", "url": "https://hooks.example.invalid/new", "events": ["meeting.ended"]}
    made = check(V1, "v1", f"{ORG}/webhook", api.v1("POST", "/webhook", json=hook), 200)["data"]["webhook"]
    check(V1, "v1", f"{ORG}/webhook", api.v1("POST", "/webhook", json={**hook, "events": ["meeting.chatSynced"]}), 400)
    hook_path = f"/webhooks/{made['id']}"
    assert check(V1, "v1", WEBHOOK, api.v1("GET", hook_path), 200)["data"]["webhook"] == made
    check(V1, "v1", WEBHOOK, api.v1("GET", "/webhooks/00000000-0000-4000-8000-000000000000"), 404)
    renamed = check(V1, "v1", WEBHOOK, api.v1("PUT", hook_path, json={**hook, "name": "renamed"}), 200)["data"]["webhook"]
    assert renamed["name"] == "renamed" and renamed["createdAt"] == made["createdAt"]
    check(V1, "v1", WEBHOOK, api.v1("PUT", hook_path, json={"name": "no url", "events": []}), 400)
    check(V1, "v1", WEBHOOK, api.v1("DELETE", hook_path), 200)
    check(V1, "v1", WEBHOOK, api.v1("DELETE", hook_path), 404)

    implemented = [(r.method, r.template) for r in routes_v1.routes() if r.area == "v1" and "preset" not in r.template]
    assert not conformance.missing(implemented)


def test_unknown_routes_and_methods_answer_json_in_the_v1_shape(v1: tuple[SandboxClient, Conformance]) -> None:
    api, _ = v1
    for response in (api.v1("GET", "/no-such-thing"), api.v1("DELETE", "/meetings")):
        assert response.status_code in (404, 405)
        assert list(GENERIC_ERROR["v1"].iter_errors(response.json())) == []
    outside = api.get(f"{api.base_url}/elsewhere")
    assert outside.status_code == 404 and outside.json()["error"]


def test_roles_route_can_be_switched_off(sandbox_factory: Callable[..., SandboxServer], tmp_path: Any) -> None:
    dataset = tmp_path / "no-roles.json"
    dataset.write_text('{"features": {"roles_route": false}, "v1": {}, "v2": {}}')
    api = SandboxClient(sandbox_factory(dataset=str(dataset), rate_limit=0))
    answer = api.v1("GET", "/preset-roles")
    assert answer.status_code == 404 and answer.json() == {"success": False, "message": "Not found"}
