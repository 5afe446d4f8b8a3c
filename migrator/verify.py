"""Verify: read v2 and check it holds exactly what the mappings say it should.

The caller refreshes the snapshot from v1 and re-maps it first, so `desired` in the
ledger is what the current v1 org maps to. Every v1 object must then have exactly one v2
counterpart holding that payload; children are also checked for duplicates (by natural
key within their parent) and for the objects they require (a participant's preset).
"""

from __future__ import annotations

from collections import Counter

from migrator import kinds
from migrator.client import DyteClient
from migrator.kinds import KindSpec
from migrator.ledger import Ledger
from migrator.model import Entity, Kind, Mismatch, State, VerifySummary, changes

JsonObject = dict[str, object]


class Verifier:
    def __init__(self, client: DyteClient, ledger: Ledger) -> None:
        self.client, self.ledger = client, ledger
        self.summary = VerifySummary()
        self._in_v2: dict[Kind, set[str]] = {}  # keys of entities whose v2 object was found

    def _compare(self, entity: Entity, actual: JsonObject | None) -> None:
        self.summary.checked[entity.kind] += 1
        if entity.state is State.UNMAPPABLE:
            self.summary.add(entity, f"unmappable, so not in v2: {entity.reason or 'no reason recorded'}")
        elif not entity.v2_id:
            self.summary.add(entity, "no v2 counterpart (not migrated yet)")
        elif actual is None:
            self.summary.add(entity, "its v2 counterpart is missing")
        else:
            self._in_v2.setdefault(entity.kind, set()).add(entity.key)
            found = changes(actual, entity.desired or {})
            if found:
                self.summary.add(entity, f"v2 differs at {', '.join(c.path for c in found[:5])}", found[:20])

    async def run(self) -> VerifySummary:
        for spec in kinds.KINDS:
            if spec.parent is None:
                await self._top_level(spec)
            else:
                await self._children(spec, spec.parent)
        return self.summary

    async def _top_level(self, spec: KindSpec) -> None:
        listed = {o["id"]: o for o in await spec.listing(self.client)}
        for entity in self.ledger.entities(spec.kind):
            actual = listed.get(entity.v2_id or "")
            if actual is not None:
                actual = await spec.whole(self.client, actual)
            self._compare(entity, actual)

    async def _children(self, spec: KindSpec, parent: Kind) -> None:
        parents = self.ledger.v2_ids(parent)
        by_parent: dict[str, list[Entity]] = {}
        for entity in self.ledger.entities(spec.kind):
            by_parent.setdefault(entity.parent_key or "", []).append(entity)
        for parent_key, group in by_parent.items():
            parent_v2 = parents.get(parent_key)
            actual = await spec.listing(self.client, parent_v2) if parent_v2 else []
            by_id = {o["id"]: o for o in actual}
            held = Counter(spec.natural_key(o) for o in actual)
            wanted = Counter(e.natural_key for e in group if e.state is not State.UNMAPPABLE)
            for entity in group:
                self._compare(entity, by_id.get(entity.v2_id or ""))
                for required, field in spec.requires:
                    name = (entity.desired or {}).get(field)
                    if entity.v2_id and name and name not in self._in_v2.get(required, set()):
                        self.summary.add(entity, f"its {required} {name!r} does not exist in v2")
            for natural_key, n in held.items():
                if n > wanted.get(natural_key, 0):
                    self.summary.mismatches.append(Mismatch(
                        spec.kind, str(natural_key), None,
                        f"v2 {parent} {parent_v2} holds {n} {spec.label} with key {natural_key!r}, "
                        f"v1 has {wanted.get(natural_key, 0)} (duplicate)"))
