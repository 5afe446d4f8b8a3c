"""The extract walks the v1 org's listings side by side, not one after another (respx).

Each test makes one answer wait for a request that a sequential walk would only send after
that answer: a walk that does not overlap them never finishes, and the test times out.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from migrator.errors import MalformedResponse
from migrator.extract import Extractor
from migrator.ledger import Ledger

from .fakes import V1_ORG_URL, ClientFactory

pytestmark = pytest.mark.anyio

MEETINGS = [{"id": f"m-{n:03d}", "title": f"Meeting {n}", "roomName": f"room-{n:03d}"} for n in range(150)]
PRESET_DOC = "https://docs.example.test/presets/host.json"
WAIT = 5.0  # a walk that needs longer is sequential: it waits for a request it has not sent


def _ok(key: str, items: list[dict[str, Any]]) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": {key: items}})


def _meeting_pages(request: httpx.Request) -> httpx.Response:
    offset, limit = int(request.url.params.get("offset", 0)), int(request.url.params.get("limit", 20))
    return _ok("meetings", MEETINGS[offset : offset + limit])


def _org(api: respx.MockRouter) -> dict[str, respx.Route]:
    """A small v1 org; every route answers at once unless a test replaces its side effect."""
    preset = {"id": "p-1", "name": "host", "s3URL": PRESET_DOC}
    return {
        "presets": api.get(f"{V1_ORG_URL}/presets").mock(return_value=_ok("presets", [preset])),
        "document": api.get(PRESET_DOC).mock(return_value=httpx.Response(200, json={"role": {"name": "host"}})),
        "roles": api.get(f"{V1_ORG_URL}/preset-roles").mock(return_value=_ok("roles", [])),
        "webhooks": api.get(f"{V1_ORG_URL}/webhooks").mock(return_value=_ok("webhooks", [])),
        "meetings": api.get(f"{V1_ORG_URL}/meetings").mock(side_effect=_meeting_pages),
        "participants": api.get(url__regex=rf"{V1_ORG_URL}/meetings/m-\d+/participants").mock(
            return_value=_ok("participants", [])
        ),
        "stats": api.get(f"{V1_ORG_URL}/recordings").mock(return_value=_ok("recordingStats", [])),
    }


async def _walk(make_client: ClientFactory, tmp_path: Path) -> tuple[Ledger, int]:
    ledger = Ledger.open(tmp_path / "ledger.db", ("v1-org", "v2-org"))
    run_id = ledger.start_run("extract")
    async with make_client() as client:
        await asyncio.wait_for(Extractor(client, ledger, run_id).run(), WAIT)
    return ledger, run_id


async def test_the_meetings_are_listed_while_the_presets_are_read(api, make_client, tmp_path):
    routes = _org(api)
    meetings_asked = asyncio.Event()

    def meetings(request: httpx.Request) -> httpx.Response:
        meetings_asked.set()
        return _meeting_pages(request)

    async def presets(request: httpx.Request) -> httpx.Response:
        await meetings_asked.wait()
        return _ok("presets", [{"id": "p-1", "name": "host", "s3URL": PRESET_DOC}])

    routes["meetings"].side_effect = meetings
    routes["presets"].side_effect = presets
    ledger, _ = await _walk(make_client, tmp_path)
    with ledger:
        assert (ledger.snapshot_count("preset"), ledger.snapshot_count("meeting")) == (1, 150)


async def test_participants_are_read_before_the_last_meeting_page(api, make_client, tmp_path):
    routes = _org(api)
    participants_asked = asyncio.Event()

    async def meetings(request: httpx.Request) -> httpx.Response:
        if int(request.url.params.get("offset", 0)) > 0:
            await participants_asked.wait()  # the second page, only once the first page's participants are asked for
        return _meeting_pages(request)

    def participants(request: httpx.Request) -> httpx.Response:
        participants_asked.set()
        return _ok("participants", [{"id": f"{request.url.path.split('/')[-2]}-p", "name": "Ann"}])

    routes["meetings"].side_effect = meetings
    routes["participants"].side_effect = participants
    ledger, _ = await _walk(make_client, tmp_path)
    with ledger:
        assert (ledger.snapshot_count("meeting"), ledger.snapshot_count("participant")) == (150, 150)
    assert routes["participants"].call_count == 150  # each meeting's participants once


async def test_recordings_are_read_for_the_recorded_meetings_only(api, make_client, tmp_path):
    routes = _org(api)
    routes["stats"].mock(return_value=_ok("recordingStats", [{"roomName": "room-007"}, {"roomName": "room-120"}]))
    recordings = api.get(url__regex=rf"{V1_ORG_URL}/meetings/m-\d+/recordings").mock(
        side_effect=lambda request: _ok("recordings", [{"id": f"r-{request.url.path.split('/')[-2]}"}])
    )
    ledger, _ = await _walk(make_client, tmp_path)
    with ledger:
        assert ledger.snapshot_count("recording") == 2
    assert sorted(call.request.url.path.split("/")[-2] for call in recordings.calls) == ["m-007", "m-120"]


async def test_a_failed_listing_stops_the_others_and_is_raised_as_it_is(api, make_client, tmp_path):
    routes = _org(api)
    participants_asked, released = asyncio.Event(), asyncio.Event()

    async def broken_webhooks(request: httpx.Request) -> httpx.Response:
        await participants_asked.wait()  # fails while participants are being read
        return httpx.Response(200, json={"success": True, "data": {}})

    async def slow_participants(request: httpx.Request) -> httpx.Response:
        participants_asked.set()
        await released.wait()  # never set: only cancellation ends these
        return _ok("participants", [])

    routes["webhooks"].side_effect = broken_webhooks
    routes["participants"].side_effect = slow_participants
    ledger = Ledger.open(tmp_path / "ledger.db", ("v1-org", "v2-org"))
    run_id = ledger.start_run("extract")
    async with make_client() as client:
        before = asyncio.all_tasks()
        with pytest.raises(MalformedResponse, match="webhooks"):
            await asyncio.wait_for(Extractor(client, ledger, run_id).run(), WAIT)
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == before  # no reader outlives the failed walk
    ledger.close()
