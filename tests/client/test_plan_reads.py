"""The plan reads the target's org-level listings side by side, and fingerprints them in a fixed order (respx)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
import respx

from migrator.ledger import Ledger
from migrator.mapping import MappingSet
from migrator.mapping.mapping_set import V1_LAYOUT
from migrator.plan import Planner

from .fakes import V2_BASE, ClientFactory

pytestmark = pytest.mark.anyio
WAIT = 5.0  # a plan that reads one listing after another waits here for a request it has not sent


def _empty(paged: bool = True) -> httpx.Response:
    body: dict[str, object] = {"success": True, "data": []}
    if paged:
        body["paging"] = {"total_count": 0, "start_offset": 0, "end_offset": 0}
    return httpx.Response(200, json=body)


async def _v2_fingerprint(api: respx.MockRouter, make_client: ClientFactory, tmp_path: Path, *, webhooks_first: bool) -> str:
    webhooks_asked = asyncio.Event()

    async def presets(request: httpx.Request) -> httpx.Response:
        if webhooks_first:
            await webhooks_asked.wait()  # presets come first in kind order: answered only once webhooks were asked
        return _empty()

    def webhooks(request: httpx.Request) -> httpx.Response:
        webhooks_asked.set()
        return _empty(paged=False)

    api.get(f"{V2_BASE}/presets").mock(side_effect=presets)
    api.get(f"{V2_BASE}/meetings").mock(return_value=_empty())
    api.get(f"{V2_BASE}/webhooks").mock(side_effect=webhooks)
    with Ledger.open(tmp_path / f"ledger-{webhooks_first}.db", ("v1-org", "v2-org")) as ledger:
        async with make_client() as client:
            planner = Planner(ledger, MappingSet.load(target="dyte-v2", layout=V1_LAYOUT), client)
            await asyncio.wait_for(planner.compare_with_v2(), WAIT)
            return planner.v2_fingerprint()


async def test_the_org_level_listings_are_read_side_by_side_and_fingerprinted_in_kind_order(api, make_client, tmp_path):
    answered_late = await _v2_fingerprint(api, make_client, tmp_path, webhooks_first=True)
    assert {call.request.url.path for call in api.calls} == {"/v2/presets", "/v2/meetings", "/v2/webhooks"}
    api.reset()
    in_order = await _v2_fingerprint(api, make_client, tmp_path, webhooks_first=False)
    assert answered_late == in_order  # the saved plan's fingerprint does not depend on which answer came first
