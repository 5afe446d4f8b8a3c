"""`together` and `in_order`: calls side by side, answers in order, nothing outlives a failure."""

from __future__ import annotations

import asyncio

import pytest

from migrator.side_by_side import in_order, together

pytestmark = pytest.mark.anyio
WAIT = 5.0  # only a helper that waits for each call in turn needs longer: it deadlocks below


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_in_order_reads_a_chunk_side_by_side_and_yields_in_item_order():
    started: list[int] = []
    last_started = asyncio.Event()

    async def fetch(n: int) -> str:
        started.append(n)
        if n == 3:
            last_started.set()
        else:
            await last_started.wait()  # the first ones answer only once the last of the chunk was asked
        await asyncio.sleep(0.001 * (4 - n))  # and later items finish first
        return f"answer {n}"

    async def collect() -> list[tuple[int, str]]:
        return [pair async for pair in in_order([0, 1, 2, 3, 4, 5], fetch, chunk=4)]

    pairs = await asyncio.wait_for(collect(), WAIT)
    assert pairs == [(n, f"answer {n}") for n in range(6)]
    assert sorted(started[:4]) == [0, 1, 2, 3] and started[4:] == [4, 5]  # 4 and 5 wait for the first chunk


async def test_together_raises_the_first_error_as_it_is_and_cancels_the_rest():
    cancelled = asyncio.Event()

    async def hangs() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    async def fails() -> None:
        await asyncio.sleep(0)
        raise KeyError("broken answer")

    before = asyncio.all_tasks()
    with pytest.raises(KeyError, match="broken answer"):
        await asyncio.wait_for(together(hangs(), fails(), hangs()), WAIT)
    assert cancelled.is_set() and asyncio.all_tasks() == before


async def test_together_of_nothing_is_nothing():
    assert await together() == []


async def test_cancelling_in_order_cancels_its_calls():
    running: set[int] = set()

    async def fetch(n: int) -> int:
        running.add(n)
        try:
            await asyncio.Event().wait()
        finally:
            running.discard(n)
        return n

    async def collect() -> None:
        async for _ in in_order([1, 2, 3], fetch, chunk=3):
            pass

    task = asyncio.ensure_future(collect())
    await asyncio.sleep(0.01)
    assert running == {1, 2, 3}
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert running == set()
