"""Query-string paging of both APIs: v1 `offset`/`limit`, v2 `page_no`/`per_page` + `paging`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from migrator.sandbox.wire import ApiError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Window:
    offset: int
    limit: int


def _number(query: Mapping[str, str], name: str) -> float | None:
    raw = query.get(name, "").strip()
    if raw == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ApiError(400, f"{name} must be a number") from None
    if not math.isfinite(value) or value < 0:
        raise ApiError(400, f"{name} must be a non-negative number")
    return value


def v1_window(query: Mapping[str, str], *, default_limit: int = DEFAULT_PAGE_SIZE) -> Window:
    """`offset` (default 0) and `limit` (default 20, clamped to 100)."""
    offset = int(_number(query, "offset") or 0)
    limit = int(_number(query, "limit") or 0)
    return Window(offset, default_limit if limit < 1 else min(limit, MAX_PAGE_SIZE))


def v2_window(query: Mapping[str, str]) -> Window:
    """`page_no` from 1 (0 counts as 1) and `per_page` (default 20, clamped to 100)."""
    page_no = max(1, int(_number(query, "page_no") or 1))
    per_page = int(_number(query, "per_page") or 0)
    per_page = DEFAULT_PAGE_SIZE if per_page < 1 else min(per_page, MAX_PAGE_SIZE)
    return Window((page_no - 1) * per_page, per_page)


def v2_paging(total: int, window: Window, count: int) -> dict[str, Any]:
    """1-based inclusive offsets of the items on this page, as in the spec's examples."""
    return {"total_count": total, "start_offset": window.offset + 1, "end_offset": window.offset + count}
