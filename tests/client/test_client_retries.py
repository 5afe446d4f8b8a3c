"""Retry policy: 429 honoured for all, transient failures retried only when safe, 4xx never."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

from migrator.errors import EXIT_USAGE, ApiError, AuthError, MalformedResponse, TransportError, WriteOutcomeUnknown

from .fakes import V1_ORG_URL, V2_BASE, ClientFactory

pytestmark = pytest.mark.anyio
OK = {"success": True, "data": {"id": "x"}}
THROTTLED = httpx.Response(429, headers={"retry-after": "0.3", "x-envoy-ratelimited": "true"}, json={"success": False})
UNAVAILABLE = httpx.Response(503, json={"success": False, "error": {"code": 503, "message": "busy"}})
HTML_200 = httpx.Response(200, text="<html>upstream error</html>", headers={"content-type": "text/html"})


async def test_429_waits_retry_after_and_pauses_every_caller(api: respx.MockRouter, make_client: ClientFactory) -> None:
    sent: dict[str, list[float]] = {"a": [], "b": []}

    def throttled_once(request: httpx.Request) -> httpx.Response:
        sent["a"].append(time.monotonic())
        return THROTTLED if len(sent["a"]) == 1 else httpx.Response(200, json=OK)

    def record_b(request: httpx.Request) -> httpx.Response:
        sent["b"].append(time.monotonic())
        return httpx.Response(200, json=OK)

    api.get(f"{V2_BASE}/a").mock(side_effect=throttled_once)
    api.get(f"{V2_BASE}/b").mock(side_effect=record_b)
    async with make_client(concurrency=4) as client:
        first = asyncio.create_task(client.v2("GET", "/a"))
        while not sent["a"]:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.05)  # b starts well inside a's pause
        assert await client.v2("GET", "/b") == OK
        assert await first == OK
        assert client.counters.as_dict() == {"v1": 0, "v2": 3, "documents": 0, "retries": 1, "throttled": 1}
    throttled_at = sent["a"][0]
    assert 0.28 <= sent["a"][1] - throttled_at < 1.0
    assert sent["b"][0] - throttled_at >= 0.28, "the pause must hold other callers too"


async def test_429_on_post_is_retried(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.post(f"{V2_BASE}/meetings").mock(side_effect=[THROTTLED, httpx.Response(201, json=OK)])
    async with make_client() as client:
        assert await client.v2("POST", "/meetings", json={"title": "t"}) == OK
    assert route.call_count == 2


@pytest.mark.parametrize("retry_after", [None, "soon", "-3", "nan"])
async def test_429_with_unusable_retry_after_falls_back_to_backoff(
    api: respx.MockRouter, make_client: ClientFactory, retry_after: str | None
) -> None:
    headers = {"retry-after": retry_after} if retry_after is not None else {}
    route = api.get(f"{V2_BASE}/presets").mock(side_effect=[httpx.Response(429, headers=headers), httpx.Response(200, json=OK)])
    started = time.monotonic()
    async with make_client() as client:
        await client.v2("GET", "/presets")
    assert route.call_count == 2
    assert time.monotonic() - started < 0.5


async def test_retry_after_is_capped(api: respx.MockRouter, make_client: ClientFactory) -> None:
    throttled = httpx.Response(429, headers={"retry-after": "3600"})
    api.get(f"{V2_BASE}/presets").mock(side_effect=[throttled, httpx.Response(200, json=OK)])
    started = time.monotonic()
    async with make_client(retry_after_cap=0.05) as client:
        await client.v2("GET", "/presets")
    assert time.monotonic() - started < 0.5


async def test_endless_429_gives_up_with_the_api_error(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"{V2_BASE}/presets").respond(429, headers={"retry-after": "0"}, json={"success": False})
    async with make_client(max_throttled_retries=3) as client:
        with pytest.raises(ApiError) as caught:
            await client.v2("GET", "/presets")
        assert client.counters.throttled == 4
    assert caught.value.status == 429
    assert route.call_count == 4


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
async def test_5xx_on_idempotent_method_is_retried_then_succeeds(
    api: respx.MockRouter, make_client: ClientFactory, method: str
) -> None:
    route = api.route(method=method, url=f"{V2_BASE}/webhooks/w1").mock(
        side_effect=[UNAVAILABLE, UNAVAILABLE, httpx.Response(200, json=OK)]
    )
    async with make_client() as client:
        assert await client.v2(method, "/webhooks/w1", json={"name": "n"} if method in ("PUT", "PATCH") else None) == OK
        assert client.counters.retries == 2 and client.counters.v2 == 3
    assert route.call_count == 3


async def test_5xx_on_get_gives_up_after_max_attempts(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"{V1_ORG_URL}/meetings").respond(500, json={"success": False, "message": "boom"})
    async with make_client(max_attempts=4) as client:
        with pytest.raises(ApiError, match="500: boom"):
            await client.v1("GET", "/meetings")
    assert route.call_count == 4


async def test_5xx_on_post_raises_write_outcome_unknown_without_retry(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.post(f"{V2_BASE}/meetings/m1/participants").mock(return_value=UNAVAILABLE)
    async with make_client() as client:
        with pytest.raises(WriteOutcomeUnknown, match="reconcile"):
            await client.v2("POST", "/meetings/m1/participants", json={"name": "n"})
        assert client.counters.retries == 0
    assert route.call_count == 1


@pytest.mark.parametrize("never_sent", [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("full")])
async def test_post_that_never_left_is_retried(api: respx.MockRouter, make_client: ClientFactory, never_sent: Exception) -> None:
    route = api.post(f"{V2_BASE}/meetings").mock(side_effect=[never_sent, httpx.Response(201, json=OK)])
    async with make_client() as client:
        assert await client.v2("POST", "/meetings", json={"title": "t"}) == OK
        assert client.counters.retries == 1
    assert route.call_count == 2


@pytest.mark.parametrize(
    "maybe_sent",
    [httpx.ReadError("reset"), httpx.ReadTimeout("hang"), httpx.RemoteProtocolError("dropped"), httpx.WriteError("w")],
)
async def test_post_that_may_have_landed_is_not_retried(
    api: respx.MockRouter, make_client: ClientFactory, maybe_sent: Exception
) -> None:
    route = api.post(f"{V2_BASE}/meetings").mock(side_effect=[maybe_sent, httpx.Response(201, json=OK)])
    async with make_client() as client:
        with pytest.raises(WriteOutcomeUnknown):
            await client.v2("POST", "/meetings", json={"title": "t"})
    assert route.call_count == 1


async def test_transport_errors_on_get_end_as_transport_error(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"{V2_BASE}/meetings").mock(side_effect=httpx.ReadTimeout("hang"))
    async with make_client(max_attempts=3) as client:
        with pytest.raises(TransportError) as caught:
            await client.v2("GET", "/meetings")
    assert not isinstance(caught.value, WriteOutcomeUnknown)
    assert "v2 GET /meetings" in str(caught.value) and "ReadTimeout" in str(caught.value)
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("api_name", "status", "body", "message"),
    [
        ("v2", 400, {"success": False, "error": {"code": 400, "message": "title is too long"}}, "title is too long"),
        ("v1", 400, {"success": False, "message": "Invalid presetName"}, "Invalid presetName"),
        ("v2", 409, {"success": False, "error": {"code": 409, "message": "preset name exists"}}, "preset name exists"),
        ("v2", 404, None, "Not Found"),
    ],
)
async def test_4xx_is_not_retried_and_carries_the_api_message(
    api: respx.MockRouter, make_client: ClientFactory, api_name: str, status: int, body: object, message: str
) -> None:
    url = f"{V2_BASE}/presets" if api_name == "v2" else f"{V1_ORG_URL}/presets"
    response = httpx.Response(status, json=body) if body is not None else httpx.Response(status, text="<h1>nope</h1>")
    route = api.post(url).mock(return_value=response)
    async with make_client() as client:
        with pytest.raises(ApiError) as caught:
            await getattr(client, api_name)("POST", "/presets", json={"name": "p"})
    error = caught.value
    assert not isinstance(error, AuthError)
    assert (error.status, error.api_message, error.method, error.path) == (status, message, "POST", "/presets")
    assert str(error) == f"Dyte {api_name} POST /presets -> {status}: {message}"  # named by the profile
    assert route.call_count == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failure_is_an_auth_error_with_exit_code_2(
    api: respx.MockRouter, make_client: ClientFactory, status: int
) -> None:
    route = api.get(f"{V1_ORG_URL}/meetings").respond(status, json={"success": False, "message": "Unauthorized"})
    async with make_client() as client:
        with pytest.raises(AuthError) as caught:
            await client.v1("GET", "/meetings")
    assert caught.value.exit_code == EXIT_USAGE
    assert route.call_count == 1


async def test_html_200_on_get_is_retried_then_malformed(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.get(f"{V2_BASE}/meetings/m1").mock(return_value=HTML_200)
    async with make_client(max_attempts=3) as client:
        with pytest.raises(MalformedResponse, match="not a JSON object"):
            await client.v2("GET", "/meetings/m1")
    assert route.call_count == 3


@pytest.mark.parametrize("bad", [HTML_200, httpx.Response(200, text='{"success": true, "da'), httpx.Response(200, json=[1, 2])])
async def test_bad_body_on_get_is_retried_then_succeeds(
    api: respx.MockRouter, make_client: ClientFactory, bad: httpx.Response
) -> None:
    route = api.get(f"{V2_BASE}/meetings/m1").mock(side_effect=[bad, httpx.Response(200, json=OK)])
    async with make_client() as client:
        assert await client.v2("GET", "/meetings/m1") == OK
    assert route.call_count == 2


async def test_html_200_on_post_is_an_unknown_outcome(api: respx.MockRouter, make_client: ClientFactory) -> None:
    route = api.post(f"{V2_BASE}/meetings").mock(return_value=HTML_200)
    async with make_client() as client:
        with pytest.raises(WriteOutcomeUnknown):
            await client.v2("POST", "/meetings", json={})
    assert route.call_count == 1


async def test_document_is_retried_like_a_get(api: respx.MockRouter, make_client: ClientFactory) -> None:
    url = "https://cdn.example.test/p.json"
    route = api.get(url).mock(side_effect=[httpx.ReadError("reset"), THROTTLED, httpx.Response(200, json={"name": "p"})])
    async with make_client() as client:
        assert await client.document(url) == {"name": "p"}
        assert client.counters.as_dict() == {"v1": 0, "v2": 0, "documents": 3, "retries": 2, "throttled": 1}
    assert route.call_count == 3
