"""Calls side by side. The client bounds how many requests are in flight and paces them, so a
stage only has to stop waiting out one round trip after another; these helpers keep the
answers in order and let no call outlive a failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
READS_AT_ONCE = 64  # listings or objects a stage reads side by side (the client bounds and paces the calls)


async def together(*jobs: Awaitable[R]) -> list[R]:
    """Run jobs at once and return their results in order. The first error cancels the others
    and is raised as it is (not grouped): no job outlives a failed stage to write into a ledger
    that is being closed."""
    tasks = [asyncio.ensure_future(job) for job in jobs]
    if not tasks:
        return []
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                raise error
        return [task.result() for task in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def in_order(items: Sequence[T], fetch: Callable[[T], Awaitable[R]], chunk: int) -> AsyncIterator[tuple[T, R]]:
    """`fetch(item)` for every item, `chunk` of them side by side, yielded in the items' order:
    what is made of the answers (a report, a fingerprint) does not depend on which came first."""
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        for pair in zip(part, await together(*map(fetch, part)), strict=True):
            yield pair


async def each_listed(listing: AsyncIterator[list[T]], limit: int, each: Callable[[T], Awaitable[None]]) -> None:
    """`each` on every item of a paged listing, `limit` at a time, while the next page is read:
    the participants of the first meetings are read while a long meeting listing goes on,
    instead of after its last page."""
    queue: asyncio.Queue[T | None] = asyncio.Queue()

    async def read() -> None:
        try:
            async for page in listing:
                for item in page:
                    queue.put_nowait(item)
        finally:
            for _ in range(limit):
                queue.put_nowait(None)

    async def work() -> None:
        while (item := await queue.get()) is not None:
            await each(item)

    await together(read(), *(work() for _ in range(limit)))
