"""What a handler receives and returns, and the two APIs' error shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Area = Literal["v1", "v2", "rtk", "s3", "sandbox"]  # which part of the server a path belongs to (rtk: RealtimeKit)


class ApiError(Exception):
    """An expected failure a handler answers with, rendered in its API's error shape."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Call:
    """One parsed request as a handler sees it."""

    method: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    body: Any
    base_url: str  # http://HOST:PORT of this server, for links such as s3URL
    org: Any = None  # the org (v2) or app (RealtimeKit) the route is scoped to
    spec: str = ""  # the spec file the route is served from


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())


def error_body(area: Area, status: int, message: str) -> dict[str, Any]:
    """v1 `{success, message}`, v2 and RealtimeKit `{success, error: {code, message}}`, else a plain error.

    RealtimeKit answers in Dyte v2's envelope, not Cloudflare's `{result, errors, messages}`
    (specs/realtimekit.md); its error body is not documented, so v2's is used.
    """
    if area == "v1":
        return {"success": False, "message": message}
    if area in ("v2", "rtk"):
        return {"success": False, "error": {"code": status, "message": message}}
    return {"error": message, "status": status}


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
