"""Fake credentials shared by the client tests (distinctive keys, so leaks are easy to spot)."""

from __future__ import annotations

from collections.abc import Callable

from migrator.client import DyteClient

V1_BASE = "https://v1.example.test/v1"
V2_BASE = "https://v2.example.test/v2"
V1_ORG = "org-v1-1111"
V2_ORG = "org-v2-2222"
V1_KEY = "v1-key-SECRET-9f8e7d6c"
V2_KEY = "v2-key-SECRET-1a2b3c4d"
V1_ORG_URL = f"{V1_BASE}/organizations/{V1_ORG}"

ClientFactory = Callable[..., DyteClient]
