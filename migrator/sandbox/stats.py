"""Request counters behind `GET /_sandbox/stats`: what a test asserts a client really sent."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from migrator.sandbox.wire import Area

DROPPED = 0  # status recorded when the connection was dropped without an answer


@dataclass
class _Client:
    """One client address's API requests: how many were answered, how many throttled, and when (monotonic)."""

    answered: int = 0
    throttled: int = 0
    first: float | None = None
    last: float | None = None


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._areas: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._writes: Counter[str] = Counter()
        self._throttled = 0
        self._clients: dict[str, _Client] = {}

    def record(self, method: str, route: str, status: int, area: Area) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            self._areas[area] += 1

    def count_write(self, area: Area) -> None:
        """A write that reached the v2 or RealtimeKit handlers."""
        with self._lock:
            self._writes[area] += 1

    def record_client(self, client: str, status: int) -> None:
        """An API answer sent to `client` (its address): separate processes sending from separate
        addresses (the `shards` benchmark) are each counted and timed, as the rate limiter keys them."""
        now = time.monotonic()
        with self._lock:
            entry = self._clients.get(client) or self._clients.setdefault(client, _Client())
            if status == 429:
                entry.throttled += 1
                return
            entry.answered += 1
            entry.last = now
            if entry.first is None:
                entry.first = now

    def count_throttled(self) -> None:
        with self._lock:
            self._throttled += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            requests = [
                {"method": method, "route": route, "status": status, "count": count}
                for (method, route, status), count in sorted(self._requests.items())
            ]
            return {
                "requests": requests,
                "totals": {
                    "all": sum(self._areas.values()),
                    "v1": self._areas["v1"],
                    "v2": self._areas["v2"],
                    "v2_writes": self._writes["v2"],
                    "rtk": self._areas["rtk"],
                    "rtk_writes": self._writes["rtk"],
                    "documents": self._areas["s3"],
                    "throttled": self._throttled,
                    "faults": dict(self._faults),
                },
                "clients": {
                    address: {"api_calls": c.answered, "throttled": c.throttled, "first_call": c.first, "last_call": c.last}
                    for address, c in sorted(self._clients.items())
                },
            }

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._areas.clear()
            self._faults.clear()
            self._writes.clear()
            self._throttled = 0
            self._clients.clear()
