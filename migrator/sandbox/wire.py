"""What a handler receives and returns, and the two APIs' error shapes."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

Area = Literal["v1", "v2", "s3", "sandbox"]  # which part of the server a path belongs to


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


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: tuple[tuple[bytes, bytes], ...] = field(default=())


def error_body(area: Area, status: int, message: str) -> dict[str, Any]:
    """v1 `{success, message}`, v2 `{success, error: {code, message}}`, else a plain error."""
    if area == "v1":
        return {"success": False, "message": message}
    if area == "v2":
        return {"success": False, "error": {"code": status, "message": message}}
    return {"error": message, "status": status}


def encode_json(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
