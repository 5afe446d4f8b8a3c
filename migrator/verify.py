"""Verify: read v2 and check it holds exactly what the mappings say it should.

The caller refreshes the snapshot from v1 and re-maps it first, so `desired` in the
ledger is what the current v1 org maps to. Every v1 object must then have exactly one v2
counterpart holding that payload; participants are also checked for duplicates (by
custom_participant_id within their meeting) and for a preset that exists in v2.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from migrator import reconcile
from migrator.client import DyteClient
from migrator.ledger import Entity, Ledger


@dataclass
class VerifySummary:
    checked: Counter[str] = field(default_factory=Counter)
    mismatches: list[dict[str, Any]] = field(default_factory=list)

    def add(self, entity: Entity, problem: str, diff: Any = None) -> None:
        self.mismatches.append({"kind": entity.kind, "key": entity.key, "v2_id": entity.v2_id,
                                "problem": problem, "diff": diff})


class Verifier:
    def __init__(self, client: DyteClient, ledger: Ledger) -> None:
        self.client, self.ledger = client, ledger
        self.summary = VerifySummary()

    def _expected(self, kind: str) -> list[Entity]:
        return list(self.ledger.entities(kind, where="action != 'gone'"))

    def _compare(self, entity: Entity, actual: dict[str, Any] | None) -> None:
        self.summary.checked[entity.kind] += 1
        if entity.state == "unmappable":
            self.summary.add(entity, f"unmappable, so not in v2: {self._reason(entity)}")
        elif not entity.v2_id:
            self.summary.add(entity, "no v2 counterpart (not migrated yet)")
        elif actual is None:
            self.summary.add(entity, "its v2 counterpart is missing")
        else:
            diff = reconcile.subset_diff(entity.desired or {}, actual)
            if diff:
                self.summary.add(entity, f"v2 differs at {', '.join(diff[:5])}",
                                 {p: {"v2": _at(actual, p), "expected": _at(entity.desired or {}, p)} for p in diff[:20]})

    def _reason(self, entity: Entity) -> str:
        row = self.ledger.conn.execute("SELECT reason FROM entities WHERE kind = ? AND key = ?", (entity.kind, entity.key)).fetchone()
        return (row[0] if row else None) or "no reason recorded"

    async def run(self) -> VerifySummary:
        await self._presets()
        v2_presets = {e.key for e in self._expected("preset") if e.v2_id}
        await self._meetings()
        await self._participants(v2_presets)
        await self._webhooks()
        return self.summary

    async def _presets(self) -> None:
        by_name = await reconcile.v2_presets(self.client)
        for entity in self._expected("preset"):
            actual = None
            if entity.v2_id and by_name.get(entity.key) == entity.v2_id:
                actual = await reconcile.v2_preset(self.client, entity.v2_id)
            self._compare(entity, actual)

    async def _meetings(self) -> None:
        v2: dict[str, dict[str, Any]] = {}
        async for page in self.client.v2_pages("/meetings"):
            v2.update({m["id"]: m for m in page if isinstance(m, dict) and m.get("id")})
        for entity in self._expected("meeting"):
            self._compare(entity, v2.get(entity.v2_id or ""))

    async def _participants(self, v2_presets: set[str]) -> None:
        meetings = {e.key: e.v2_id for e in self._expected("meeting")}
        by_meeting: dict[str, list[Entity]] = {}
        for entity in self._expected("participant"):
            by_meeting.setdefault(entity.parent_key or "", []).append(entity)
        for meeting_key, group in by_meeting.items():
            meeting_v2 = meetings.get(meeting_key)
            actual = await reconcile.v2_participants(self.client, meeting_v2) if meeting_v2 else []
            by_id = {p["id"]: p for p in actual if p.get("id")}
            held = Counter(p.get("custom_participant_id") for p in actual)
            wanted = Counter(e.natural_key for e in group if e.state != "unmappable")
            for entity in group:
                self._compare(entity, by_id.get(entity.v2_id or ""))
                preset = (entity.desired or {}).get("preset_name")
                if entity.v2_id and preset and preset not in v2_presets:
                    self.summary.add(entity, f"its preset {preset!r} does not exist in v2")
            for custom_id, n in held.items():
                if n > wanted.get(custom_id, 0):
                    self.summary.mismatches.append({
                        "kind": "participant", "key": custom_id, "v2_id": None,
                        "problem": f"v2 meeting {meeting_v2} holds {n} participants with custom_participant_id "
                                   f"{custom_id!r}, v1 has {wanted.get(custom_id, 0)} (duplicate)", "diff": None})

    async def _webhooks(self) -> None:
        v2 = {h["id"]: h for h in await reconcile.v2_webhook_list(self.client) if h.get("id")}
        for entity in self._expected("webhook"):
            self._compare(entity, v2.get(entity.v2_id or ""))


def _at(data: Any, path: str) -> Any:
    for part in path.split(".") if path not in ("", ".") else []:
        data = data.get(part) if isinstance(data, dict) else None
    return data
