"""Every implemented v2 operation, success and error, validated against dyte-v2.yaml."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrator.sandbox import routes_v2
from migrator.sandbox.server import SandboxServer

from .payloads import v2_preset
from .spec_check import GENERIC_ERROR, V2, Conformance, SandboxClient, assert_each_once

NOWHERE = "00000000-0000-4000-8000-000000000000"
V2_MEETING = "11111111-1111-4111-8111-111111111111"


def v2_recordings_dataset(path: Path) -> Path:
    """An empty v1 org and a v2 org with one meeting holding 7 recordings, one of them live."""
    recordings = [
        {
            "id": f"22222222-2222-4222-8222-{index:012d}",
            "status": "UPLOADED",
            "download_url": f"https://recordings.example.invalid/{index}.mp4",
            "download_url_expiry": "2023-05-01T10:00:00.000Z",
            "file_size": 1024.0,
            "started_time": "2023-04-01T10:00:00.000Z",
            "stopped_time": "2023-04-01T10:30:00.000Z",
        }
        for index in range(6)
    ]
    recordings.append(
        {"id": "22222222-2222-4222-8222-999999999999", "status": "RECORDING", "started_time": "2023-04-02T10:00:00.000Z"}
    )
    path.write_text(
        json.dumps(
            {
                "v1": {},
                "v2": {
                    "meetings": [
                        {
                            "id": V2_MEETING,
                            "title": "imported",
                            "created_at": "2023-04-01T09:00:00.000Z",
                            "recordings": recordings,
                        }
                    ]
                },
            }
        )
    )
    return path


@pytest.fixture
def v2(sandbox_factory: Callable[..., SandboxServer], tmp_path: Path) -> tuple[SandboxClient, Conformance]:
    server = sandbox_factory(dataset=str(v2_recordings_dataset(tmp_path / "v2.json")), rate_limit=0)
    return SandboxClient(server), Conformance()


def walk(
    fetch: Callable[[int, int], httpx.Response], per_page: int, check: Callable[[httpx.Response], Any]
) -> list[dict[str, Any]]:
    """Pages from 1 until `end_offset` reaches `total_count`; each page validated by `check`."""
    items: list[dict[str, Any]] = []
    page_no = 1
    while True:
        body = check(fetch(page_no, per_page))
        items.extend(body["data"])
        paging = body["paging"]
        assert paging["start_offset"] == (page_no - 1) * per_page + 1
        assert paging["end_offset"] == len(items)
        if paging["end_offset"] >= paging["total_count"]:
            assert len(items) == paging["total_count"]
            return items
        page_no += 1


def paged(api: SandboxClient, path: str, **params: Any) -> Callable[[int, int], httpx.Response]:
    return lambda page_no, per_page: api.v2("GET", path, params={"page_no": page_no, "per_page": per_page, **params})


def test_presets(v2: tuple[SandboxClient, Conformance]) -> None:
    api, conformance = v2
    check = lambda path, response, status: conformance.check(V2, "v2", path, response, status)  # noqa: E731

    created = [
        check("/presets", api.v2("POST", "/presets", json=v2_preset(f"preset_{index}")), 200)["data"] for index in range(7)
    ]
    check("/presets", api.v2("POST", "/presets", json=v2_preset("preset_0")), 409)
    check("/presets", api.v2("POST", "/presets", json={"name": "no config"}), 400)
    too_fast = v2_preset("too_fast")
    too_fast["config"]["media"]["video"]["frame_rate"] = 60
    assert "frame_rate" in check("/presets", api.v2("POST", "/presets", json=too_fast), 400)["error"]["message"]

    listed = walk(paged(api, "/presets"), 3, lambda r: check("/presets", r, 200))
    assert_each_once(listed, 7)
    assert set(listed[0]) == {"id", "name", "created_at", "updated_at"}
    check("/presets", api.v2("GET", "/presets", api_key="wrong"), 401)

    one = "/presets/{preset_id}"
    first = created[0]["id"]
    assert check(one, api.v2("GET", f"/presets/{first}"), 200)["data"] == created[0]
    check(one, api.v2("GET", f"/presets/{NOWHERE}"), 404)
    patched = check(one, api.v2("PATCH", f"/presets/{first}", json={"config": {"media": {"video": {"quality": "vga"}}}}), 200)[
        "data"
    ]
    assert patched["config"]["media"]["video"] == {"quality": "vga", "frame_rate": 30}
    assert patched["config"]["max_video_streams"] == {"mobile": 4, "desktop": 9}
    check(one, api.v2("PATCH", f"/presets/{first}", json={"name": "preset_1"}), 409)
    check(one, api.v2("PATCH", f"/presets/{first}", json={"config": {"view_type": "THEATRE"}}), 400)
    check(one, api.v2("DELETE", f"/presets/{first}"), 200)
    check(one, api.v2("DELETE", f"/presets/{first}"), 404)
    assert check("/presets", api.v2("POST", "/presets", json=v2_preset("preset_0")), 200)["data"]["id"] != first


def test_meetings_and_participants(v2: tuple[SandboxClient, Conformance]) -> None:
    api, conformance = v2
    check = lambda path, response, status: conformance.check(V2, "v2", path, response, status)  # noqa: E731
    check("/presets", api.v2("POST", "/presets", json=v2_preset("group_call_host")), 200)

    made = [
        check(
            "/meetings", api.v2("POST", "/meetings", json={"title": f"Réunion {index}", "record_on_start": index % 2 == 0}), 201
        )["data"]
        for index in range(22)
    ]
    check("/meetings", api.v2("POST", "/meetings", json={"preferred_region": "mars-1"}), 400)
    check("/meetings", api.v2("POST", "/meetings", content=b"{not json"), 400)
    meetings = walk(paged(api, "/meetings"), 5, lambda r: check("/meetings", r, 200))
    assert_each_once(meetings, 23)
    found = check("/meetings", api.v2("GET", "/meetings", params={"search": "réunion 1"}), 200)
    assert sorted(m["title"] for m in found["data"]) == sorted(f"Réunion {i}" for i in (1, *range(10, 20)))
    recent = check("/meetings", api.v2("GET", "/meetings", params={"start_time": made[0]["created_at"], "per_page": 100}), 200)
    assert recent["paging"]["total_count"] == 22
    check("/meetings", api.v2("GET", "/meetings", params={"start_time": "last tuesday"}), 400)

    one = "/meetings/{meeting_id}"
    meeting_id = made[0]["id"]
    assert check(one, api.v2("GET", f"/meetings/{meeting_id}"), 200)["data"] == made[0]
    check(one, api.v2("GET", f"/meetings/{NOWHERE}"), 404)
    inactive = check(one, api.v2("PATCH", f"/meetings/{meeting_id}", json={"status": "INACTIVE"}), 200)["data"]
    assert inactive["status"] == "INACTIVE" and inactive["title"] == "Réunion 0"
    check(one, api.v2("PATCH", f"/meetings/{meeting_id}", json={"status": "DELETED"}), 400)
    replaced = check(one, api.v2("PUT", f"/meetings/{meeting_id}", json={"title": "replaced"}), 200)["data"]
    assert (replaced["title"], replaced["record_on_start"], replaced["status"]) == ("replaced", False, "INACTIVE")
    check(one, api.v2("PUT", f"/meetings/{meeting_id}", json={"title": 5}), 400)
    no_delete = api.v2("DELETE", f"/meetings/{meeting_id}")
    assert no_delete.status_code == 405 and not list(GENERIC_ERROR["v2"].iter_errors(no_delete.json()))

    people = "/meetings/{meeting_id}/participants"
    path = f"/meetings/{meeting_id}/participants"
    added = [
        check(
            people,
            api.v2(
                "POST",
                path,
                json={
                    "custom_participant_id": f"user-{index}",
                    "preset_name": "group_call_host",
                    "name": "Jürgen" if index else None,
                },
            ),
            201,
        )["data"]
        for index in range(11)
    ]
    assert all(person["token"] for person in added)
    duplicate = check(
        people, api.v2("POST", path, json={"custom_participant_id": "user-1", "preset_name": "group_call_host"}), 201
    )
    assert duplicate["data"]["id"] != added[1]["id"]  # custom_participant_id is not unique in v2
    check(people, api.v2("POST", path, json={"custom_participant_id": "x", "preset_name": "no_such_preset"}), 400)
    check(people, api.v2("POST", path, json={"preset_name": "group_call_host"}), 400)
    listed = walk(paged(api, path), 4, lambda r: check(people, r, 200))
    assert_each_once(listed, 12)
    assert all("token" not in person for person in listed)
    check(people, api.v2("GET", f"/meetings/{NOWHERE}/participants"), 404)

    person = "/meetings/{meeting_id}/participants/{participant_id}"
    person_path = f"{path}/{added[0]['id']}"
    assert check(person, api.v2("GET", person_path), 200)["data"]["custom_participant_id"] == "user-0"
    check(person, api.v2("GET", f"{path}/{NOWHERE}"), 404)
    edited = check(person, api.v2("PATCH", person_path, json={"name": "Renamed", "picture": "https://p.example/x.png"}), 200)[
        "data"
    ]
    assert (edited["name"], edited["token"]) == ("Renamed", added[0]["token"])
    check(person, api.v2("PATCH", person_path, json={"preset_name": "no_such_preset"}), 400)
    token = "/meetings/{meeting_id}/participants/{participant_id}/token"
    refreshed = check(token, api.v2("POST", f"{person_path}/token"), 200)["data"]["token"]
    assert refreshed != added[0]["token"]
    check(token, api.v2("POST", f"{path}/{NOWHERE}/token"), 404)
    check(person, api.v2("DELETE", person_path), 200)
    check(person, api.v2("DELETE", person_path), 404)


def test_webhooks_and_recordings(v2: tuple[SandboxClient, Conformance]) -> None:
    api, conformance = v2
    check = lambda path, response, status: conformance.check(V2, "v2", path, response, status)  # noqa: E731

    hook = {"name": "all", "url": "https://hooks.example.invalid/v2", "events": ["meeting.started", "meeting.transcript"]}
    made = check("/webhooks", api.v2("POST", "/webhooks", json=hook), 201)["data"]
    assert made["enabled"] is True
    check("/webhooks", api.v2("POST", "/webhooks", json={**hook, "url": "not a url"}), 400)
    assert [h["id"] for h in check("/webhooks", api.v2("GET", "/webhooks"), 200)["data"]] == [made["id"]]
    check("/webhooks", api.v2("GET", "/webhooks", api_key="wrong"), 401)
    one, path = "/webhooks/{webhook_id}", f"/webhooks/{made['id']}"
    assert check(one, api.v2("GET", path), 200)["data"] == made
    check(one, api.v2("GET", f"/webhooks/{NOWHERE}"), 404)
    replaced = check(one, api.v2("PUT", path, json={**hook, "name": "replaced", "enabled": False}), 200)["data"]
    assert (replaced["name"], replaced["enabled"]) == ("replaced", False)
    check(one, api.v2("PUT", path, json={"name": "x", "url": "https://x.example"}), 400)
    assert check(one, api.v2("PATCH", path, json={"enabled": True}), 200)["data"]["enabled"] is True
    check(one, api.v2("PATCH", path, json={"events": ["meeting.exploded"]}), 400)
    check(one, api.v2("DELETE", path), 200)
    check(one, api.v2("DELETE", path), 404)

    recordings = walk(paged(api, "/recordings", meeting_id=V2_MEETING), 3, lambda r: check("/recordings", r, 200))
    assert_each_once(recordings, 7)
    assert recordings[0]["meeting"]["id"] == V2_MEETING
    assert check("/recordings", api.v2("GET", "/recordings", params={"meeting_id": NOWHERE}), 200)["paging"]["total_count"] == 0
    check("/recordings", api.v2("GET", "/recordings", params={"per_page": "many"}), 400)
    check("/recordings", api.v2("GET", "/recordings", params={"offset": 20}), 400)  # v1 paging on v2: refused
    live = check("/recordings", api.v2("GET", "/recordings", params={"status": "RECORDING,UPLOADING"}), 200)["data"]
    assert [r["status"] for r in live] == ["RECORDING"]
    check("/recordings", api.v2("GET", "/recordings", params={"status": "RECORDING,LOST"}), 400)
    check("/recordings/{recording_id}", api.v2("GET", f"/recordings/{recordings[0]['id']}"), 200)
    check("/recordings/{recording_id}", api.v2("GET", f"/recordings/{NOWHERE}"), 404)
    active = "/recordings/active-recording/{meeting_id}"
    assert check(active, api.v2("GET", f"/recordings/active-recording/{V2_MEETING}"), 200)["data"]["status"] == "RECORDING"
    check(active, api.v2("GET", f"/recordings/active-recording/{NOWHERE}"), 404)


def test_every_v2_operation_is_covered(v2: tuple[SandboxClient, Conformance]) -> None:
    """Runs the three scenarios on one conformance record and checks no route was left out."""
    test_presets(v2)
    test_meetings_and_participants(v2)
    test_webhooks_and_recordings(v2)
    conformance = v2[1]
    implemented = [(route.method, route.template) for route in routes_v2.routes()]
    assert not conformance.missing(implemented)


def test_unauthenticated_and_unknown_answers_are_v2_errors(v2: tuple[SandboxClient, Conformance]) -> None:
    api, _ = v2
    no_auth = api.http.get(f"{api.credentials['v2']['base_url']}/meetings")
    bearer = api.http.get(f"{api.credentials['v2']['base_url']}/meetings", headers={"Authorization": "Bearer abc"})
    garbage = api.http.get(f"{api.credentials['v2']['base_url']}/meetings", headers={"Authorization": "Basic %%%"})
    for response in (no_auth, bearer, garbage):
        assert response.status_code == 401
        assert response.json() == {"success": False, "error": {"code": 401, "message": "Unauthorized"}}
    unknown = api.v2("GET", "/no/such/route")
    assert unknown.status_code == 404 and not list(GENERIC_ERROR["v2"].iter_errors(unknown.json()))
