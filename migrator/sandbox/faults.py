"""Injected failures (`--faults 503:0.05,reset:0.02,...`) and how a connection is dropped.

One seeded draw per /v1 or /v2 request picks at most one fault, so a run with the
same seed and the same request order fails the same way.
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, get_args

FaultKind = Literal["503", "500", "429", "reset", "timeout", "commit-then-drop"]
FAULT_KINDS: tuple[str, ...] = get_args(FaultKind)

Send = Callable[[dict[str, Any]], Awaitable[None]]


class FaultSpecError(ValueError):
    """A --faults value that cannot be parsed."""


@dataclass(frozen=True)
class FaultPlan:
    probabilities: tuple[tuple[str, float], ...] = ()

    @classmethod
    def parse(cls, spec: str | None) -> FaultPlan:
        """`kind:probability,...`; probabilities in [0, 1] summing to at most 1."""
        if not spec or not spec.strip():
            return cls()
        pairs: dict[str, float] = {}
        for part in spec.split(","):
            kind, _, probability = part.strip().rpartition(":")
            if kind not in FAULT_KINDS:
                raise FaultSpecError(f"unknown fault {kind or part!r} (known: {', '.join(FAULT_KINDS)})")
            try:
                value = float(probability)
            except ValueError:
                raise FaultSpecError(f"fault {kind}: probability {probability!r} is not a number") from None
            if not 0.0 <= value <= 1.0:
                raise FaultSpecError(f"fault {kind}: probability must be between 0 and 1")
            pairs[kind] = value
        if sum(pairs.values()) > 1.0 + 1e-9:
            raise FaultSpecError("fault probabilities add up to more than 1")
        return cls(tuple(pairs.items()))

    def __bool__(self) -> bool:
        return any(probability > 0 for _, probability in self.probabilities)


class FaultInjector:
    """Draws the fault (if any) for each request from a seeded generator."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def draw(self, is_write: bool) -> str | None:
        if not self.plan:
            return None
        with self._lock:
            roll = self._random.random()
        threshold = 0.0
        for fault, probability in self.plan.probabilities:
            threshold += probability
            if roll < threshold:
                # commit-then-drop only means something for writes; a read drawing it passes.
                return None if fault == "commit-then-drop" and not is_write else fault
        return None


async def drop_connection(send: Send) -> None:
    """Close the client's connection without sending a byte of the answer.

    Uvicorn's `send` is a method of its per-request cycle, which owns the transport;
    aborting it is the one way to make a client see a transport error rather than a
    (possibly partial) HTTP response. The sandbox only runs on uvicorn.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("cannot reach the connection to drop it: the sandbox must run on uvicorn")
    transport.abort()
    for _ in range(3):  # let uvicorn see connection_lost before the app returns, so it logs nothing
        await asyncio.sleep(0)
