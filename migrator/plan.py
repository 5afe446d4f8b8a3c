"""Plan: map the snapshot, compare with the ledger and v2, and decide per entity.

Actions: create, update (PATCH what changed), unchanged, adopt (an identical object
already exists in v2 under the same natural key), conflict (v2 holds something
different that we did not write), unmappable (with the reason), reconcile (a write
whose outcome is unknown; the loader settles it before writing anything else).

The plan reads v2 only where the answer can change a decision: the preset and webhook
listings (name collisions), participant listings of meetings that already exist in v2,
and the current v2 object of each planned update. It writes nothing to v2.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Iterator

from deepdiff import DeepDiff

from migrator.client import DyteClient
from migrator.errors import ApiError
from migrator.ledger import UNMAPPABLE, Entity, Ledger
from migrator.mapping import Mapped, MappingSet, Note, PresetCatalog, PresetChoice, Unmappable
from migrator import reconcile

# An entity's action follows from its state and from what we last wrote (`written`) vs. `desired`.
DECIDE_SQL = (
    "UPDATE entities SET action = CASE "
    "  WHEN state = 'unmappable' THEN 'unmappable' "
    "  WHEN state = 'intent' THEN 'reconcile' "
    "  WHEN v2_id IS NULL THEN 'create' "
    "  WHEN written = desired THEN 'unchanged' ELSE 'update' END "
    "WHERE action != 'gone'")
BATCH = 2000
ACTIONS = ("create", "update", "unchanged", "adopt", "conflict", "unmappable", "reconcile")
KIND_ORDER = ("preset", "meeting", "participant", "webhook")
EXAMPLES_PER_NOTE = 3


@dataclass
class NoteTally:
    """One kind of transformation, counted over every entity it touched."""

    kind: str
    note: str
    source: str | None
    target: str | None
    reason: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class PlanSummary:
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    unmappable: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    relocation: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[NoteTally] = field(default_factory=list)
    entity_notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # presets, meetings, webhooks
    recordings: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    v2_reads: int = 0


def _note_dict(note: Note) -> dict[str, Any]:
    return {"kind": note.kind, "source": note.source, "target": note.target,
            "before": note.before, "after": note.after, "reason": note.reason}


class Planner:
    def __init__(self, ledger: Ledger, mappings: MappingSet, client: DyteClient | None) -> None:
        self.ledger, self.mappings, self.client = ledger, mappings, client
        self.summary = PlanSummary()
        self._tallies: dict[tuple[str, str, str | None, str | None, str], NoteTally] = {}
        self._name_clashes: defaultdict[str, set[str]] = defaultdict(set)  # v2 preset name -> the choices sharing it

    # ------------------------------------------------------------------ notes
    def _tally(self, kind: str, key: str, mapped: Mapped, keep_per_entity: bool) -> None:
        for note in mapped.notes:
            tk = (kind, note.kind, note.source, note.target, note.reason)
            tally = self._tallies.get(tk)
            if tally is None:
                tally = self._tallies[tk] = NoteTally(kind, note.kind, note.source, note.target, note.reason)
            tally.count += 1
            if len(tally.examples) < EXAMPLES_PER_NOTE and (note.before is not None or note.after is not None):
                tally.examples.append({"key": key, "before": note.before, "after": note.after})
        if keep_per_entity and mapped.notes:
            self.summary.entity_notes[f"{kind}:{key}"] = [_note_dict(n) for n in mapped.notes]

    # ------------------------------------------------------------------ map
    def _meeting_rows(self, meetings: dict[str, dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for mid, meeting in meetings.items():
            row: dict[str, Any] = {"kind": "meeting", "key": mid, "v1_id": mid,
                                   "extra": {"roomName": meeting.get("roomName"), "title": meeting.get("title")}}
            try:
                mapped = self.mappings.map_meeting(meeting)
            except Unmappable as exc:
                yield {**row, "state": UNMAPPABLE, "action": "unmappable", "reason": exc.reason}
                continue
            self._tally("meeting", mid, mapped, keep_per_entity=True)
            yield {**row, "action": "create", "desired": mapped.payload,
                   "natural_key": reconcile.natural_key("meeting", mapped.payload)}

    def _participant_rows(self, meetings: dict[str, dict[str, Any]], catalog: PresetCatalog,
                          choices: dict[str, PresetChoice]) -> Iterator[dict[str, Any]]:
        relocation = self.summary.relocation
        for p in self.ledger.snapshot("participant"):
            pid, mid = p.get("id"), p.get("meetingId")
            row: dict[str, Any] = {"kind": "participant", "key": pid, "v1_id": pid, "parent_key": mid,
                                   "extra": {"meetingId": mid, "clientSpecificId": p.get("clientSpecificId"),
                                             "email": p.get("email"), "name": p.get("name")}}
            meeting = meetings.get(mid)
            try:
                if meeting is None:
                    raise Unmappable(f"its v1 meeting {mid} is not in the snapshot")
                choice = self.mappings.resolve_preset(p, meeting, catalog)
                mapped = self.mappings.map_participant(p, choice.v2_name)
            except Unmappable as exc:
                yield {**row, "state": UNMAPPABLE, "action": "unmappable", "reason": exc.reason}
                continue
            first = choices.setdefault(choice.v2_name, choice)
            if (first.preset, first.role, first.waiting_room) != (choice.preset, choice.role, choice.waiting_room):
                self._name_clashes[choice.v2_name].update({_described(first), _described(choice)})
            entry = relocation.setdefault(choice.v2_name, {"preset": choice.preset, "role": choice.role,
                                                           "waiting_room": choice.waiting_room,
                                                           "participants": 0, "by_source": Counter(),
                                                           "reasons": Counter()})
            entry["participants"] += 1
            entry["by_source"][choice.source] += 1
            entry["reasons"][choice.reason] += 1
            self._tally("participant", pid, mapped, keep_per_entity=False)
            row["extra"]["preset_source"] = choice.source
            yield {**row, "action": "create", "desired": mapped.payload,
                   "natural_key": reconcile.natural_key("participant", mapped.payload)}

    def _preset_rows(self, choices: dict[str, PresetChoice], catalog: PresetCatalog) -> Iterator[dict[str, Any]]:
        for name, choice in choices.items():
            row: dict[str, Any] = {"kind": "preset", "key": name, "v1_id": None, "natural_key": name,
                                   "extra": {"preset": choice.preset, "role": choice.role, "waiting_room": choice.waiting_room}}
            try:
                mapped = self.mappings.map_preset(choice, catalog)
            except Unmappable as exc:
                yield {**row, "state": UNMAPPABLE, "action": "unmappable", "reason": exc.reason}
                continue
            self._tally("preset", name, mapped, keep_per_entity=True)
            yield {**row, "action": "create", "desired": mapped.payload}

    def _webhook_rows(self) -> Iterator[dict[str, Any]]:
        for hook in self.ledger.snapshot("webhook"):
            row: dict[str, Any] = {"kind": "webhook", "key": hook.get("id"), "v1_id": hook.get("id"), "extra": {}}
            try:
                mapped = self.mappings.map_webhook(hook)
            except Unmappable as exc:
                yield {**row, "state": UNMAPPABLE, "action": "unmappable", "reason": exc.reason}
                continue
            self._tally("webhook", hook["id"], mapped, keep_per_entity=True)
            yield {**row, "action": "create", "desired": mapped.payload,
                   "natural_key": reconcile.natural_key("webhook", mapped.payload)}

    def _store(self, rows: Iterator[dict[str, Any]]) -> None:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                with self.ledger.transaction():
                    self.ledger.upsert_plan(batch)
                batch.clear()
        if batch:
            with self.ledger.transaction():
                self.ledger.upsert_plan(batch)

    def map_all(self) -> None:
        catalog = PresetCatalog(self.ledger.snapshot("preset"), self.ledger.snapshot("role"))
        meetings = {m["id"]: m for m in self.ledger.snapshot("meeting")}
        choices: dict[str, PresetChoice] = {c.v2_name: c for c in self.mappings.base_presets(catalog)}
        self._store(self._meeting_rows(meetings))
        self._store(self._participant_rows(meetings, catalog, choices))
        self._store(self._preset_rows(choices, catalog))
        self._store(self._webhook_rows())
        self._forget_stale(set(choices))
        self._cascade_unmappable_presets()
        self.summary.notes = sorted(self._tallies.values(), key=lambda t: (t.kind, t.note, t.source or ""))
        for entry in self.summary.relocation.values():
            entry["by_source"] = dict(entry["by_source"])
            entry["reasons"] = dict(entry["reasons"])
        self.summary.recordings = self._recordings(meetings)

    def _forget_stale(self, preset_names: set[str]) -> None:
        """Entities whose v1 object is gone (or variants no longer needed) leave the plan."""
        with self.ledger.transaction():
            for kind in ("meeting", "participant", "webhook"):
                self.ledger.conn.execute(
                    "UPDATE entities SET action = 'gone' WHERE kind = ? AND key NOT IN "
                    "(SELECT v1_id FROM snapshot WHERE kind = ?)", (kind, kind))
            placeholders = ",".join("?" * len(preset_names)) or "''"
            self.ledger.conn.execute(
                f"UPDATE entities SET action = 'gone' WHERE kind = 'preset' AND key NOT IN ({placeholders})",
                tuple(preset_names))

    def _cascade_unmappable_presets(self) -> None:
        with self.ledger.transaction():
            self.ledger.conn.execute(
                "UPDATE entities SET state = 'unmappable', action = 'unmappable', "
                "reason = 'its v2 preset ' || json_extract(desired, '$.preset_name') || ' cannot be mapped' "
                "WHERE kind = 'participant' AND state != 'unmappable' AND json_extract(desired, '$.preset_name') IN "
                "(SELECT key FROM entities WHERE kind = 'preset' AND state = 'unmappable')")

    def _recordings(self, meetings: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
        v2_ids = dict(self.ledger.conn.execute("SELECT key, v2_id FROM entities WHERE kind = 'meeting'").fetchall())
        return [
            {"v1_meeting": r.get("meetingId"), "room_name": r.get("roomName"),
             "title": (meetings.get(r.get("meetingId")) or {}).get("title"),
             "v2_meeting": v2_ids.get(r.get("meetingId")), "recording_id": r.get("id"),
             "status": r.get("status"), "download_url": r.get("downloadUrl"),
             "download_url_expiry": r.get("downloadUrlExpiry"), "file": r.get("outputFileName")}
            for r in self.ledger.snapshot("recording")
        ]

    # ------------------------------------------------------------------ decide
    def decide(self) -> None:
        """Set each entity's action from its ledger state; SQL keeps 100k rows cheap."""
        with self.ledger.transaction():
            self.ledger.conn.execute(DECIDE_SQL)

    async def compare_with_v2(self) -> None:
        if self.client is None:
            return
        client = self.client

        async def presets() -> dict[str, dict[str, Any]]:
            return {name: {"id": v2_id} for name, v2_id in (await reconcile.v2_presets(client)).items()}

        # A preset listing carries only names; webhooks come whole.
        await self._collisions_by_key("preset", presets, lambda v2_id: reconcile.v2_preset(client, v2_id))
        await self._collisions_by_key("webhook", lambda: reconcile.v2_webhooks(client), None)
        await self._collisions_participants()
        await self._check_updates()

    def _known_v2_ids(self, kind: str) -> set[str]:
        return {r[0] for r in self.ledger.conn.execute(
            "SELECT v2_id FROM entities WHERE kind = ? AND v2_id IS NOT NULL", (kind,))}

    def _adopt_or_conflict(self, kind: str, key: str, desired: dict[str, Any], actual: dict[str, Any], v2_id: str) -> None:
        diff = reconcile.subset_diff(desired, actual)
        if diff:
            self.ledger.set_action(kind, key, "conflict",
                                   f"v2 already holds a {kind} with the same key that differs at {', '.join(diff[:5])}")
            self.summary.conflicts.append({"kind": kind, "key": key, "v2_id": v2_id, "fields": diff,
                                           "diff": _deepdiff(actual, desired)})
        else:
            with self.ledger.transaction():
                self.ledger.conn.execute(
                    "UPDATE entities SET action = 'adopt', extra = json_set(COALESCE(extra, '{}'), '$.adopt_v2_id', ?) "
                    "WHERE kind = ? AND key = ?", (v2_id, kind, key))

    async def _collisions_by_key(self, kind: str, listing: Callable[[], Awaitable[dict[str, dict[str, Any]]]],
                                 fetch: Callable[[str], Awaitable[dict[str, Any]]] | None) -> None:
        """Creates whose natural key already names a v2 object we did not write: adopt or conflict."""
        creates = list(self.ledger.entities(kind, where="action = 'create'"))
        if not creates:
            return
        existing = await listing()  # natural key -> v2 object (at least its id)
        known = self._known_v2_ids(kind)
        for entity in creates:
            found = existing.get(entity.natural_key or "")
            if found and found.get("id") not in known and entity.desired is not None:
                actual = await fetch(found["id"]) if fetch else found
                self._adopt_or_conflict(kind, entity.key, entity.desired, actual, found["id"])

    async def _collisions_participants(self) -> None:
        """New participants of meetings that already exist in v2 may already be there."""
        assert self.client is not None
        rows = self.ledger.conn.execute(
            "SELECT DISTINCT m.key, m.v2_id FROM entities p JOIN entities m ON m.kind = 'meeting' AND m.key = p.parent_key "
            "WHERE p.kind = 'participant' AND p.action = 'create' AND m.v2_id IS NOT NULL").fetchall()
        for meeting_key, meeting_v2 in rows:
            known = {r[0] for r in self.ledger.conn.execute(
                "SELECT v2_id FROM entities WHERE kind = 'participant' AND parent_key = ? AND v2_id IS NOT NULL", (meeting_key,))}
            by_custom: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for p in await reconcile.v2_participants(self.client, meeting_v2):
                if p.get("id") not in known:
                    by_custom[p.get("custom_participant_id") or ""].append(p)
            for entity in self.ledger.entities("participant", parent_key=meeting_key, where="action = 'create'"):
                candidates = by_custom.get(entity.natural_key or "")
                if candidates and entity.desired is not None:
                    found = candidates.pop(0)
                    self._adopt_or_conflict("participant", entity.key, entity.desired, found, found["id"])

    async def _check_updates(self) -> None:
        assert self.client is not None
        for entity in list(self.ledger.entities(where="action = 'update'")):
            actual = await self._fetch(entity)
            if actual is None:
                self.ledger.set_action(entity.kind, entity.key, "conflict", "the v2 object we created is gone")
                self.summary.conflicts.append({"kind": entity.kind, "key": entity.key, "v2_id": entity.v2_id,
                                               "fields": ["."], "diff": {}})
                continue
            changed_by_others = reconcile.subset_diff(entity.written or {}, actual)
            immutable = [f for f in IMMUTABLE.get(entity.kind, ()) if (entity.written or {}).get(f) != (entity.desired or {}).get(f)]
            if changed_by_others or immutable:
                why = (f"v2 changed since we wrote it at {', '.join(changed_by_others[:5])}" if changed_by_others
                       else f"v2 cannot change {', '.join(immutable)} of an existing {entity.kind}")
                self.ledger.set_action(entity.kind, entity.key, "conflict", why)
                self.summary.conflicts.append({"kind": entity.kind, "key": entity.key, "v2_id": entity.v2_id,
                                               "fields": changed_by_others or immutable, "diff": _deepdiff(actual, entity.desired)})
            else:
                self.summary.updates.append({"kind": entity.kind, "key": entity.key, "v2_id": entity.v2_id,
                                             "diff": _deepdiff(actual, entity.desired)})

    async def _fetch(self, entity: Entity) -> dict[str, Any] | None:
        assert self.client is not None
        path = {
            "preset": f"/presets/{entity.v2_id}",
            "meeting": f"/meetings/{entity.v2_id}",
            "webhook": f"/webhooks/{entity.v2_id}",
        }.get(entity.kind)
        if entity.kind == "participant":
            parent = self.ledger.entity("meeting", entity.parent_key)
            path = f"/meetings/{parent.v2_id if parent else ''}/participants/{entity.v2_id}"
        try:
            body = await self.client.v2("GET", path or "/")
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        data = body.get("data")
        return data if isinstance(data, dict) else None

    def _refuse_name_clashes(self) -> None:
        """A v2 preset name generated for two different choices is a conflict, never a silent merge."""
        for name, shared_by in sorted(self._name_clashes.items()):
            why = f"the v2 preset name {name!r} is generated for {' and '.join(sorted(shared_by))}; fix variant_names"
            self.summary.warnings.append(why)
            self.summary.conflicts.append({"kind": "preset", "key": name, "v2_id": None, "fields": ["name"], "diff": {}})
            with self.ledger.transaction():
                self.ledger.set_action("preset", name, "conflict", why)
                self.ledger.conn.execute(
                    "UPDATE entities SET action = 'conflict', reason = ? WHERE kind = 'participant' "
                    "AND action != 'unmappable' AND json_extract(desired, '$.preset_name') = ?", (why, name))

    # ------------------------------------------------------------------ summary
    def tally_actions(self) -> None:
        counts: dict[str, dict[str, int]] = {k: {} for k in KIND_ORDER}
        for kind, action, n in self.ledger.conn.execute(
                "SELECT kind, action, count(*) FROM entities WHERE action != 'gone' GROUP BY kind, action"):
            counts.setdefault(kind, {})[action] = n
        self.summary.counts = counts
        self.summary.unmappable = [
            {"kind": k, "key": key, "reason": reason}
            for k, key, reason in self.ledger.conn.execute(
                "SELECT kind, key, reason FROM entities WHERE action = 'unmappable' ORDER BY kind, seq")
        ]

    async def run(self) -> PlanSummary:
        self.map_all()
        self.decide()
        self._refuse_name_clashes()
        await self.compare_with_v2()
        self.tally_actions()
        return self.summary


# Fields v2 cannot change on an existing object: a different value is a conflict.
IMMUTABLE: dict[str, tuple[str, ...]] = {"participant": ("custom_participant_id",)}


def _described(choice: PresetChoice) -> str:
    return (f"preset {choice.preset!r} with role {choice.role!r}"
            + (" in a waiting-room meeting" if choice.waiting_room else ""))


def _deepdiff(actual: Any, desired: Any) -> dict[str, Any]:
    """Field-level diff (deepdiff) from what v2 holds to what the mapping wants, JSON-able."""
    if not isinstance(actual, dict) or not isinstance(desired, dict):
        return {"values_changed": {"root": {"old_value": actual, "new_value": desired}}}
    projected = {k: actual.get(k) for k in desired}
    diff = DeepDiff(projected, desired, ignore_order=True, verbose_level=2)
    return json.loads(diff.to_json())

