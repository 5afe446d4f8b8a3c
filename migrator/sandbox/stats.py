"""Request counters behind `GET /_sandbox/stats`: what a test asserts a client really sent."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

from migrator.sandbox.wire import Area

DROPPED = 0  # status recorded when the connection was dropped without an answer


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: Counter[tuple[str, str, int]] = Counter()
        self._areas: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()
        self._writes: Counter[str] = Counter()
        self._throttled = 0

    def record(self, method: str, route: str, status: int, area: Area) -> None:
        with self._lock:
            self._requests[(method, route, status)] += 1
            self._areas[area] += 1

    def count_write(self, area: Area) -> None:
        """A write that reached the v2 or RealtimeKit handlers."""
        with self._lock:
            self._writes[area] += 1

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
            }

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._areas.clear()
            self._faults.clear()
            self._writes.clear()
            self._throttled = 0
