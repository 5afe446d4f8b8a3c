"""The loader's exactly-once rules, with v2 faked by respx."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx

from migrator.client import DyteClient
from migrator.ledger import Ledger
from migrator.load import Loader
from migrator.model import Action, Entity, Kind, State
from migrator.settings import PROFILES, ApiCredentials, Credentials

V2 = "https://v2.test/v2"
CREDS = Credentials(
    v1=ApiCredentials(PROFILES["dyte-v1"], "https://v1.test/v1", "org-1", "k1-secret-key"),
    v2=ApiCredentials(PROFILES["dyte-v2"], V2, "org-2", "k2-secret-key"),
)


@pytest.fixture
def ledger(tmp_path):
    with Ledger.open(tmp_path / "l.sqlite", CREDS.pair) as ledger:
        yield ledger


DONE, FAILED, INTENT = State.DONE, State.FAILED, State.INTENT


def plan(ledger: Ledger, *rows: Entity) -> None:
    ledger.record_plan(rows)
    ledger.decide()


def preset_row(name: str) -> Entity:
    return Entity(Kind.PRESET, name, action=Action.CREATE, desired={"name": name}, natural_key=name)


def run(ledger: Ledger, **kwargs) -> Loader:
    async def go() -> Loader:
        async with DyteClient(CREDS, rate_per_minute=0, max_attempts=2, backoff_base=0.001) as client:
            loader = Loader(client, ledger, ledger.start_run("migrate"), **kwargs)
            await loader.run()
            return loader

    return asyncio.run(go())


@respx.mock
def test_lost_answer_is_reconciled_not_resent(ledger):
    plan(ledger, preset_row("host"))
    create = respx.post(f"{V2}/presets").mock(side_effect=httpx.ReadError("connection dropped"))
    respx.get(f"{V2}/presets").mock(
        return_value=httpx.Response(
            200,
            json={
                "success": True,
                "data": [{"id": "p-1", "name": "host"}],
                "paging": {"total_count": 1, "start_offset": 1, "end_offset": 1},
            },
        )
    )
    loader = run(ledger)
    assert create.call_count == 1, "a POST whose answer was lost must not be sent again when v2 has it"
    entity = ledger.entity("preset", "host")
    assert (entity.state, entity.v2_id, entity.origin) == (DONE, "p-1", "created")
    assert loader.summary.counts["preset"]["adopted"] == 1


@respx.mock
def test_lost_answer_not_in_v2_is_sent_again(ledger):
    plan(ledger, preset_row("host"))
    create = respx.post(f"{V2}/presets").mock(
        side_effect=[
            httpx.ReadError("dropped before the server saw it"),
            httpx.Response(200, json={"success": True, "data": {"id": "p-9", "name": "host"}}),
        ]
    )
    respx.get(f"{V2}/presets").mock(
        return_value=httpx.Response(
            200, json={"success": True, "data": [], "paging": {"total_count": 0, "start_offset": 0, "end_offset": 0}}
        )
    )
    run(ledger)
    assert create.call_count == 2
    assert ledger.entity("preset", "host").v2_id == "p-9"


@respx.mock
def test_validation_error_is_recorded_and_not_retried(ledger):
    plan(ledger, preset_row("host"))
    create = respx.post(f"{V2}/presets").mock(
        return_value=httpx.Response(400, json={"success": False, "error": {"code": 400, "message": "name is too long"}})
    )
    loader = run(ledger)
    assert create.call_count == 1
    entity = ledger.entity("preset", "host")
    assert entity.state == FAILED and "name is too long" in (entity.last_error or "")
    assert loader.summary.counts["preset"]["failed"] == 1


@respx.mock
def test_intent_left_by_a_killed_run_is_settled_before_any_write(ledger):
    plan(ledger, preset_row("host"), preset_row("guest"))
    run_id = ledger.start_run("migrate")
    ledger.mark_intent(run_id, [ledger.entity("preset", "host")], "intent:create")  # then the process died
    ledger.decide()  # the next plan marks what is in flight `reconcile`
    calls: list[str] = []

    def listing(request: httpx.Request) -> httpx.Response:
        calls.append("list")
        return httpx.Response(
            200,
            json={
                "success": True,
                "data": [{"id": "p-1", "name": "host"}],
                "paging": {"total_count": 1, "start_offset": 1, "end_offset": 1},
            },
        )

    def create(request: httpx.Request) -> httpx.Response:
        calls.append("create:" + json.loads(request.content)["name"])
        return httpx.Response(200, json={"success": True, "data": {"id": "p-2"}})

    respx.get(f"{V2}/presets").mock(side_effect=listing)
    respx.post(f"{V2}/presets").mock(side_effect=create)
    run(ledger)
    assert calls == ["list", "create:guest"], "reconcile first; the landed write is adopted, not resent"
    assert ledger.entity("preset", "host").v2_id == "p-1"
    assert not list(ledger.entities(states=[INTENT]))


@respx.mock
def test_batch_size_caps_writes(ledger):
    plan(ledger, *(preset_row(f"p{i}") for i in range(5)))
    create = respx.post(f"{V2}/presets").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"success": True, "data": {"id": json.loads(request.content)["name"]}}
        )
    )
    loader = run(ledger, max_writes=3)
    assert create.call_count == 3
    assert loader.summary.stopped == "batch-size"


@respx.mock
def test_meeting_closed_in_v1_is_created_then_set_inactive(ledger):
    plan(
        ledger,
        Entity(
            Kind.MEETING,
            "m1",
            v1_id="m1",
            action=Action.CREATE,
            natural_key="Standup",
            desired={"title": "Standup", "record_on_start": False, "status": "INACTIVE"},
        ),
    )
    create = respx.post(f"{V2}/meetings").mock(return_value=httpx.Response(201, json={"success": True, "data": {"id": "v2-m1"}}))
    patch = respx.patch(f"{V2}/meetings/v2-m1").mock(return_value=httpx.Response(200, json={"success": True, "data": {}}))
    loader = run(ledger)
    assert json.loads(create.calls[0].request.content) == {"title": "Standup", "record_on_start": False}
    assert json.loads(patch.calls[0].request.content) == {"status": "INACTIVE"}
    assert ledger.entity("meeting", "m1").written == {"title": "Standup", "record_on_start": False, "status": "INACTIVE"}
    assert loader.summary.counts["meeting"]["created"] == 1 and loader.summary.counts["meeting"]["updated"] == 0


def test_document_urls_lose_their_presigned_query_in_the_ledger():
    from migrator.extract import _without_query

    signed = "https://bucket.example.invalid/org/presets/host.json?X-Amz-Signature=abc123&X-Amz-Credential=k"
    assert _without_query(signed) == "https://bucket.example.invalid/org/presets/host.json"


# A preset another shard created first: v2 answers 409 on its name; adopt it only when identical.
PRESET_TAKEN = {"success": False, "error": {"code": 409, "message": "A preset named 'host' already exists"}}


def _v2_holds_preset(body: dict) -> None:
    respx.get(f"{V2}/presets").mock(
        return_value=httpx.Response(
            200,
            json={
                "success": True,
                "data": [{"id": "p-other", "name": "host"}],
                "paging": {"total_count": 1, "start_offset": 1, "end_offset": 1},
            },
        )
    )
    respx.get(f"{V2}/presets/p-other").mock(return_value=httpx.Response(200, json={"success": True, "data": body}))


@respx.mock
def test_a_409_on_a_preset_adopts_the_identical_one_another_shard_created(ledger):
    plan(ledger, preset_row("host"))
    create = respx.post(f"{V2}/presets").mock(return_value=httpx.Response(409, json=PRESET_TAKEN))
    _v2_holds_preset({"id": "p-other", "name": "host"})
    loader = run(ledger)
    assert create.call_count == 1
    entity = ledger.entity(Kind.PRESET, "host")
    assert (entity.state, entity.v2_id, entity.origin) == (DONE, "p-other", "adopted")
    assert loader.summary.counts[Kind.PRESET]["adopted"] == 1 and not loader.summary.errors


@respx.mock
def test_a_409_on_a_preset_that_differs_fails_it_without_a_second_create(ledger):
    plan(
        ledger,
        Entity(Kind.PRESET, "host", action=Action.CREATE, desired={"name": "host", "ui": {"theme": "dark"}}, natural_key="host"),
    )
    create = respx.post(f"{V2}/presets").mock(return_value=httpx.Response(409, json=PRESET_TAKEN))
    _v2_holds_preset({"id": "p-other", "name": "host", "ui": {"theme": "light"}})
    run(ledger)
    assert create.call_count == 1
    entity = ledger.entity(Kind.PRESET, "host")
    assert entity.state is FAILED and entity.v2_id is None
    assert "differs at" in (entity.last_error or "")
