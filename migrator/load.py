"""Load: apply the plan to v2, exactly once, in dependency order.

Presets -> meetings -> participants -> webhooks. Work goes in chunks: the intent of a
whole chunk is committed to the ledger, its writes are sent concurrently, and their
outcomes are committed together. Chunks overlap: the next chunk's intent is committed
and its writes queued while the previous one is still in flight, so the pipe does not
drain at every chunk boundary; a fixed pool of workers (one per connection) sends them.
A write whose answer was lost (dropped connection,
5xx on a POST) is settled by looking the object up in v2 by its natural key before it
is ever sent again; so is anything a killed run left in state `intent`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from migrator import reconcile
from migrator.client import DyteClient
from migrator.errors import ApiError, AuthError, MalformedResponse, TransportError, WriteOutcomeUnknown
from migrator.ledger import DONE, FAILED, INTENT, PENDING, Entity, Ledger, WriteResult

KIND_ORDER = ("preset", "meeting", "participant", "webhook")
MAX_UNCERTAIN = 5  # give up on an entity after this many writes with unknown outcome in one run
# Fields the v2 PATCH endpoints do not take.
NOT_PATCHABLE: dict[str, tuple[str, ...]] = {"participant": ("custom_participant_id",)}
MEETING_MATCH_FIELDS = ("record_on_start", "live_stream_on_start")
# Pending participant creates whose meeting and preset already exist in v2, in plan order.
NEXT_PARTICIPANT_CREATES_SQL = (
    "SELECT p.*, m.v2_id AS meeting_v2 FROM entities p "
    "JOIN entities m ON m.kind = 'meeting' AND m.key = p.parent_key AND m.v2_id IS NOT NULL "
    "WHERE p.kind = 'participant' AND p.state = 'pending' AND p.action IN ('create', 'reconcile') "
    "AND EXISTS (SELECT 1 FROM entities s WHERE s.kind = 'preset' AND s.state = 'done' "
    "            AND s.key = json_extract(p.desired, '$.preset_name')) "
    "ORDER BY p.seq LIMIT ?")
# Done entities whose v2 object no longer holds what the plan wants.
NEXT_UPDATES_WHERE = "v2_id IS NOT NULL AND action IN ('create', 'update', 'reconcile') AND written IS NOT desired"
PIPELINE_DEPTH = 2  # chunks in flight at once: the one being sent and the next, intent already committed

Progress = Callable[[str, int], None]


@dataclass
class LoadSummary:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    writes: int = 0
    stopped: str | None = None  # why the run stopped early, if it did
    errors: list[dict[str, Any]] = field(default_factory=list)


class _Uncertain:
    """Marker: the write may have been applied."""


UNCERTAIN = _Uncertain()


class _Chunk:
    """One chunk of writes whose intent is committed; outcomes fill in as the answers arrive."""

    __slots__ = ("jobs", "outcomes", "left", "done", "error")

    def __init__(self, jobs: list[Any]) -> None:
        self.jobs = jobs
        self.outcomes: list[Any] = [None] * len(jobs)
        self.left = len(jobs)
        self.done = asyncio.Event()
        self.error: BaseException | None = None

    async def landed(self) -> "_Chunk":
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self


class Loader:
    def __init__(self, client: DyteClient, ledger: Ledger, run_id: int, *, chunk: int = 64,
                 max_writes: int | None = None, deadline: float | None = None,
                 stop: asyncio.Event | None = None, only: set[str] | None = None,
                 progress: Progress | None = None, concurrency: int | None = None) -> None:
        self.client, self.ledger, self.run_id = client, ledger, run_id
        self.chunk = chunk
        self.concurrency = concurrency or max(1, chunk // 8)  # writes in flight: match the client's slots
        self.max_writes, self.deadline = max_writes, deadline
        self.stop = stop or asyncio.Event()
        self.only = only or set(KIND_ORDER)
        self.progress = progress or (lambda kind, n: None)
        self.summary = LoadSummary()
        self._uncertain_tries: Counter[tuple[str, str]] = Counter()
        self._unreachable: TransportError | None = None

    # ------------------------------------------------------------- budget
    def _budget(self) -> int:
        """How many more writes this run may start (0 = stop now)."""
        if self.stop.is_set():
            self.summary.stopped = self.summary.stopped or "signal"
            return 0
        if self.deadline is not None and time.monotonic() >= self.deadline:
            self.summary.stopped = "max-seconds"
            return 0
        if self.max_writes is not None:
            left = self.max_writes - self.summary.writes
            if left <= 0:
                self.summary.stopped = "batch-size"
                return 0
            return min(left, self.chunk)
        return self.chunk

    # ------------------------------------------------------------- run
    async def run(self) -> LoadSummary:
        await self.reconcile_in_flight()
        for kind in KIND_ORDER:
            if kind not in self.only:
                continue
            self._adopt_planned(kind)
            await self._creates(kind)
            await self._updates(kind)
        self._count_static()
        return self.summary

    def _count_static(self) -> None:
        for kind, action, n in self.ledger.conn.execute(
                "SELECT kind, action, count(*) FROM entities WHERE action IN ('unchanged', 'unmappable', 'conflict') "
                "GROUP BY kind, action"):
            if kind in self.only:
                self.summary.counts[kind]["failed" if action == "conflict" else action] += n
        for kind, n in self.ledger.conn.execute(
                "SELECT p.kind, count(*) FROM entities p JOIN entities m ON m.kind = 'meeting' AND m.key = p.parent_key "
                "WHERE p.kind = 'participant' AND p.state = 'pending' AND m.v2_id IS NULL "
                "AND m.state IN ('failed', 'unmappable') GROUP BY p.kind"):
            if kind in self.only:
                self.summary.counts[kind]["failed"] += n

    # ------------------------------------------------------------- adopt
    def _adopt_planned(self, kind: str) -> None:
        """Objects the plan found identical in v2 join the ledger without a write."""
        adopted = [
            WriteResult(e.kind, e.key, DONE, "adopted", v2_id=e.extra.get("adopt_v2_id"), written=e.desired, origin="adopted")
            for e in self.ledger.entities(kind, state=PENDING, where="action = 'adopt'")
        ]
        if adopted:
            self.ledger.record_results(self.run_id, adopted)
            self.summary.counts[kind]["adopted"] += len(adopted)

    # ------------------------------------------------------------- creates
    def _next_creates(self, kind: str, limit: int) -> list[tuple[Entity, str | None]]:
        """Pending creates whose dependencies exist in v2, with the parent's v2 id."""
        if kind != "participant":
            return [(e, None) for e in self.ledger.entities(
                kind, state=PENDING, where="action IN ('create', 'reconcile')", limit=limit)]
        cur = self.ledger.conn.execute(NEXT_PARTICIPANT_CREATES_SQL, (limit,))
        names = [d[0] for d in cur.description]
        out = []
        for row in cur:
            data = dict(zip(names, row))
            meeting_v2 = data.pop("meeting_v2")
            out.append((Entity.from_row(data), meeting_v2))
        return out

    async def _creates(self, kind: str) -> None:
        def complete(chunk: _Chunk) -> list[Entity]:
            settled = [o for o in chunk.outcomes if isinstance(o, WriteResult)]
            if settled:
                self.ledger.record_results(self.run_id, settled)
                self._tally(settled)
            self.progress(kind, len(chunk.jobs))
            return [e for (e, _), o in zip(chunk.jobs, chunk.outcomes) if o is UNCERTAIN]

        await self._pipeline(kind, lambda limit: self._next_creates(kind, limit), lambda job: job[0], "intent:create",
                             lambda job: self._create(*job), complete)

    async def _pipeline(self, kind: str, next_batch: Callable[[int], list[Any]], entity_of: Callable[[Any], Entity],
                        event: str, send: Callable[[Any], Awaitable[Any]],
                        complete: Callable[[_Chunk], list[Entity]]) -> None:
        """Send chunks of writes through `concurrency` workers, up to PIPELINE_DEPTH chunks in flight.

        Exactly once: a chunk's intent is committed before any of its writes is queued, and
        its outcomes are committed (`complete`) once its last write has answered. Writes
        whose outcome is unknown are settled (looked up in v2) only when nothing else is in
        flight, so the lookup sees every answered write already in the ledger; only then
        may they be sent again. An exception from `send` (AuthError) ends the run as it
        comes out; what was in flight stays in state `intent` and is reconciled on resume.
        """
        queue: asyncio.Queue[tuple[_Chunk, int]] = asyncio.Queue()
        in_flight: deque[_Chunk] = deque()

        async def worker() -> None:
            while True:
                chunk, i = await queue.get()
                try:
                    chunk.outcomes[i] = await send(chunk.jobs[i])
                except Exception as exc:  # noqa: BLE001 - re-raised by `landed()`
                    chunk.error = chunk.error or exc
                    chunk.done.set()
                chunk.left -= 1
                if not chunk.left:
                    chunk.done.set()

        async def retire() -> None:
            unsure = complete(await in_flight.popleft().landed())
            if unsure:
                while in_flight:
                    unsure += complete(await in_flight.popleft().landed())
                await self._settle(kind, unsure)

        workers = [asyncio.create_task(worker()) for _ in range(self.concurrency)]
        try:
            while True:
                if in_flight and (len(in_flight) >= PIPELINE_DEPTH or in_flight[0].done.is_set()):
                    await retire()
                    continue
                if self._unreachable is not None:
                    break
                limit = self._budget()
                if limit <= 0:
                    break
                batch = next_batch(limit)
                if not batch:
                    if in_flight:  # what is in flight may come back to be sent again
                        await retire()
                        continue
                    break
                self.ledger.mark_intent(self.run_id, [entity_of(job) for job in batch], event)
                self.summary.writes += len(batch)
                chunk = _Chunk(batch)
                in_flight.append(chunk)
                for i in range(len(batch)):
                    queue.put_nowait((chunk, i))
            while in_flight:
                await retire()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if self._unreachable is not None:
            raise self._unreachable

    def _create_request(self, entity: Entity, parent_v2: str | None) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """(path, body, what v2 holds after it) for a create."""
        desired = dict(entity.desired or {})
        if entity.kind == "meeting":
            body = {k: v for k, v in desired.items() if k != "status"}
            return "/meetings", body, {**body, "status": "ACTIVE"} if "status" in desired else body
        path = {"preset": "/presets", "webhook": "/webhooks"}.get(entity.kind, f"/meetings/{parent_v2}/participants")
        return path, desired, desired

    async def _create(self, entity: Entity, parent_v2: str | None) -> WriteResult | _Uncertain:
        path, body, written = self._create_request(entity, parent_v2)
        try:
            answer = await self.client.v2("POST", path, json=body)
        except (WriteOutcomeUnknown, MalformedResponse):
            return UNCERTAIN
        except TransportError as exc:  # never connected: nothing was applied
            self._unreachable = exc
            return WriteResult(entity.kind, entity.key, PENDING, "not-sent", error=str(exc))
        except AuthError:
            raise
        except ApiError as exc:
            self.summary.errors.append({"kind": entity.kind, "key": entity.key, "error": exc.api_message})
            return WriteResult(entity.kind, entity.key, FAILED, "failed", error=f"{exc.status}: {exc.api_message}")
        data = answer.get("data")
        v2_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(v2_id, str) or not v2_id:
            return UNCERTAIN
        return WriteResult(entity.kind, entity.key, DONE, "created", v2_id=v2_id, written=written, origin="created")

    # ------------------------------------------------------------- reconcile
    async def reconcile_in_flight(self) -> None:
        """Settle what a previous (killed) run left in state `intent`, before any new write."""
        for kind in KIND_ORDER:
            stuck = list(self.ledger.entities(kind, state=INTENT))
            if not stuck:
                continue
            updates = [e for e in stuck if e.v2_id]
            if updates:  # PATCH is idempotent: the plan asks for it again if it did not land
                self.ledger.record_results(self.run_id, [
                    WriteResult(e.kind, e.key, DONE, "reconciled-update") for e in updates])
            creates = [e for e in stuck if not e.v2_id]
            if creates:
                await self._settle(kind, creates, resumed=True)

    async def _settle(self, kind: str, entities: list[Entity], resumed: bool = False) -> None:
        found = await self._lookup(kind, entities)
        results: list[WriteResult] = []
        for entity in entities:
            hit = found.get(entity.key)
            if hit is not None:
                v2_id, written = hit
                results.append(WriteResult(kind, entity.key, DONE, "adopted", v2_id=v2_id, written=written,
                                           origin="created", detail={"reconciled": True, "resumed": resumed}))
                continue
            self._uncertain_tries[(kind, entity.key)] += 1
            if self._uncertain_tries[(kind, entity.key)] >= MAX_UNCERTAIN:
                error = f"{MAX_UNCERTAIN} writes in a row had an unknown outcome and none landed; run migrate again"
                self.summary.errors.append({"kind": kind, "key": entity.key, "error": error})
                results.append(WriteResult(kind, entity.key, FAILED, "failed", error=error))
            else:  # not in v2: it never landed, so it is safe to send again
                results.append(WriteResult(kind, entity.key, PENDING, "retry", detail={"resumed": resumed}))
        self.ledger.record_results(self.run_id, results)
        self._tally(results)

    async def _lookup(self, kind: str, entities: list[Entity]) -> dict[str, tuple[str, dict[str, Any]]]:
        """v1 key -> (v2 id, what v2 holds) for in-flight creates that did land."""
        known = {r[0] for r in self.ledger.conn.execute(
            "SELECT v2_id FROM entities WHERE kind = ? AND v2_id IS NOT NULL", (kind,))}
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        if kind == "preset":
            names = await reconcile.v2_presets(self.client)
            for e in entities:
                if names.get(e.key) and names[e.key] not in known:
                    found[e.key] = (names[e.key], e.desired or {})
        elif kind == "webhook":
            hooks = await reconcile.v2_webhooks(self.client)
            for e in entities:
                hook = hooks.get(e.natural_key or "")
                if hook and hook.get("id") not in known:
                    found[e.key] = (hook["id"], e.desired or {})
        elif kind == "participant":
            by_meeting: dict[str, list[Entity]] = defaultdict(list)
            for e in entities:
                by_meeting[e.parent_key or ""].append(e)
            for meeting_key, group in by_meeting.items():
                meeting = self.ledger.entity("meeting", meeting_key)
                if meeting is None or not meeting.v2_id:
                    continue
                pool: dict[str, list[str]] = defaultdict(list)
                for p in await reconcile.v2_participants(self.client, meeting.v2_id):
                    if p.get("id") not in known:
                        pool[p.get("custom_participant_id") or ""].append(p["id"])
                for e in group:
                    ids = pool.get(e.natural_key or "")
                    if ids:
                        found[e.key] = (ids.pop(0), e.desired or {})
        elif kind == "meeting":
            claimed: set[str] = set(known)
            for e in entities:
                desired = e.desired or {}
                for candidate in await reconcile.v2_meetings_since(self.client, desired.get("title"), e.intent_at):
                    if candidate.get("id") in claimed or not reconcile.matches(desired, candidate, MEETING_MATCH_FIELDS):
                        continue
                    claimed.add(candidate["id"])
                    body = {k: v for k, v in desired.items() if k != "status"}
                    written = {**body, "status": candidate.get("status", "ACTIVE")} if "status" in desired else body
                    found[e.key] = (candidate["id"], written)
                    break
        return found

    # ------------------------------------------------------------- updates
    def _next_updates(self, kind: str, limit: int, skip: set[str]) -> list[Entity]:
        rows = self.ledger.entities(
            kind, state=DONE,
            where=NEXT_UPDATES_WHERE)
        out = []
        for e in rows:
            if e.key not in skip:
                out.append(e)
                if len(out) >= limit:
                    break
        return out

    async def _updates(self, kind: str) -> None:
        tried: set[str] = set()

        def next_batch(limit: int) -> list[Entity]:
            batch = self._next_updates(kind, limit, tried)
            tried.update(e.key for e in batch)
            return batch

        def complete(chunk: _Chunk) -> list[Entity]:
            results: list[WriteResult] = list(chunk.outcomes)
            self.ledger.record_results(self.run_id, results)
            self._tally(results)
            self.progress(kind, sum(1 for r in results if r.event != "status-set"))  # follow-ups are part of a create
            return []

        await self._pipeline(kind, next_batch, lambda e: e, "intent:update", self._update, complete)

    async def _update(self, entity: Entity) -> WriteResult:
        desired, written = entity.desired or {}, entity.written or {}
        body = {k: v for k, v in desired.items() if written.get(k) != v and k not in NOT_PATCHABLE.get(entity.kind, ())}
        path = {"preset": f"/presets/{entity.v2_id}", "meeting": f"/meetings/{entity.v2_id}",
                "webhook": f"/webhooks/{entity.v2_id}"}.get(entity.kind)
        if entity.kind == "participant":
            meeting = self.ledger.entity("meeting", entity.parent_key or "")
            path = f"/meetings/{meeting.v2_id if meeting else ''}/participants/{entity.v2_id}"
        follow_up = entity.action == "create"  # a new meeting's status, not a v1 change
        try:
            await self.client.v2("PATCH", path or "/", json=body)
        except AuthError:
            raise
        except (ApiError, WriteOutcomeUnknown, MalformedResponse) as exc:
            message = exc.api_message if isinstance(exc, ApiError) else str(exc)
            self.summary.errors.append({"kind": entity.kind, "key": entity.key, "error": message})
            return WriteResult(entity.kind, entity.key, FAILED, "failed", error=message)
        return WriteResult(entity.kind, entity.key, DONE, "status-set" if follow_up else "updated",
                           written={**written, **body})

    # ------------------------------------------------------------- counts
    def _tally(self, results: list[WriteResult]) -> None:
        for r in results:
            if r.event in ("created", "adopted", "updated", "failed"):
                self.summary.counts[r.kind][r.event] += 1
