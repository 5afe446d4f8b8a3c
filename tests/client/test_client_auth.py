"""Auth per profile, URL building, and documents fetched without credentials."""

from __future__ import annotations

import base64

import httpx
import pytest
import respx

from migrator.settings import PROFILES, ApiCredentials, Credentials

from .fakes import V1_KEY, V1_ORG_URL, V2_BASE, V2_KEY, V2_ORG, ClientFactory

pytestmark = pytest.mark.anyio
OK = {"success": True, "data": {}}


async def test_v1_sends_raw_key_and_prefixes_org_path(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"{V1_ORG_URL}/meetings/m1").respond(200, json=OK)
    async with make_client() as client:
        assert await client.v1("GET", "/meetings/m1") == OK
    request = route.calls.last.request
    assert request.headers["authorization"] == V1_KEY


async def test_v2_sends_basic_auth_without_org_prefix(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.post(f"{V2_BASE}/meetings").respond(201, json=OK)
    async with make_client() as client:
        await client.v2("POST", "/meetings", json={"title": "t"})
    request = route.calls.last.request
    expected = base64.b64encode(f"{V2_ORG}:{V2_KEY}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert request.content == b'{"title":"t"}'


async def test_bearer_profile_sends_bearer_token(api: respx.MockRouter, make_client: ClientFactory, creds: Credentials) -> None:
    bearer = Credentials(
        v1=creds.v1,
        v2=ApiCredentials(PROFILES["realtimekit"], "https://rtk.example.test/kit/app", "acct/app", "rtk-token-SECRET-77"),
    )
    route = api.get("https://rtk.example.test/kit/app/presets").respond(200, json=OK)
    async with make_client(bearer) as client:
        await client.v2("GET", "/presets")
    assert route.calls.last.request.headers["authorization"] == "Bearer rtk-token-SECRET-77"


async def test_query_params_are_passed(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"{V2_BASE}/meetings", params={"search": "a b"}).respond(200, json=OK)
    async with make_client() as client:
        await client.v2("GET", "/meetings", params={"search": "a b"})
    assert route.called


async def test_document_is_fetched_without_credentials_and_counted_apart(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    url = "https://cdn.example.test/presets/p1.json?X-Amz-Signature=abc"
    route = api.get(url).respond(200, json={"name": "p1"})
    async with make_client(rate_per_minute=60) as client:
        for _ in range(5):  # more than the v1/v2 bucket's burst: documents are not paced
            assert await client.document(url) == {"name": "p1"}
        assert client.counters.as_dict() == {"v1": 0, "v2": 0, "documents": 5, "retries": 0, "throttled": 0}
    assert "authorization" not in route.calls.last.request.headers


async def test_document_on_the_api_host_still_gets_no_credentials(api: respx.MockRouter, make_client: ClientFactory) -> None:
    url = "https://v1.example.test/s3/preset.json"
    route = api.get(url).respond(200, json={"name": "p"})
    async with make_client() as client:
        await client.document(url)
    assert "authorization" not in route.calls.last.request.headers


async def test_counters_count_each_api(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"{V1_ORG_URL}/webhooks").respond(200, json=OK)
    api.get(f"{V2_BASE}/webhooks").respond(200, json=OK)
    async with make_client() as client:
        await client.v1("GET", "/webhooks")
        await client.v2("GET", "/webhooks")
        await client.v2("GET", "/webhooks")
        assert (client.counters.v1, client.counters.v2) == (1, 2)


async def test_uses_the_given_transport(creds: Credentials, make_client: ClientFactory) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=OK)

    async with make_client(transport=httpx.MockTransport(handler)) as client:
        await client.v2("GET", "/presets")
    assert seen == [f"{V2_BASE}/presets"]
