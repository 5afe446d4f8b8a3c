"""Shared fixtures for the HTTP client tests: fake credentials and a fast client factory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import respx

from migrator.client import DyteClient
from migrator.settings import PROFILES, ApiCredentials, Credentials

from .fakes import V1_BASE, V1_KEY, V1_ORG, V2_BASE, V2_KEY, V2_ORG, ClientFactory


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def creds() -> Credentials:
    return Credentials(
        v1=ApiCredentials(PROFILES["dyte-v1"], V1_BASE, V1_ORG, V1_KEY),
        v2=ApiCredentials(PROFILES["dyte-v2"], V2_BASE, V2_ORG, V2_KEY),
    )


@pytest.fixture
def make_client(creds: Credentials) -> ClientFactory:
    """A client with near-zero backoff and no pacing unless a test asks for it."""

    def build(credentials: Credentials | None = None, **overrides: Any) -> DyteClient:
        options: dict[str, Any] = {"rate_per_minute": 0, "backoff_base": 0.001, "backoff_cap": 0.002, **overrides}
        return DyteClient(credentials or creds, **options)

    return build


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router
