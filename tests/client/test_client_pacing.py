"""Pacing and concurrency: the shared bucket keeps under the server's limit; in-flight is bounded."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

from migrator.pacing import TokenBucket, backoff_delay, parse_retry_after

from .fakes import V1_ORG_URL, V2_BASE, ClientFactory

pytestmark = pytest.mark.anyio
OK = {"success": True, "data": {}}


def server_rejections(sent_at: list[float], per_minute: float) -> int:
    """How many of these requests the server's bucket (capacity = 1 s of rate, continuous refill) would 429."""
    rate = per_minute / 60
    tokens, last, rejected = rate, sent_at[0], 0
    for moment in sent_at:
        tokens = min(rate, tokens + (moment - last) * rate)
        last = moment
        if tokens >= 1:
            tokens -= 1
        else:
            rejected += 1
    return rejected


async def test_v1_and_v2_share_one_paced_rate(api: respx.MockRouter, make_client: ClientFactory) -> None:
    sent_at: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent_at.append(time.monotonic())
        return httpx.Response(200, json=OK)

    api.get(f"{V1_ORG_URL}/meetings").mock(side_effect=record)
    api.get(f"{V2_BASE}/meetings").mock(side_effect=record)
    async with make_client(rate_per_minute=600, concurrency=8) as client:  # 10/s, server burst 10
        started = time.monotonic()
        await asyncio.gather(*(client.v1("GET", "/meetings") if i % 2 else client.v2("GET", "/meetings") for i in range(25)))
        elapsed = time.monotonic() - started
    # A burst of 5 then ~9.7/s: 20 more take ~2.06 s. Sleeps never end early, so the lower
    # bound can be tight (it catches pacing at or above the limit); noise only adds time.
    assert 1.95 <= elapsed <= 2.9
    assert server_rejections(sorted(sent_at), 600) == 0


async def test_rate_zero_disables_pacing(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"{V2_BASE}/meetings").respond(200, json=OK)
    async with make_client(rate_per_minute=0, concurrency=8) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.v2("GET", "/meetings") for _ in range(200)))
        assert time.monotonic() - started < 1.5
        assert client.counters.v2 == 200


async def test_in_flight_requests_never_exceed_concurrency(api: respx.MockRouter, make_client: ClientFactory) -> None:
    in_flight = peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx.Response(200, json=OK)

    api.get(f"{V2_BASE}/meetings").mock(side_effect=slow)
    api.get("https://cdn.example.test/doc.json").mock(side_effect=slow)
    async with make_client(concurrency=3) as client:
        calls = [client.v2("GET", "/meetings") for _ in range(20)] + [
            client.document("https://cdn.example.test/doc.json") for _ in range(10)
        ]
        await asyncio.gather(*calls)
    assert peak == 3


async def test_bucket_allows_its_burst_then_spaces_requests() -> None:
    bucket = TokenBucket(per_second=20, burst=4)
    started = time.monotonic()
    for _ in range(4):
        await bucket.acquire()
    burst_done = time.monotonic() - started
    for _ in range(4):
        await bucket.acquire()
    paced = time.monotonic() - started - burst_done
    assert burst_done < 0.02
    assert 0.17 <= paced < 0.5  # 4 more at 20/s


async def test_pause_holds_every_caller_then_resumes_without_burst() -> None:
    bucket = TokenBucket(per_second=50, burst=10)
    bucket.pause(0.2)
    started = time.monotonic()
    finished: list[float] = []

    async def one() -> None:
        await bucket.acquire()
        finished.append(time.monotonic() - started)

    await asyncio.gather(*(one() for _ in range(5)))
    assert min(finished) >= 0.19
    assert max(finished) >= 0.19 + 4 / 50 * 0.9, "after a pause the bucket resumes at its rate"


async def test_pause_also_applies_when_pacing_is_off() -> None:
    bucket = TokenBucket.for_server_limit(0)
    bucket.pause(0.1)
    started = time.monotonic()
    await bucket.acquire()
    assert time.monotonic() - started >= 0.09


async def test_server_limit_bucket_bursts_half_a_second_then_paces() -> None:
    bucket = TokenBucket.for_server_limit(6000)  # server: 100/s with a burst of 100
    started = time.monotonic()
    for _ in range(50):
        await bucket.acquire()
    burst_done = time.monotonic() - started
    for _ in range(10):
        await bucket.acquire()
    paced = time.monotonic() - started - burst_done
    assert burst_done < 0.03
    assert 0.095 <= paced < 0.4  # 10 at ~97/s (at 100/s or more it would take <= 0.1 s)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("4", 4.0), (" 0.25 ", 0.25), ("0", 0.0), ("120", 60.0), (None, None), ("x", None), ("-1", None), ("inf", None)],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    assert parse_retry_after(header, cap=60.0) == expected


def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    for failures, ceiling in ((1, 0.5), (2, 1.0), (3, 2.0), (10, 5.0)):
        delays = [backoff_delay(failures, base=0.5, cap=5.0) for _ in range(200)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.7, "full jitter spreads over the whole range"
