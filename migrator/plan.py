"""Plan: map the snapshot, compare with the ledger and v2, and decide per entity.

Actions: create, update (PATCH what changed), unchanged, adopt (an identical object
already exists in v2 under the same natural key), conflict (v2 holds something
different that we did not write), unmappable (with the reason), reconcile (a write
whose outcome is unknown; the loader settles it before writing anything else).

The plan reads v2 only where the answer can change a decision: the listings of kinds
whose natural key is unique in v2 (name collisions), the children of parents that
already exist in v2, and the current v2 object of each planned update. It writes
nothing to v2. A saved plan (`SavedPlan`) adds fingerprints of its inputs, so `migrate
--plan` can apply exactly what a reviewer approved, or refuse when the world moved.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from migrator import __version__, kinds
from migrator.client import DyteClient
from migrator.errors import ConfigError
from migrator.kinds import KindSpec, Lookup
from migrator.ledger import HeldInV2, Ledger, content_hash
from migrator.mapping import Mapped, MappingSet, PresetCatalog, PresetChoice, Unmappable
from migrator.model import (
    Action,
    Entity,
    Finding,
    Kind,
    NoteTally,
    PlanSummary,
    Recording,
    Relocation,
    State,
    changes,
)
from migrator.settings import Route
from migrator.side_by_side import in_order, together

EXAMPLES_PER_NOTE = 3
SAVED_PLAN_VERSION = 1
UPDATE_READS = 256  # current v2 objects of planned updates read side by side (the client bounds and paces them)


class Planner:
    def __init__(
        self, ledger: Ledger, mappings: MappingSet, client: DyteClient | None, *, refresh: bool = True, fingerprint: bool = False
    ) -> None:
        self.ledger, self.mappings, self.client = ledger, mappings, client
        self.refresh = refresh  # read the target's listings for objects deleted there (drift)
        self.fingerprint = fingerprint  # hash what v2 answered, for a saved plan (costs a dump of every listing)
        self.summary = PlanSummary()
        self._tallies: dict[tuple[Kind, str, str | None, str | None, str], NoteTally] = {}
        self._v2_read = hashlib.sha256()  # every v2 object a decision rests on, in reading order
        self._listings: dict[tuple[Kind, str | None], list[dict[str, Any]]] = {}
        self._name_clashes: dict[str, set[str]] = {}  # v2 preset name -> the choices sharing it
        self._examples_kept: Counter[str] = Counter()  # notes signature -> entities kept as its examples

    # ------------------------------------------------------------------ notes
    def _tally(self, kind: Kind, key: str, notes: list[dict[str, Any]], keep_per_entity: bool, entities: int = 1) -> None:
        for note in notes:
            tk = (kind, note["kind"], note["source"], note["target"], note["reason"])
            tally = self._tallies.get(tk)
            if tally is None:
                tally = self._tallies[tk] = NoteTally(kind, *tk[1:])
            tally.count += entities
            if len(tally.examples) < EXAMPLES_PER_NOTE and (note["before"] is not None or note["after"] is not None):
                tally.examples.append({"key": key, "before": note["before"], "after": note["after"]})
        if keep_per_entity and notes:
            self.summary.entity_notes[(kind, key)] = notes

    def _mapped(self, entity: Entity, mapped: Mapped, keep_notes: bool = True) -> Entity:
        notes = [
            {"kind": n.kind, "source": n.source, "target": n.target, "before": n.before, "after": n.after, "reason": n.reason}
            for n in mapped.notes
        ]
        if notes and entity.inputs is not None:  # a later plan that does not map it again still reports them
            if keep_notes:
                entity.extra["notes"] = notes
            else:  # many entities share a few lists of notes: keep the list once, with three examples
                sig = entity.extra["notes_sig"] = _signature(notes)
                if self._examples_kept[sig] < EXAMPLES_PER_NOTE:
                    self._examples_kept[sig] += 1
                    self.ledger.record_note_set(sig, entity.key, notes, EXAMPLES_PER_NOTE)
        self._tally(entity.kind, entity.key, notes, keep_per_entity=keep_notes)
        entity.desired = mapped.payload
        entity.natural_key = kinds.spec(entity.kind).natural_key(mapped.payload)
        return entity

    def _refused(self, entity: Entity, exc: Unmappable) -> Entity | None:
        """Unmappable, with the reason and what resolves it; but an entity already migrated stays as
        it is (None: not re-planned), listed in `summary.kept`, never silently dropped from v2's map."""
        migrated = self.ledger.entity(entity.kind, entity.key)
        if migrated is not None and migrated.v2_id is not None and migrated.state is State.DONE:
            self.summary.kept.append(Finding(entity.kind, entity.key, migrated.v2_id, exc.reason))
            return None
        entity.state, entity.action, entity.reason = State.UNMAPPABLE, Action.UNMAPPABLE, exc.reason
        if exc.resolve:
            entity.extra["resolve"] = exc.resolve
        return entity

    # ------------------------------------------------------------------ map
    def _meetings(self, context: str) -> Iterator[Entity]:
        for meeting, inputs in self.ledger.to_map(Kind.MEETING, context):
            mid = str(meeting["id"])
            entity = Entity(
                Kind.MEETING,
                mid,
                v1_id=mid,
                extra={"roomName": meeting.get("roomName"), "title": meeting.get("title")},
                inputs=inputs,
            )
            try:
                yield self._mapped(entity, self.mappings.map_meeting(meeting))
            except Unmappable as exc:
                yield from _present(self._refused(entity, exc))

    def _participants(
        self, meetings: dict[str, dict[str, Any]], catalog: PresetCatalog, choices: dict[str, PresetChoice], context: str
    ) -> Iterator[Entity]:
        for p, inputs in self.ledger.to_map(Kind.PARTICIPANT, context, Kind.MEETING):
            pid, mid = str(p["id"]), str(p.get("meetingId"))
            entity = Entity(
                Kind.PARTICIPANT,
                pid,
                v1_id=pid,
                parent_key=mid,
                extra={
                    "meetingId": mid,
                    "clientSpecificId": p.get("clientSpecificId"),
                    "email": p.get("email"),
                    "name": p.get("name"),
                },
                inputs=inputs,
            )
            meeting = meetings.get(mid)
            try:
                if meeting is None:
                    raise Unmappable(f"its {self.mappings.route.source_title} meeting {mid} is not in the snapshot")
                choice = self.mappings.resolve_preset(p, meeting, catalog)
                mapped = self.mappings.map_participant(p, choice.v2_name)
            except Unmappable as exc:
                yield from _present(self._refused(entity, exc))
                continue
            self._needs(choice, choices, 1)
            entity.extra["preset_source"] = choice.source
            entity.extra["choice"] = dataclasses.asdict(choice)  # what a later plan counts without resolving again
            yield self._mapped(entity, mapped, keep_notes=False)

    def _needs(self, choice: PresetChoice, choices: dict[str, PresetChoice], participants: int) -> None:
        """Participants need this preset choice: collect it, count them, and catch generated-name clashes."""
        first = choices.setdefault(choice.v2_name, choice)
        if (first.preset, first.role, first.waiting_room) != (choice.preset, choice.role, choice.waiting_room):
            self._name_clashes.setdefault(choice.v2_name, set()).update({_described(first), _described(choice)})
        entry = self.summary.relocation.get(choice.v2_name)
        if entry is None:
            entry = self.summary.relocation[choice.v2_name] = Relocation(
                choice.v2_name, choice.preset, choice.role, bool(choice.waiting_room)
            )
        entry.participants += participants
        entry.by_source[choice.source] += participants
        entry.reasons[choice.reason] += participants

    def _settled(self, kind: Kind, context: str, choices: dict[str, PresetChoice] | None = None) -> None:
        """Entities not mapped again still count: their notes, and (participants) the presets they need."""
        parent = kinds.spec(kind).parent
        if kind is Kind.MEETING:  # a few, each with its own notes in the report
            for key, notes in self.ledger.settled_notes(kind, context, parent):
                self._tally(kind, key, notes, keep_per_entity=True)
            return
        for choice, sig, entities in self.ledger.settled(kind, context, parent):
            if sig is not None:
                examples = self.ledger.note_set(sig)
                self._tally(kind, examples[0][0], examples[0][1], keep_per_entity=False, entities=entities)
                for key, notes in examples[1:]:
                    self._tally(kind, key, notes, keep_per_entity=False, entities=0)
            if choices is not None:
                assert choice is not None, "a v1 participant's preset choice is recorded with its inputs"
                self._needs(PresetChoice(**json.loads(choice)), choices, entities)

    def _presets(self, choices: dict[str, PresetChoice], catalog: PresetCatalog, context: str) -> Iterator[Entity]:
        """The v2 presets the participants need; one written from the same choice, catalog and
        mappings is kept as it is (its notes still count)."""
        written = self.ledger.written_as_planned(Kind.PRESET)
        for name, choice in choices.items():
            what = json.dumps([choice.preset, choice.role, choice.waiting_room])
            inputs = f"{context}:{hashlib.sha256(what.encode()).hexdigest()[:16]}"
            if name in written and written[name][0] == inputs:
                self._tally(Kind.PRESET, name, written[name][1], keep_per_entity=True)
                continue
            entity = Entity(
                Kind.PRESET,
                name,
                extra={"preset": choice.preset, "role": choice.role, "waiting_room": choice.waiting_room},
                inputs=inputs,
            )
            try:
                yield self._mapped(entity, self.mappings.map_preset(choice, catalog))
            except Unmappable as exc:
                entity.natural_key = name
                yield from _present(self._refused(entity, exc))

    def _participants_with_their_presets(self, meetings: dict[str, dict[str, Any]], context: str) -> Iterator[Entity]:
        """A v2 source's participants: each names its own preset, so nothing is resolved."""
        for p, inputs in self.ledger.to_map(Kind.PARTICIPANT, context, Kind.MEETING):
            pid, mid = str(p["id"]), str(p.get("meetingId"))
            entity = Entity(
                Kind.PARTICIPANT, pid, v1_id=pid, parent_key=mid, extra={"meetingId": mid, "name": p.get("name")}, inputs=inputs
            )
            try:
                if mid not in meetings:
                    raise Unmappable(f"its {self.mappings.route.source_title} meeting {mid} is not in the snapshot")
                yield self._mapped(entity, self.mappings.map_participant(p), keep_notes=False)
            except Unmappable as exc:
                yield from _present(self._refused(entity, exc))

    def _whole_presets(self, names: set[str]) -> Iterator[Entity]:
        """A v2 source's presets, keyed by name as in the target; `names` collects the keys."""
        for preset in self.ledger.snapshot(Kind.PRESET.value):
            name = str(preset.get("name") or preset["id"])
            names.add(name)
            entity = Entity(Kind.PRESET, name, v1_id=str(preset["id"]), extra={"preset": name})
            try:
                yield self._mapped(entity, self.mappings.map_whole_preset(preset))
            except Unmappable as exc:
                entity.natural_key = name
                yield from _present(self._refused(entity, exc))

    def _webhooks(self) -> Iterator[Entity]:
        for hook in self.ledger.snapshot(Kind.WEBHOOK.value):
            entity = Entity(Kind.WEBHOOK, str(hook["id"]), v1_id=str(hook["id"]))
            try:
                yield self._mapped(entity, self.mappings.map_webhook(hook))
            except Unmappable as exc:
                yield from _present(self._refused(entity, exc))

    def _context(self, *catalog_kinds: str) -> str:
        """Everything besides an entity's own v1 object (and its parent's) that its mapping depends on;
        the route too, since its notes and reasons name the source and target."""
        parts = [
            self.mappings.fingerprint,
            __version__,
            str(self.mappings.route),
            self.ledger.snapshot_fingerprint(catalog_kinds) if catalog_kinds else "",
        ]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]

    def map_all(self) -> None:
        """Map what changed since it was last written; entities written from unchanged inputs are kept as they are."""
        meetings = {m["id"]: m for m in self.ledger.snapshot(Kind.MEETING.value)}
        context = self._context()
        self._settled(Kind.MEETING, context)
        self.ledger.record_plan(self._meetings(context))
        presets: set[str] = set()
        if self.mappings.resolves_presets:  # v1: presets and their variants follow from the participants
            catalog = PresetCatalog(self.ledger.snapshot("preset"), self.ledger.snapshot("role"))
            choices: dict[str, PresetChoice] = {c.v2_name: c for c in self.mappings.base_presets(catalog)}
            with_catalog = self._context("preset", "role")
            self._settled(Kind.PARTICIPANT, with_catalog, choices)
            self.ledger.record_plan(self._participants(meetings, catalog, choices, with_catalog))
            self.ledger.record_plan(self._presets(choices, catalog, with_catalog))
            presets.update(choices)
        else:  # a v2 source: participants name their presets, presets are whole objects
            self._settled(Kind.PARTICIPANT, context)
            self.ledger.record_plan(self._participants_with_their_presets(meetings, context))
            self.ledger.record_plan(self._whole_presets(presets))
        self.ledger.record_plan(self._webhooks())
        for spec in kinds.KINDS:  # a variant preset no participant needs any more leaves the plan too
            self.ledger.forget_missing(spec.kind, None if spec.keyed_by_v1 else presets)
            if spec.reattach:
                self.summary.reattached[spec.kind] = self.ledger.inherit_by_natural_key(spec.kind)
        for spec in kinds.KINDS:
            for required, field in spec.requires:
                self.ledger.cascade_unmappable(spec.kind, required, field, self.mappings.route.target_title)
        self.summary.notes = sorted(self._tallies.values(), key=lambda t: (t.kind.value, t.note, t.source or ""))
        self.summary.recordings = self._recordings(meetings)

    def _recordings(self, meetings: dict[str, dict[str, Any]]) -> list[Recording]:
        v2_ids = self.ledger.v2_ids(Kind.MEETING)
        return [
            Recording(
                v1_meeting=r.get("meetingId"),
                room_name=r.get("roomName"),
                title=(meetings.get(str(r.get("meetingId"))) or {}).get("title"),
                v2_meeting=v2_ids.get(str(r.get("meetingId"))),
                recording_id=r.get("id"),
                status=r.get("status"),
                download_url=r.get("downloadUrl"),
                download_url_expiry=r.get("downloadUrlExpiry"),
                file=r.get("outputFileName"),
            )
            for r in self.ledger.snapshot("recording")
        ]

    # ------------------------------------------------------------------ compare with v2
    def _read(self, value: Any) -> Any:
        """Note a v2 answer a decision rests on (for a saved plan's fingerprint); return it."""
        if self.fingerprint:
            self._v2_read.update(json.dumps(value, sort_keys=True, default=str).encode())
        return value

    async def _listing(self, spec: KindSpec, parent_v2: str | None = None) -> list[dict[str, Any]]:
        """A v2 listing, read once per plan (drift, baseline, collisions share it) and fingerprinted."""
        if (spec.kind, parent_v2) not in self._listings:
            await self._prefetch([(spec, parent_v2)])
        return self._listings[(spec.kind, parent_v2)]

    async def _prefetch(self, wanted: list[tuple[KindSpec, str | None]]) -> None:
        """Read these listings (a kind, of one parent or none) side by side (the client bounds and
        paces the calls): one after another would wait out every round trip in turn."""
        assert self.client is not None
        client = self.client
        missing = sorted(
            {(spec.kind, p): spec for spec, p in wanted if (spec.kind, p) not in self._listings}.items(),
            key=lambda item: (item[0][0].value, str(item[0][1])),
        )
        answers = await together(*(spec.listing(client, p) for (_, p), spec in missing))
        for (key, _), listing in zip(missing, answers, strict=True):  # fingerprinted in a fixed order
            self._listings[key] = self._read(sorted(listing, key=lambda o: str(o.get("id"))))

    async def compare_with_v2(self) -> None:
        """Read v2 where it can change a decision: drift, objects that are not ours, collisions, updates."""
        if self.client is None:
            return
        await self._prefetch([(spec, None) for spec in kinds.KINDS if spec.parent is None])  # drift and baseline read them all
        lost = 0
        for spec in kinds.KINDS if self.refresh else ():  # dependency order: a lost parent loses its children
            lost += await self._drift(spec)
        if lost:
            self.ledger.decide()
        first_run = not self.ledger.knows_target()
        for spec in kinds.KINDS:
            await self._baseline(spec, first_run)
        for spec in kinds.KINDS:
            if spec.lookup is Lookup.ORG:
                await self._collisions_in_org(spec)
            elif spec.lookup is Lookup.PER_PARENT and spec.parent is not None:
                await self._collisions_per_parent(spec, spec.parent)
        await self._check_updates()
        source, target = self.mappings.route.source_title, self.mappings.route.target_title
        for spec in kinds.KINDS:
            for entity in self.ledger.entities(spec.kind, actions=[Action.GONE], in_v2=True):
                if entity.origin == "created":
                    self.summary.deleted_in_v1.append(
                        Finding(
                            entity.kind,
                            entity.key,
                            entity.v2_id,
                            f"deleted in {source}, kept in {target} (migrate --prune removes it)",
                        )
                    )

    async def _drift(self, spec: KindSpec) -> int:
        """What the ledger says exists in v2 but a listing no longer holds is planned again (recreate)."""
        grouped: dict[str | None, list[HeldInV2]] = {}
        for held in self.ledger.held_in_v2(spec.kind):
            grouped.setdefault(held.parent_key if spec.parent else None, []).append(held)
        parents = self.ledger.v2_ids(spec.parent) if spec.parent is not None else {}
        if spec.parent is not None:
            await self._prefetch([(spec, v2) for key in grouped if (v2 := parents.get(key or ""))])
        lost: list[HeldInV2] = []
        for parent_key, group in grouped.items():
            parent_v2 = parents.get(parent_key or "") if spec.parent is not None else None
            if spec.parent is not None and not parent_v2:
                lost += group  # its parent is gone from v2, and took it along
                continue
            listed = {o["id"] for o in await self._listing(spec, parent_v2)}
            lost += [e for e in group if e.v2_id not in listed]
        if lost:
            why = f"deleted in {self.mappings.route.target_title} after migration; created again"
            self.ledger.lost_in_v2(spec.kind, [e.key for e in lost], why)
            self.summary.recreated += [Finding(spec.kind, e.key, e.v2_id, why) for e in lost if not e.gone]
        return len(lost)

    async def _baseline(self, spec: KindSpec, first_run: bool) -> None:
        """Remember v2 objects that are not ours (reconcile never adopts them); on a first run, say which match v1."""
        if spec.parent is not None:
            return  # children are read per parent: their collisions below record what is not ours
        listing = await self._listing(spec)
        known = self.ledger.known_v2_ids(spec.kind)
        foreign = [o for o in listing if o["id"] not in known]
        if not self.ledger.has_in_flight(spec.kind):  # an in-flight write may have created one of them
            self.ledger.record_baseline(spec.kind, [o["id"] for o in foreign])
        if first_run and foreign:
            keys = {spec.natural_key(o) for o in foreign}
            why = f"already in {self.mappings.route.target_title}, not known to this ledger"
            self.summary.existing += [
                Finding(e.kind, e.key, None, why)
                for e in self.ledger.entities(spec.kind, actions=[Action.CREATE])
                if e.natural_key in keys
            ]

    async def _adopt_or_conflict(self, entity: Entity, actual: dict[str, Any], v2_id: str) -> None:
        found = changes(actual, entity.desired)
        if found:
            target = self.mappings.route.target_title
            reason = (
                f"{target} already holds a {entity.kind} with the same key that differs at {', '.join(c.path for c in found[:5])}"
            )
            self.ledger.conflict(entity.kind, entity.key, reason)
            self.summary.conflicts.append(Finding(entity.kind, entity.key, v2_id, reason, found))
        else:
            self.ledger.adopt(entity.kind, entity.key, v2_id)

    async def _collisions_in_org(self, spec: KindSpec) -> None:
        """Creates whose natural key already names a v2 object we did not write: adopt or conflict."""
        assert self.client is not None
        creates = list(self.ledger.entities(spec.kind, actions=[Action.CREATE]))
        if not creates:
            return
        listing = await self._listing(spec)
        existing: dict[str, dict[str, Any]] = {}
        for item in listing:
            existing.setdefault(spec.natural_key(item) or "", item)
        known = self.ledger.known_v2_ids(spec.kind)
        for entity in creates:
            found = existing.get(entity.natural_key or "")
            if found and found["id"] not in known and entity.desired is not None:
                await self._adopt_or_conflict(entity, self._read(await spec.whole(self.client, found)), found["id"])

    async def _collisions_per_parent(self, spec: KindSpec, parent: Kind) -> None:
        """New children of parents that already exist in v2 may already be there."""
        assert self.client is not None
        settled = not self.ledger.has_in_flight(spec.kind)  # once per kind, not per parent
        with_new = self.ledger.parents_with_new_children(spec.kind, parent)
        await self._prefetch([(spec, parent_v2) for _, parent_v2 in with_new])
        for parent_key, parent_v2 in with_new:
            known = self.ledger.known_v2_ids(spec.kind, parent_key)
            by_key: dict[str, list[dict[str, Any]]] = {}
            foreign = [item for item in await self._listing(spec, parent_v2) if item["id"] not in known]
            if settled:
                self.ledger.record_baseline(spec.kind, [item["id"] for item in foreign])
            for item in foreign:
                by_key.setdefault(spec.natural_key(item) or "", []).append(item)
            for entity in self.ledger.entities(spec.kind, parent_key=parent_key, actions=[Action.CREATE]):
                candidates = by_key.get(entity.natural_key or "")
                if candidates and entity.desired is not None:
                    found = candidates.pop(0)
                    await self._adopt_or_conflict(entity, found, found["id"])

    async def _check_updates(self) -> None:
        """Read the current v2 object of each planned update (side by side, in chunks, in plan order)."""
        assert self.client is not None
        client = self.client
        parents: dict[Kind, dict[str, str | None]] = {}

        async def current(entity: Entity) -> dict[str, Any] | None:
            spec = kinds.spec(entity.kind)
            parent_v2 = None
            if spec.parent is not None:
                parent_v2 = parents.setdefault(spec.parent, self.ledger.v2_ids(spec.parent)).get(entity.parent_key or "")
            return await spec.fetch(client, entity.v2_id or "", parent_v2)

        async for entity, actual in in_order(list(self.ledger.entities(actions=[Action.UPDATE])), current, UPDATE_READS):
            self._judge_update(entity, self._read(actual))

    def _judge_update(self, entity: Entity, actual: dict[str, Any] | None) -> None:
        """An update goes ahead only if v2 still holds what we wrote and the change is allowed."""
        spec = kinds.spec(entity.kind)
        target = self.mappings.route.target_title
        if actual is None:
            reason = f"the {target} object we created is gone"
            self.ledger.conflict(entity.kind, entity.key, reason)
            self.summary.conflicts.append(Finding(entity.kind, entity.key, entity.v2_id, reason, changes(None, entity.desired)))
            return
        changed_by_others = changes(actual, entity.written or {})
        immutable = spec.immutable_changes(entity.desired or {}, entity.written or {})
        wanted = changes(actual, entity.desired)
        if changed_by_others or immutable:
            reason = (
                f"{target} changed since we wrote it at {', '.join(c.path for c in changed_by_others[:5])}"
                if changed_by_others
                else f"{target} cannot change {', '.join(immutable)} of an existing {entity.kind}"
            )
            self.ledger.conflict(entity.kind, entity.key, reason)
            self.summary.conflicts.append(Finding(entity.kind, entity.key, entity.v2_id, reason, wanted))
        else:
            self.summary.updates.append(Finding(entity.kind, entity.key, entity.v2_id, "update", wanted))

    def _refuse_name_clashes(self) -> None:
        """A v2 preset name generated for two different choices is a conflict, never a silent merge."""
        for name, shared_by in sorted(self._name_clashes.items()):
            why = f"the {self.mappings.route.target_title} preset name {name!r} is generated for {' and '.join(sorted(shared_by))}; fix variant_names"
            self.summary.warnings.append(why)
            self.summary.conflicts.append(Finding(Kind.PRESET, name, None, why))
            self.ledger.conflict(Kind.PRESET, name, why)
            for spec in kinds.KINDS:
                for required, field in spec.requires:
                    if required is Kind.PRESET:
                        self.ledger.conflict_requiring(spec.kind, field, name, why)

    # ------------------------------------------------------------------ run
    async def run(self) -> PlanSummary:
        self.map_all()
        self.ledger.decide()
        await self.compare_with_v2()
        self._refuse_name_clashes()  # last: a re-decision after drift repair must not undo these conflicts
        self.summary.counts = self.ledger.action_counts()
        return self.summary

    def v2_fingerprint(self) -> str:
        return self._v2_read.hexdigest()[:32]


def _described(choice: PresetChoice) -> str:
    return f"preset {choice.preset!r} with role {choice.role!r}" + (" in a waiting-room meeting" if choice.waiting_room else "")


def _signature(notes: list[dict[str, Any]]) -> str:
    """Names a list of notes by what they say (not by the values they quote)."""
    said = [(n["kind"], n["source"], n["target"], n["reason"]) for n in notes]
    return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:16]


def _present(entity: Entity | None) -> Iterator[Entity]:
    if entity is not None:
        yield entity


# ---------------------------------------------------------------------- saved plans
@dataclass(frozen=True)
class Fingerprints:
    """What a plan was made from: a change in any of them makes a saved plan stale."""

    v1_snapshot: str
    v2_state: str
    mappings: str
    tool_version: str

    def as_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)

    def stale(self, now: Fingerprints, route: Route) -> list[str]:
        """Why a plan made from these is stale now, naming the route's own source and target."""
        names = {
            "v1_snapshot": f"{route.source_title} changed",
            "v2_state": f"{route.target_title} changed",
            "mappings": "the mappings changed",
            "tool_version": "the tool version changed",
        }
        return [why for field, why in names.items() if getattr(self, field) != getattr(now, field)]


def planned_actions(ledger: Ledger) -> list[dict[str, str]]:
    """Each entity's action and a hash of the body it wants: what a saved plan promises to do."""
    return [
        {"kind": e.kind.value, "key": e.key, "action": (e.action or Action.CREATE).value, "desired": content_hash(e.desired)}
        for e in ledger.entities()
    ]


@dataclass(frozen=True)
class SavedPlan:
    path: Path
    fingerprints: Fingerprints
    actions: list[dict[str, str]]

    @classmethod
    def load(cls, path: Path) -> SavedPlan:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            saved = document["saved_plan"]
            if saved.get("version") != SAVED_PLAN_VERSION:
                raise ConfigError(f"saved plan {path} has version {saved.get('version')!r}; this tool reads {SAVED_PLAN_VERSION}")
            return cls(Path(path), Fingerprints(**saved["fingerprints"]), list(saved["actions"]))
        except FileNotFoundError:
            raise ConfigError(f"saved plan {path} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError, AttributeError):
            raise ConfigError(f"{path} is not a saved plan (make one with `dyte-migrate plan --out FILE`)") from None

    def check(self, now: Fingerprints, actions: list[dict[str, str]], route: Route) -> None:
        """Refuse (exit 2) unless the world is as it was when the plan was made."""
        reasons = self.fingerprints.stale(now, route)
        if not reasons and actions != self.actions:
            reasons = ["the planned actions differ"]
        if reasons:
            raise ConfigError(
                f"saved plan {self.path} is stale: {', '.join(reasons)} since it was made; run `plan --out` again and review it"
            )
