"""`import` (Terraform's import): rebuild ledger rows by matching v1 to what v2 already holds.

For a v2 org migrated by a ledger that is lost. Presets match by name, webhooks by their
natural key, meetings by title plus settings plus participant set, participants by
custom id within their matched meeting. A v1 object with more than one possible v2
counterpart is listed and left out, never guessed. Nothing is written to v2.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from migrator import kinds
from migrator.client import DyteClient
from migrator.kinds import KindSpec, Lookup
from migrator.ledger import Ledger
from migrator.model import Action, Entity, Finding, Kind, changes
from migrator.side_by_side import READS_AT_ONCE, in_order

JsonObject = dict[str, Any]


class Importer:
    def __init__(self, client: DyteClient, ledger: Ledger) -> None:
        self.client, self.ledger = client, ledger
        self.counts: dict[Kind, Counter[str]] = {k: Counter() for k in Kind}
        self.ambiguous: list[Finding] = []

    async def run(self) -> None:
        for spec in kinds.KINDS:
            if spec.parent is None:
                await self._top_level(spec)
            else:
                await self._children(spec, spec.parent)

    def _unmatched(self, spec: KindSpec) -> list[Entity]:
        return list(self.ledger.entities(spec.kind, actions=[Action.CREATE], in_v2=False))

    async def _record(self, spec: KindSpec, entity: Entity, found: JsonObject, parent_v2: str | None = None) -> None:
        """What v2 holds becomes `written`: identical -> unchanged; different -> the next migrate updates it."""
        whole = await spec.whole(self.client, found, parent_v2)
        desired = entity.desired or {}
        written = desired if not changes(whole, desired) else {k: whole.get(k) for k in desired}
        self.ledger.record_imported(entity, found["id"], written)
        self.counts[spec.kind]["imported"] += 1

    def _left_out(self, entity: Entity, candidates: list[JsonObject], why: str) -> None:
        ids = ", ".join(c["id"] for c in candidates[:3])
        self.ambiguous.append(
            Finding(entity.kind, entity.key, None, f"{len(candidates)} {self.client.target.name} objects {why} ({ids})")
        )
        self.counts[entity.kind]["ambiguous"] += 1

    async def _top_level(self, spec: KindSpec) -> None:
        known = self.ledger.known_v2_ids(spec.kind)
        by_key: dict[str | None, list[JsonObject]] = {}
        for item in await spec.listing(self.client):
            if item["id"] not in known:
                by_key.setdefault(spec.natural_key(item), []).append(item)
        for entity in self._unmatched(spec):
            candidates = [c for c in by_key.get(entity.natural_key, []) if spec.matches(entity.desired or {}, c)]
            if spec.lookup is Lookup.TITLE_SINCE and len(candidates) > 1:
                candidates = await self._same_children(entity, candidates)
            if len(candidates) == 1:
                await self._record(spec, entity, candidates[0])
                by_key[entity.natural_key].remove(candidates[0])
            elif candidates:
                self._left_out(entity, candidates, "match it")
            else:
                self.counts[spec.kind]["not_in_v2"] += 1

    async def _same_children(self, entity: Entity, candidates: list[JsonObject]) -> list[JsonObject]:
        """Of several same-title meetings, those whose participants are exactly this meeting's."""
        same: list[JsonObject] = []
        for child in (s for s in kinds.KINDS if s.parent is entity.kind):
            wanted = Counter(e.natural_key for e in self.ledger.entities(child.kind, parent_key=entity.key))
            for candidate in candidates:
                held = Counter(child.natural_key(o) for o in await child.listing(self.client, candidate["id"]))
                if held == wanted:
                    same.append(candidate)
        return same

    async def _children(self, spec: KindSpec, parent: Kind) -> None:
        """Each parent's listing, read side by side, for the parents that have unmatched children."""
        unmatched: dict[str, list[Entity]] = {}
        for entity in self._unmatched(spec):
            unmatched.setdefault(entity.parent_key or "", []).append(entity)
        parents = self.ledger.v2_ids(parent)
        groups = [(key, parents[key], entities) for key, entities in unmatched.items() if parents.get(key)]

        async def listing(group: tuple[str, str | None, list[Entity]]) -> list[JsonObject]:
            return await spec.listing(self.client, group[1])

        async for (parent_key, parent_v2, entities), listed in in_order(groups, listing, READS_AT_ONCE):
            known = self.ledger.known_v2_ids(spec.kind, parent_key)
            by_key: dict[str | None, list[JsonObject]] = {}
            for item in listed:
                if item["id"] not in known:
                    by_key.setdefault(spec.natural_key(item), []).append(item)
            for entity in entities:
                candidates = by_key.get(entity.natural_key, [])
                if len(candidates) == 1:
                    await self._record(spec, entity, candidates[0], parent_v2)
                elif candidates:
                    self._left_out(entity, candidates, f"in its {parent} share its key")
                else:
                    self.counts[spec.kind]["not_in_v2"] += 1
