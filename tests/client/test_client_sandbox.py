"""The client against the real sandbox (loopback HTTP): pacing, 429 handling, auth."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from migrator.client import DyteClient
from migrator.errors import AuthError
from migrator.settings import Credentials, load_credentials

pytestmark = pytest.mark.anyio


def start(sandbox_factory: Any, tmp_path: Path, **options: Any) -> Credentials:
    sandbox_factory(dataset="empty", credentials_out=tmp_path / "creds.json", **options)
    return load_credentials(tmp_path / "creds.json", env={})


async def test_paced_client_keeps_the_pipe_full_without_429s(sandbox_factory: Any, tmp_path: Path) -> None:
    creds = start(sandbox_factory, tmp_path, rate_limit=1200, latency_ms=30)  # 20/s, burst 20
    async with DyteClient(creds, rate_per_minute=1200, concurrency=8) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.v2("POST", "/meetings", json={"title": f"m{i}"}) for i in range(50)))
        wall = time.monotonic() - started
        counters = client.counters.as_dict()
    efficiency = (counters["v2"] / 20) / wall
    assert counters["throttled"] == 0 and counters["retries"] == 0
    assert efficiency >= 0.9, f"{efficiency=:.2f} over {wall=:.2f}s"


async def test_unpaced_client_honours_the_sandbox_retry_after(sandbox_factory: Any, tmp_path: Path) -> None:
    creds = start(sandbox_factory, tmp_path, rate_limit=600)  # burst of 10, then 429 with retry-after >= 1
    async with DyteClient(creds, rate_per_minute=0, concurrency=8) as client:
        started = time.monotonic()
        bodies = await asyncio.gather(*(client.v2("GET", "/meetings") for _ in range(16)))
        wall = time.monotonic() - started
        counters = client.counters
    assert all(body["success"] for body in bodies)
    assert counters.throttled > 0 and counters.v2 == 16 + counters.throttled
    assert wall >= 0.95, "the retry waited for retry-after (whole seconds)"


async def test_wrong_key_is_an_auth_error_with_the_sandbox_message(sandbox_factory: Any, tmp_path: Path) -> None:
    creds = start(sandbox_factory, tmp_path, rate_limit=0)
    wrong = dataclasses.replace(creds, v1=dataclasses.replace(creds.v1, api_key="not-the-key-123"))
    async with DyteClient(wrong, rate_per_minute=0) as client:
        with pytest.raises(AuthError) as caught:
            await client.v1("GET", "/meetings")
        assert await client.v2("GET", "/webhooks")  # the other side still works
    assert caught.value.status == 401 and "not-the-key-123" not in str(caught.value)
