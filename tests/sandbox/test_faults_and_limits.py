"""Injected faults, the rate limiter and latency, seen from a real HTTP client."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from migrator.sandbox.faults import FaultInjector, FaultPlan, FaultSpecError
from migrator.sandbox.ratelimit import RateLimiter
from migrator.sandbox.server import SandboxServer

from .payloads import v2_preset
from .spec_check import GENERIC_ERROR, SandboxClient

Factory = Callable[..., SandboxServer]


def test_commit_then_drop_applies_the_write_but_the_client_sees_a_transport_error(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory(dataset="empty", rate_limit=0, faults="commit-then-drop:1.0")
    api = SandboxClient(sandbox)
    with pytest.raises(httpx.TransportError):
        api.v2("POST", "/meetings", json={"title": "dropped but created"})
    listed = api.v2("GET", "/meetings")  # reads never draw commit-then-drop
    assert [m["title"] for m in listed.json()["data"]] == ["dropped but created"]
    with pytest.raises(httpx.TransportError):
        api.v1("POST", "/webhook", json={"name": "h", "url": "https://h.example.invalid", "events": ["meeting.ended"]})
    assert [h["name"] for h in api.v1("GET", "/webhooks").json()["data"]["webhooks"]] == ["h"]
    totals = sandbox.stats()["totals"]
    assert totals["faults"] == {"commit-then-drop": 2} and totals["v2_writes"] == 1


@pytest.mark.parametrize("kind", ["reset", "timeout"])
def test_reset_and_timeout_drop_the_connection_and_apply_nothing(sandbox_factory: Factory, kind: str) -> None:
    sandbox = sandbox_factory(dataset="empty", rate_limit=0, faults=f"{kind}:1.0", fault_hang_seconds=0.3)
    api = SandboxClient(sandbox)
    started = time.monotonic()
    with pytest.raises(httpx.TransportError):
        api.v2("POST", "/meetings", json={"title": "never"})
    assert (time.monotonic() - started >= 0.3) == (kind == "timeout")
    assert len(sandbox.app.store.orgs.v2.meetings) == 0
    assert sandbox.stats()["totals"]["faults"] == {kind: 1}


@pytest.mark.parametrize("kind", ["503", "500", "429"])
def test_status_faults_answer_in_the_version_error_shape(sandbox_factory: Factory, kind: str) -> None:
    sandbox = sandbox_factory(dataset="empty", rate_limit=0, faults=f"{kind}:1.0")
    api = SandboxClient(sandbox)
    v2 = api.v2("POST", "/meetings", json={"title": "never"})
    v1 = api.v1("GET", "/meetings")
    assert v2.status_code == v1.status_code == int(kind)
    assert not list(GENERIC_ERROR["v2"].iter_errors(v2.json())) and not list(GENERIC_ERROR["v1"].iter_errors(v1.json()))
    if kind == "429":
        assert v2.headers["retry-after"] == "1" and v2.headers["x-envoy-ratelimited"] == "true"
    assert len(sandbox.app.store.orgs.v2.meetings) == 0  # nothing applied


def test_faults_are_reproducible_from_the_seed() -> None:
    plan = FaultPlan.parse("503:0.3,reset:0.2")
    first, second = FaultInjector(plan, 11), FaultInjector(plan, 11)
    draws = [first.draw(is_write=True) for _ in range(200)]
    assert draws == [second.draw(is_write=True) for _ in range(200)]
    assert 40 <= draws.count("503") <= 80 and 20 <= draws.count("reset") <= 60


@pytest.mark.parametrize("spec", ["bogus:0.1", "503:2", "503:x", "503:0.6,500:0.6"])
def test_bad_fault_specs_are_refused(spec: str) -> None:
    with pytest.raises(FaultSpecError):
        FaultPlan.parse(spec)


def test_a_burst_over_the_limit_gets_429_with_retry_after(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory(dataset="empty", rate_limit=60)
    api = SandboxClient(sandbox)
    answers = [api.v2("GET", "/meetings") if index % 2 else api.v1("GET", "/meetings") for index in range(6)]
    assert answers[0].status_code == 200  # one second's worth of tokens: 1 at 60/minute
    throttled = [answer for answer in answers if answer.status_code == 429]
    assert len(throttled) >= 4  # shared across v1 and v2
    for answer in throttled:
        assert int(answer.headers["retry-after"]) >= 1 and answer.headers["x-envoy-ratelimited"] == "true"
        area = "v2" if "/v2/" in str(answer.request.url) else "v1"
        assert not list(GENERIC_ERROR[area].iter_errors(answer.json()))
    assert api.get(f"{sandbox.base_url}/_sandbox/stats").json()["totals"]["throttled"] == len(throttled)


def test_each_client_address_has_its_own_budget_and_its_own_counts(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory(dataset="empty", rate_limit=60)  # a bucket of 1 per address
    apis = {address: SandboxClient(sandbox) for address in ("127.0.0.2", "127.0.0.3")}
    for address, api in apis.items():
        api.http = httpx.Client(timeout=15, transport=httpx.HTTPTransport(local_address=address))
    started = time.monotonic()
    statuses = {address: [api.v2("GET", "/meetings").status_code for _ in range(3)] for address, api in apis.items()}
    assert statuses == {"127.0.0.2": [200, 429, 429], "127.0.0.3": [200, 429, 429]}
    clients = sandbox.stats()["clients"]
    assert set(clients) == {"127.0.0.2", "127.0.0.3"}
    for seen in clients.values():
        assert (seen["api_calls"], seen["throttled"]) == (1, 2)
        assert started <= seen["first_call"] == seen["last_call"] <= time.monotonic()
    apis["127.0.0.2"].get(f"{sandbox.base_url}/_sandbox/stats")  # not API calls: not counted
    apis["127.0.0.3"].get(f"{sandbox.base_url}/s3/nothing.json")
    assert sandbox.stats()["clients"] == clients
    sandbox.reset()
    assert sandbox.stats()["clients"] == {}


def test_documents_are_not_rate_limited(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory(rate_limit=60, meetings=1, participants=0)
    api = SandboxClient(sandbox)
    url = api.v1("GET", "/presets", params={"limit": 1}).json()["data"]["presets"][0]["s3URL"]
    assert all(api.get(url).status_code == 200 for _ in range(5))
    assert sandbox.stats()["totals"]["documents"] == 5


def test_token_bucket_refills_continuously() -> None:
    now = [0.0]
    limiter = RateLimiter(120, clock=lambda: now[0])  # 2 per second, bucket of 2
    assert [limiter.acquire("a") for _ in range(3)] == [0, 0, 1]
    assert limiter.acquire("b") == 0  # per client
    now[0] += 0.5
    assert limiter.acquire("a") == 0 and limiter.acquire("a") == 1
    assert RateLimiter(0).acquire("a") == 0
    slow = RateLimiter(6, clock=lambda: now[0])  # one token every 10 s
    assert slow.acquire("a") == 0 and slow.acquire("a") == 10


def test_latency_is_added_without_blocking_other_requests(sandbox_factory: Factory) -> None:
    api = SandboxClient(sandbox_factory(dataset="empty", rate_limit=0, latency_ms=200))
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: api.v2("GET", "/meetings").status_code, range(8)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * 8 and 0.2 <= elapsed < 1.2  # 8 x 200 ms serially would be 1.6 s


def test_concurrent_writes_are_all_kept(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory(dataset="empty", rate_limit=0)
    api = SandboxClient(sandbox)
    meeting = api.v2("POST", "/meetings", json={"title": "busy"}).json()["data"]["id"]
    assert api.v2("POST", "/presets", json=v2_preset("p")).status_code == 200

    def add(index: int) -> str:
        answer = api.v2(
            "POST", f"/meetings/{meeting}/participants", json={"custom_participant_id": f"u{index}", "preset_name": "p"}
        )
        assert answer.status_code == 201
        return answer.json()["data"]["id"]

    with ThreadPoolExecutor(16) as pool:
        ids = set(pool.map(add, range(64)))
    listed = api.v2("GET", f"/meetings/{meeting}/participants", params={"per_page": 100}).json()
    assert len(ids) == 64 and {p["id"] for p in listed["data"]} == ids
    assert sandbox.stats()["totals"]["v2_writes"] == 66


def test_reset_restores_the_initial_data_and_zeroes_stats(sandbox_factory: Factory) -> None:
    sandbox = sandbox_factory(rate_limit=0, meetings=3, participants=2)
    api = SandboxClient(sandbox)
    before = api.v1("GET", "/meetings").json()
    api.v1("POST", "/meeting", json={"title": "extra"})
    api.v2("POST", "/meetings", json={"title": "extra"})
    assert api.http.post(f"{sandbox.base_url}/_sandbox/reset").json() == {"reset": True}
    assert sandbox.stats()["totals"]["all"] == 0
    assert api.v1("GET", "/meetings").json() == before
    assert api.v2("GET", "/meetings").json()["data"] == []
