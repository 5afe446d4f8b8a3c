"""Token buckets: one per client IP across /v1 and /v2, like Dyte's edge (2000/minute per IP);
RealtimeKit's app uses another (250 per 10 seconds per account)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`per_minute` tokens a minute, refilled continuously; the bucket holds `window_seconds` worth
    (Dyte: one second; RealtimeKit counts per 10-second window)."""

    def __init__(self, per_minute: float, clock: Callable[[], float] = time.monotonic, *, window_seconds: float = 1.0) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * window_seconds)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def acquire(self, client: str) -> int:
        """0 when the request may pass, else the whole seconds until a token is there (>= 1)."""
        if not self.enabled:
            return 0
        now = self._clock()
        with self._lock:
            bucket = self._buckets.get(client)
            if bucket is None:
                bucket = self._buckets[client] = _Bucket(self.capacity, now)
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0
            return max(1, math.ceil((1.0 - bucket.tokens) / self.rate))

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()
