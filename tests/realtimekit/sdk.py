"""The official `cloudflare` SDK pointed at a sandbox, and a valid RealtimeKit preset body."""

from __future__ import annotations

import copy
from typing import Any

from cloudflare import Cloudflare

from migrator.sandbox.server import SandboxServer
from tests.sandbox.payloads import v2_preset


def sdk_client(server: SandboxServer) -> Cloudflare:
    """`max_retries=0`: a request the sandbox cannot serve must fail the test, not be retried away."""
    return Cloudflare(
        api_token=server.credentials["realtimekit"]["api_token"], base_url=f"{server.base_url}/client/v4", max_retries=0
    )


def rtk_preset(name: str) -> dict[str, Any]:
    """v2's preset body with RealtimeKit's differences: plugin config keyed by plugin id, fhd video."""
    preset = copy.deepcopy(v2_preset(name))
    preset["permissions"]["plugins"]["config"] = {}
    preset["config"]["media"]["video"]["quality"] = "fhd"
    preset["config"]["view_type"] = "LIVESTREAM"
    return preset
