"""Load: apply the plan to v2, exactly once, in dependency order.

Kinds go in the order `kinds.KINDS` declares (presets -> meetings -> participants ->
webhooks). Work goes in chunks: the intent of a whole chunk is committed to the ledger,
its writes are sent concurrently, and their outcomes are committed together. Chunks
overlap: the next chunk's intent is committed and its writes queued while the previous
one is still in flight, so the pipe does not drain at every chunk boundary; a fixed pool
of workers (one per connection) sends them. A write whose answer was lost (dropped
connection, 5xx on a POST) is settled by looking the object up in v2 by its natural key
before it is ever sent again; so is anything a killed run left in state `intent`.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from migrator import kinds, undo
from migrator.client import DyteClient
from migrator.errors import ApiError, AuthError, MalformedResponse, TransportError, WriteOutcomeUnknown
from migrator.kinds import KindSpec
from migrator.ledger import Ledger, Scope
from migrator.model import Action, Entity, EntityError, Kind, LoadSummary, State, WriteResult, changes

MAX_UNCERTAIN = 5  # give up on an entity after this many writes with unknown outcome in one run
PIPELINE_DEPTH = 2  # chunks in flight at once: the one being sent and the next, intent already committed
# Events that count as an outcome of a run (the rest is bookkeeping: retries, follow-ups).
COUNTED_EVENTS = ("created", "adopted", "updated", "failed")

Progress = Callable[[Kind, int], None]


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

    async def landed(self) -> _Chunk:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self


class Loader:
    def __init__(
        self,
        client: DyteClient,
        ledger: Ledger,
        run_id: int,
        *,
        chunk: int = 64,
        max_writes: int | None = None,
        deadline: float | None = None,
        stop: asyncio.Event | None = None,
        only: frozenset[Kind] | None = None,
        progress: Progress | None = None,
        concurrency: int | None = None,
        prune: bool = False,
        scope: Scope | None = None,
    ) -> None:
        self.client, self.ledger, self.run_id = client, ledger, run_id
        self.chunk = chunk
        self.concurrency = concurrency or max(1, chunk // 8)  # writes in flight: match the client's slots
        self.max_writes, self.deadline = max_writes, deadline
        self.stop = stop or asyncio.Event()
        self.only = only or frozenset(Kind)
        self.progress: Progress = progress or (lambda kind, n: None)
        self.summary = LoadSummary()
        self._uncertain_tries: Counter[tuple[Kind, str]] = Counter()
        self._unreachable: TransportError | None = None
        self._parents: dict[Kind, dict[str, str | None]] = {}
        self.prune = prune
        self.scope = scope  # a canary run: only these entities
        self.ambiguous: dict[str, list[str]] = {}  # entity key -> v2 ids that could each be its lost create

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
        for spec in kinds.KINDS:
            if spec.kind not in self.only:
                continue
            self._adopt_planned(spec)
            await self._creates(spec)
            await self._updates(spec)
        if self.prune and self.scope is None and self._budget() > 0:
            await self._prune()
        if self.scope is None:  # a canary speaks only for what it touched
            self._count_static()
        return self.summary

    async def _prune(self) -> None:
        """What we created for v1 objects deleted since: deleted (meetings: set INACTIVE), children first."""
        for spec in kinds.ROLLBACK_ORDER:
            if spec.kind in self.only:
                pruned = await undo.undo_all(
                    self.client, self.ledger, self.run_id, spec, undo.targets(self.ledger, spec, gone=True), "pruned"
                )
                self.summary.counts[spec.kind]["pruned"] += pruned.counts[spec.kind]["pruned"]
                self.summary.errors += pruned.errors

    def _count_static(self) -> None:
        """Entities this run did not touch still belong in its counts: unchanged, unmappable, conflicts."""
        for kind, actions in self.ledger.action_counts().items():
            if kind not in self.only:
                continue
            tally = self.summary.counts[kind]
            tally["unchanged"] += actions[Action.UNCHANGED]
            tally["unmappable"] += actions[Action.UNMAPPABLE]
            tally["failed"] += actions[Action.CONFLICT]
            parent = kinds.spec(kind).parent
            if parent is not None:
                tally["failed"] += self.ledger.held_back(kind, parent)

    def _keys(self, spec: KindSpec) -> frozenset[str] | None:
        return None if self.scope is None else self.scope[spec.kind]

    def _parent_v2(self, spec: KindSpec, entity: Entity) -> str | None:
        if spec.parent is None:
            return None
        ids = self._parents.get(spec.parent)
        if ids is None or not ids.get(entity.parent_key or ""):  # parents gain v2 ids as the run goes
            ids = self._parents[spec.parent] = self.ledger.v2_ids(spec.parent)
        return ids.get(entity.parent_key or "")

    # ------------------------------------------------------------- adopt
    def _adopt_planned(self, spec: KindSpec) -> None:
        """Objects the plan found identical in v2 join the ledger without a write."""
        keys = self._keys(spec)
        adopted = [
            WriteResult(e.kind, e.key, State.DONE, "adopted", v2_id=e.adopt_v2_id, written=e.desired, origin="adopted")
            for e in self.ledger.entities(spec.kind, states=[State.PENDING], actions=[Action.ADOPT])
            if keys is None or e.key in keys
        ]
        if adopted:
            self.ledger.record_results(self.run_id, adopted)
            self.summary.counts[spec.kind]["adopted"] += len(adopted)

    # ------------------------------------------------------------- creates
    async def _creates(self, spec: KindSpec) -> None:
        def next_batch(limit: int) -> list[tuple[Entity, str | None]]:
            return self.ledger.next_creates(spec.kind, limit, spec.parent, spec.requires, self._keys(spec))

        def complete(chunk: _Chunk) -> list[Entity]:
            settled = [o for o in chunk.outcomes if isinstance(o, WriteResult)]
            if settled:
                self.ledger.record_results(self.run_id, settled)
                self._tally(settled)
            self.progress(spec.kind, len(chunk.jobs))
            return [e for (e, _), o in zip(chunk.jobs, chunk.outcomes, strict=True) if o is UNCERTAIN]

        await self._pipeline(
            spec, next_batch, lambda job: job[0], "intent:create", lambda job: self._create(spec, *job), complete
        )

    async def _pipeline(
        self,
        spec: KindSpec,
        next_batch: Callable[[int], list[Any]],
        entity_of: Callable[[Any], Entity],
        event: str,
        send: Callable[[Any], Awaitable[Any]],
        complete: Callable[[_Chunk], list[Entity]],
    ) -> None:
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
                await self._settle(spec, unsure)

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

    async def _create(self, spec: KindSpec, entity: Entity, parent_v2: str | None) -> WriteResult | _Uncertain:
        body, written = spec.create_request(entity.desired or {})
        try:
            answer = await self.client.v2("POST", spec.collection_path(parent_v2), json=body)
        except (WriteOutcomeUnknown, MalformedResponse):
            return UNCERTAIN
        except TransportError as exc:  # never connected: nothing was applied
            self._unreachable = exc
            return WriteResult(entity.kind, entity.key, State.PENDING, "not-sent", error=str(exc))
        except AuthError:
            raise
        except ApiError as exc:
            if exc.status == 409 and spec.unique_in_v2:
                return await self._adopt_taken(spec, entity, parent_v2, exc)
            self.summary.errors.append(EntityError(entity.kind, entity.key, exc.api_message))
            return WriteResult(entity.kind, entity.key, State.FAILED, "failed", error=f"{exc.status}: {exc.api_message}")
        data = answer.get("data")
        v2_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(v2_id, str) or not v2_id:
            return UNCERTAIN
        return WriteResult(entity.kind, entity.key, State.DONE, "created", v2_id=v2_id, written=written, origin="created")

    async def _adopt_taken(self, spec: KindSpec, entity: Entity, parent_v2: str | None, refusal: ApiError) -> WriteResult:
        """v2 refused a create because its natural key is taken (in a sharded run: another shard just
        created it). Adopt that object when it holds what we want; never create a second one."""
        claimed = self.ledger.known_v2_ids(spec.kind)
        for candidate in await spec.listing(self.client, parent_v2):
            if spec.natural_key(candidate) != entity.natural_key or candidate["id"] in claimed:
                continue
            differ = changes(await spec.whole(self.client, candidate, parent_v2), entity.desired)
            if differ:
                error = (
                    f"{self.client.target.name} already holds a {entity.kind} with the same key that differs at "
                    f"{', '.join(c.path for c in differ[:5])}"
                )
                break
            return WriteResult(
                entity.kind,
                entity.key,
                State.DONE,
                "adopted",
                v2_id=candidate["id"],
                written=entity.desired,
                origin="adopted",
                detail={"after": "409"},
            )
        else:
            error = f"{refusal.status}: {refusal.api_message}"
        self.summary.errors.append(EntityError(entity.kind, entity.key, error))
        return WriteResult(entity.kind, entity.key, State.FAILED, "failed", error=error)

    # ------------------------------------------------------------- reconcile
    async def reconcile_in_flight(self) -> None:
        """Settle what a previous (killed) run left in state `intent`, before any new write."""
        for spec in kinds.KINDS:
            stuck = self.ledger.in_flight(spec.kind)
            if not stuck:
                continue
            updates = [e for e in stuck if e.v2_id]
            if updates:  # PATCH is idempotent: the plan asks for it again if it did not land
                self.ledger.record_results(
                    self.run_id, [WriteResult(e.kind, e.key, State.DONE, "reconciled-update") for e in updates]
                )
            creates = [e for e in stuck if not e.v2_id]
            if creates:
                await self._settle(spec, creates, resumed=True)

    async def _settle(self, spec: KindSpec, entities: list[Entity], resumed: bool = False) -> None:
        self.ambiguous.clear()
        found = await self._lookup(spec, entities)
        results: list[WriteResult] = []
        for entity in entities:
            if entity.key in self.ambiguous:  # stays in flight: settled by a person, never sent again
                ids = self.ambiguous[entity.key]
                reason = (
                    f"a write with a lost answer may have created any of {len(ids)} {self.client.target.name} {spec.label} "
                    f"({', '.join(ids[:3])}); keep the right one and delete the others, then run migrate again"
                )
                self.ledger.conflict(entity.kind, entity.key, reason)
                self.summary.errors.append(EntityError(entity.kind, entity.key, reason))
                results.append(WriteResult(entity.kind, entity.key, State.INTENT, "ambiguous", error=reason))
                continue
            hit = found.get(entity.key)
            if hit is not None:
                v2_id, written = hit
                results.append(
                    WriteResult(
                        entity.kind,
                        entity.key,
                        State.DONE,
                        "adopted",
                        v2_id=v2_id,
                        written=written,
                        origin="created",
                        detail={"reconciled": True, "resumed": resumed},
                    )
                )
                continue
            self._uncertain_tries[(entity.kind, entity.key)] += 1
            if self._uncertain_tries[(entity.kind, entity.key)] >= MAX_UNCERTAIN:
                error = f"{MAX_UNCERTAIN} writes in a row had an unknown outcome and none landed; run migrate again"
                self.summary.errors.append(EntityError(entity.kind, entity.key, error))
                results.append(WriteResult(entity.kind, entity.key, State.FAILED, "failed", error=error))
            else:  # not in v2: it never landed, so it is safe to send again
                results.append(WriteResult(entity.kind, entity.key, State.PENDING, "retry", detail={"resumed": resumed}))
        self.ledger.record_results(self.run_id, results)
        self._tally(results)

    async def _lookup(self, spec: KindSpec, entities: list[Entity]) -> dict[str, tuple[str, dict[str, Any]]]:
        """v1 key -> (v2 id, what v2 holds) for in-flight creates that did land.

        Candidates are v2 objects with the entity's natural key that this ledger does not
        already hold; each is claimed at most once.
        """
        claimed = self.ledger.known_v2_ids(spec.kind) | self.ledger.baseline(spec.kind)  # never someone else's
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        pools: dict[tuple[str | None, str | None], list[dict[str, Any]]] = {}
        for entity in entities:
            parent_v2 = self._parent_v2(spec, entity)
            if spec.parent is not None and not parent_v2:
                continue  # its parent is not in v2: it cannot have been created
            desired = entity.desired or {}
            if spec.lookup is kinds.Lookup.TITLE_SINCE:  # a search per entity: by title, created since its intent
                candidates = await spec.listing(self.client, title=desired.get("title") or "", since=entity.intent_at)
            else:  # one listing per parent (or for the org) serves every entity under it
                pool_key = (parent_v2, None)
                if pool_key not in pools:
                    pools[pool_key] = await spec.listing(self.client, parent_v2)
                candidates = pools[pool_key]
            possible = [
                c
                for c in candidates
                if c["id"] not in claimed
                and spec.natural_key(c) == entity.natural_key
                and spec.matches(desired, c)
                and spec.could_be_ours(c, entity.intent_at)
            ]
            if len(possible) > 1:  # two objects could be the one we created: a person must choose
                self.ambiguous[entity.key] = [c["id"] for c in possible]
            elif possible:
                claimed.add(possible[0]["id"])
                found[entity.key] = (possible[0]["id"], spec.holds_after_reconcile(desired, possible[0]))
        return found

    # ------------------------------------------------------------- updates
    async def _updates(self, spec: KindSpec) -> None:
        tried: set[str] = set()

        def next_batch(limit: int) -> list[Entity]:
            batch = self.ledger.next_updates(spec.kind, limit, tried, self._keys(spec))
            tried.update(e.key for e in batch)
            return batch

        def complete(chunk: _Chunk) -> list[Entity]:
            results: list[WriteResult] = list(chunk.outcomes)
            self.ledger.record_results(self.run_id, results)
            self._tally(results)
            self.progress(spec.kind, sum(1 for r in results if r.event != "status-set"))  # follow-ups are part of a create
            return []

        await self._pipeline(spec, next_batch, lambda e: e, "intent:update", lambda e: self._update(spec, e), complete)

    async def _update(self, spec: KindSpec, entity: Entity) -> WriteResult:
        desired, written = entity.desired or {}, entity.written or {}
        body = spec.patch_body(desired, written)
        follow_up = entity.action is Action.CREATE  # a new object's create-then-PATCH field, not a v1 change
        try:
            await self.client.v2("PATCH", spec.item_path(entity.v2_id or "", self._parent_v2(spec, entity)), json=body)
        except AuthError:
            raise
        except (ApiError, WriteOutcomeUnknown, MalformedResponse) as exc:
            message = exc.api_message if isinstance(exc, ApiError) else str(exc)
            self.summary.errors.append(EntityError(entity.kind, entity.key, message))
            return WriteResult(entity.kind, entity.key, State.FAILED, "failed", error=message)
        # what v2 holds of the fields the plan wants (a field v1 no longer sends cannot be unset by a PATCH)
        held = {k: v for k, v in written.items() if k in desired}
        return WriteResult(
            entity.kind, entity.key, State.DONE, "status-set" if follow_up else "updated", written={**held, **body}
        )

    # ------------------------------------------------------------- counts
    def _tally(self, results: list[WriteResult]) -> None:
        for r in results:
            if r.event in COUNTED_EVENTS:
                self.summary.counts[r.kind][r.event] += 1
