"""Client-side pacing: a token bucket shared by every v1 and v2 call, plus retry delays.

Dyte counts v1 and v2 requests against one bucket per client IP, so the client keeps a
twin of that bucket and sends a little under its rate: the server's bucket then stays
full and a 429 is the exception, not the feedback loop.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable

# Pace this fraction under the server's rate, and burst at most this fraction of its
# capacity: the surplus keeps the server's bucket topped up, which absorbs network jitter.
PACE_FRACTION = 0.97
BURST_FRACTION = 0.5


class TokenBucket:
    """A GCRA bucket (theoretical arrival time): O(1) per request, no lock, FIFO-fair.

    Each `acquire` reserves the next slot at once and then sleeps until it, so
    concurrent callers never re-contend. `pause` stops every caller, not only the one
    that saw the 429, because the server's bucket is shared by all of them.
    """

    def __init__(self, per_second: float, burst: float = 1.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._tolerance = max(burst - 1.0, 0.0) * self._interval
        self._tat = clock()  # theoretical arrival time of the next request
        self._paused_until = -math.inf

    @classmethod
    def for_server_limit(cls, per_minute: float) -> TokenBucket:
        """A bucket just under a server limit of `per_minute` (0 = unlimited; pauses still apply)."""
        server_rate = per_minute / 60.0
        return cls(server_rate * PACE_FRACTION, max(1.0, server_rate * BURST_FRACTION))

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def wait_unpaused(self) -> None:
        while (delay := self._paused_until - self._clock()) > 0:
            await asyncio.sleep(delay)

    async def acquire(self) -> None:
        """Wait for this caller's turn to send one request."""
        await self.wait_unpaused()
        if not self._interval:
            return
        now = self._clock()
        tat = self._tat if self._tat > now else now
        self._tat = tat + self._interval
        delay = tat - self._tolerance - now
        if delay > 0:
            await asyncio.sleep(delay)
            await self.wait_unpaused()  # a 429 may have paused everyone meanwhile

    def pause(self, seconds: float) -> None:
        """Hold every caller for `seconds`, then resume at the steady rate without a burst."""
        until = self._clock() + seconds
        if until > self._paused_until:
            self._paused_until = until
        self._tat = max(self._tat, until + self._tolerance)


def backoff_delay(failures: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter (delay drawn from [0, base * 2**(failures-1)])."""
    return random.uniform(0.0, min(cap, base * 2.0 ** (failures - 1)))


def parse_retry_after(value: str | None, cap: float) -> float | None:
    """Seconds from a `retry-after` header, capped; None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, cap)
