"""Pagination: v1 offset/limit walks and v2 page_no/per_page walks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from migrator.client import DyteClient
from migrator.errors import MalformedResponse
from migrator.settings import PROFILES, ApiCredentials, Credentials

from .fakes import V1_ORG_URL, V2_BASE, ClientFactory

pytestmark = pytest.mark.anyio


def v1_listing(items: list[dict[str, Any]]) -> Any:
    """A v1 list route over `items` honouring offset/limit, clamping limit to 100 like the API."""

    def answer(request: httpx.Request) -> httpx.Response:
        offset = int(request.url.params.get("offset", 0))
        limit = min(int(request.url.params.get("limit", 20)), 100)
        return httpx.Response(200, json={"success": True, "data": {"meetings": items[offset : offset + limit]}})

    return answer


def v2_listing(items: list[dict[str, Any]], *, paging: bool = True) -> Any:
    """A v2 list route over `items` honouring page_no/per_page, with 1-based inclusive paging offsets."""

    def answer(request: httpx.Request) -> httpx.Response:
        page_no = int(request.url.params.get("page_no", 1))
        per_page = min(int(request.url.params.get("per_page", 20)), 100)
        start = (page_no - 1) * per_page
        page = items[start : start + per_page]
        body: dict[str, Any] = {"success": True, "data": page}
        if paging:
            body["paging"] = {"total_count": len(items), "start_offset": start + 1, "end_offset": start + len(page)}
        return httpx.Response(200, json=body)

    return answer


async def collect_v1(client: DyteClient, page_size: int) -> list[list[dict[str, Any]]]:
    return [page async for page in client.v1_pages("/meetings", "meetings", page_size=page_size)]


async def collect_v2(client: DyteClient, page_size: int, path: str = "/meetings") -> list[list[dict[str, Any]]]:
    return [page async for page in client.v2_pages(path, params={"search": "x"}, page_size=page_size)]


@pytest.mark.parametrize(("total", "page_size", "expected_calls"), [(25, 10, 3), (30, 10, 4), (0, 10, 1), (250, 500, 3)])
async def test_v1_pages_walk_until_a_short_page(
    api: respx.MockRouter, make_client: ClientFactory, total: int, page_size: int, expected_calls: int
) -> None:
    items = [{"id": f"m{i}"} for i in range(total)]
    route = api.get(f"{V1_ORG_URL}/meetings").mock(side_effect=v1_listing(items))
    async with make_client() as client:
        pages = await collect_v1(client, page_size)
    assert [item for page in pages for item in page] == items
    assert all(pages), "empty pages are not yielded"
    assert route.call_count == expected_calls
    assert route.calls[0].request.url.params["offset"] == "0"


async def test_v1_pages_reject_an_answer_without_the_list(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"{V1_ORG_URL}/meetings").respond(200, json={"success": True, "data": {"other": []}})
    async with make_client() as client:
        with pytest.raises(MalformedResponse, match="data.meetings"):
            await collect_v1(client, 10)


@pytest.mark.parametrize(("total", "page_size", "expected_calls"), [(25, 10, 3), (30, 10, 3), (0, 10, 1), (250, 500, 3)])
async def test_v2_pages_walk_until_paging_total(
    api: respx.MockRouter, make_client: ClientFactory, total: int, page_size: int, expected_calls: int
) -> None:
    items = [{"id": f"m{i}"} for i in range(total)]
    route = api.get(f"{V2_BASE}/meetings").mock(side_effect=v2_listing(items))
    async with make_client() as client:
        pages = await collect_v2(client, page_size)
    assert [item for page in pages for item in page] == items
    assert route.call_count == expected_calls
    assert [call.request.url.params["page_no"] for call in route.calls] == [str(n) for n in range(1, expected_calls + 1)]
    assert all(call.request.url.params["search"] == "x" for call in route.calls)


async def test_v2_answer_without_paging_is_the_only_page(api: respx.MockRouter, make_client: ClientFactory) -> None:
    items = [{"id": f"w{i}"} for i in range(10)]
    route = api.get(f"{V2_BASE}/webhooks").mock(side_effect=v2_listing(items, paging=False))
    async with make_client() as client:
        pages = await collect_v2(client, 10, "/webhooks")
    assert pages == [items]
    assert route.call_count == 1


async def test_v2_pages_reject_non_list_data(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"{V2_BASE}/meetings").respond(200, json={"success": True, "data": {"id": "x"}})
    async with make_client() as client:
        with pytest.raises(MalformedResponse):
            await collect_v2(client, 10)


async def test_page_size_must_be_positive(make_client: ClientFactory) -> None:
    async with make_client() as client:
        with pytest.raises(ValueError):
            await collect_v1(client, 0)
        with pytest.raises(ValueError):
            await collect_v2(client, 0)


SOURCE_V2_BASE = "https://v2-source.example.test/v2"


async def test_a_dyte_v2_source_is_read_with_basic_auth_and_page_numbers(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    """The source side follows its profile: a v2 org is paged by page_no/per_page, not v1's offset/limit."""
    target = Credentials(
        v1=ApiCredentials(PROFILES["dyte-v2"], SOURCE_V2_BASE, "src-org", "src-key-SECRET-55"),
        v2=ApiCredentials(PROFILES["dyte-v2"], V2_BASE, "dst-org", "dst-key-SECRET-66"),
    )
    items = [{"id": f"m{i}"} for i in range(25)]
    route = api.get(f"{SOURCE_V2_BASE}/meetings").mock(side_effect=v2_listing(items))
    async with make_client(target) as client:
        pages = [page async for page in client.source.pages("/meetings", key="meetings", page_size=10)]
        first = await client.source.first("/meetings", key="meetings")
    assert [item for page in pages for item in page] == items
    assert [c.request.url.params["page_no"] for c in route.calls[:3]] == ["1", "2", "3"]
    assert all("offset" not in c.request.url.params for c in route.calls)
    assert route.calls[0].request.headers["Authorization"].startswith("Basic ")
    assert first == items[:1] and route.calls[-1].request.url.params["per_page"] == "1"
    assert client.counters.v1 == 4 and client.counters.v2 == 0  # source requests count on the source side
