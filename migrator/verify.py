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
from migrator.model import Action, Entity, Kind, Mismatch, State, VerifySummary, changes
from migrator.side_by_side import READS_AT_ONCE, in_order

JsonObject = dict[str, object]


class Verifier:
    def __init__(self, client: DyteClient, ledger: Ledger) -> None:
        self.client, self.ledger = client, ledger
        self.summary = VerifySummary()
        self._in_v2: dict[Kind, set[str]] = {}  # keys of entities whose v2 object was found

    def _compare(self, entity: Entity, actual: JsonObject | None) -> None:
        self.summary.checked[entity.kind] += 1
        target = self.client.target.name
        if entity.state is State.UNMAPPABLE:
            self.summary.add(entity, f"unmappable, so not in {target}: {entity.reason or 'no reason recorded'}")
        elif not entity.v2_id:
            self.summary.add(entity, f"no {target} counterpart (not migrated yet)")
        elif actual is None:
            self.summary.add(entity, f"its {target} counterpart is missing")
        else:
            self._in_v2.setdefault(entity.kind, set()).add(entity.key)
            found = changes(actual, entity.desired or {})
            if found:
                self.summary.add(entity, f"{target} differs at {', '.join(c.path for c in found[:5])}", found[:20])

    async def run(self) -> VerifySummary:
        for spec in kinds.KINDS:
            if spec.parent is None:
                await self._top_level(spec)
            else:
                await self._children(spec, spec.parent)
        return self.summary

    def _deleted_in_v1(self, spec: KindSpec, held: set[str], parent_key: str | None = None) -> Counter[str | None]:
        """Our objects whose v1 original is gone: named as such, not as duplicates. Returns their natural keys."""
        keys: Counter[str | None] = Counter()
        for entity in self.ledger.entities(spec.kind, actions=[Action.GONE], in_v2=True):
            if entity.v2_id in held and (parent_key is None or entity.parent_key == parent_key):
                keys[entity.natural_key] += 1
                self.summary.add(
                    entity,
                    f"deleted in {self.client.source.name}, still in {self.client.target.name} (migrate --prune removes it)",
                )
        return keys

    def _not_ours(self, spec: KindSpec, found: list[JsonObject], wanted: Counter[str | None], where: str) -> None:
        """v2 objects with a v1 natural key that the ledger does not hold: duplicates or someone else's."""
        held = Counter(spec.natural_key(o) for o in found)
        for natural_key, n in held.items():
            if n > wanted.get(natural_key, 0):
                self.summary.mismatches.append(
                    Mismatch(
                        spec.kind,
                        str(natural_key),
                        None,
                        f"{where} holds {n} {spec.label} with key {natural_key!r} and this ledger knows {wanted.get(natural_key, 0)}: "
                        "a duplicate or someone else's object (not known to this ledger)",
                    )
                )

    async def _top_level(self, spec: KindSpec) -> None:
        listed = {o["id"]: o for o in await spec.listing(self.client)}
        expected = list(self.ledger.entities(spec.kind))

        async def whole(entity: Entity) -> kinds.JsonObject | None:
            actual = listed.get(entity.v2_id or "")
            return await spec.whole(self.client, actual) if actual is not None else None

        async for entity, actual in in_order(expected, whole, READS_AT_ONCE):
            self._compare(entity, actual)
        ours = Counter(e.natural_key for e in expected if e.v2_id in listed)
        ours.update(self._deleted_in_v1(spec, set(listed)))
        v1_keys = {e.natural_key for e in expected}
        self._not_ours(spec, [o for o in listed.values() if spec.natural_key(o) in v1_keys], ours, self.client.target.name)

    async def _children(self, spec: KindSpec, parent: Kind) -> None:
        parents = self.ledger.v2_ids(parent)
        by_parent: dict[str, list[Entity]] = {}
        for entity in self.ledger.entities(spec.kind):
            by_parent.setdefault(entity.parent_key or "", []).append(entity)

        async def listing(group: tuple[str, list[Entity]]) -> list[kinds.JsonObject]:
            parent_v2 = parents.get(group[0])
            return await spec.listing(self.client, parent_v2) if parent_v2 else []

        async for (parent_key, group), actual in in_order(list(by_parent.items()), listing, READS_AT_ONCE):
            parent_v2 = parents.get(parent_key)
            by_id = {o["id"]: o for o in actual}
            wanted = Counter(e.natural_key for e in group if e.state is not State.UNMAPPABLE)
            wanted.update(self._deleted_in_v1(spec, set(by_id), parent_key))
            for entity in group:
                self._compare(entity, by_id.get(entity.v2_id or ""))
                for required, field in spec.requires:
                    name = (entity.desired or {}).get(field)
                    if entity.v2_id and name and name not in self._in_v2.get(required, set()):
                        self.summary.add(entity, f"its {required} {name!r} does not exist in {self.client.target.name}")
            self._not_ours(spec, actual, wanted, f"{self.client.target.name} {parent} {parent_v2}")
