"""Per-entity report rows, streamed straight from the ledger.

The only module of the reports package that reads the ledger's tables: one query per
kind, one row at a time, so a 100,000-participant report costs a cursor, not a list.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterator

from migrator.ledger import Ledger
from migrator.plan import PlanSummary
from migrator.reports.model import Row, RowStream, deepdiff_changes

_ENTITY_COLUMNS = "kind, key, v1_id, parent_key, v2_id, state, action, reason, desired, extra"
# Participants last: they are the many, so a page that can hold only some rows loses only participants.
ROW_KIND_ORDER = ("preset", "meeting", "webhook", "participant")


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def entity_label(kind: str, key: str, desired: dict[str, Any] | None, extra: dict[str, Any] | None) -> str | None:
    """What a person calls the entity: a meeting's title, a participant's or webhook's name."""
    extra, desired = extra or {}, desired or {}
    if kind == "meeting":
        return extra.get("title") or desired.get("title")
    if kind == "participant":
        return desired.get("name") or extra.get("name")
    if kind == "webhook":
        return desired.get("name") or desired.get("url")
    return key


def _diffs(summary: PlanSummary) -> dict[tuple[str, str], Any]:
    """The deepdiff of each planned update and conflict (v2 now -> what the mapping wants)."""
    diffs = {(d["kind"], d["key"]): d.get("diff") for d in summary.updates}
    diffs.update({(d["kind"], d["key"]): d.get("diff") for d in summary.conflicts})
    return diffs


def _entities(ledger: Ledger, where: str) -> tuple[int, Callable[[], Iterator[tuple[Any, ...]]]]:
    """How many entities match, and a cursor factory over them (ROW_KIND_ORDER, then plan order)."""
    total = ledger.conn.execute(f"SELECT count(*) FROM entities WHERE {where}").fetchone()[0]

    def cursor() -> Iterator[tuple[Any, ...]]:
        for kind in ROW_KIND_ORDER:
            yield from ledger.conn.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM entities WHERE kind = ? AND {where} ORDER BY seq", (kind,))

    return int(total), cursor


def plan_rows(ledger: Ledger, summary: PlanSummary) -> RowStream:
    """Every planned entity with its action, diff (updates, conflicts) and translation notes."""
    diffs = _diffs(summary)
    total, cursor = _entities(ledger, "action != 'gone'")

    def rows() -> Iterator[Row]:
        for kind, key, v1_id, parent_key, v2_id, state, action, reason, desired_text, extra_text in cursor():
            desired, extra = _json(desired_text), _json(extra_text)
            diff = diffs.get((kind, key))
            yield {
                "kind": kind, "key": key, "label": entity_label(kind, key, desired, extra),
                "action": action, "state": state, "v1_id": v1_id, "parent_key": parent_key, "v2_id": v2_id,
                "v2_preset": (desired or {}).get("preset_name") if kind == "participant" else None,
                "reason": reason, "changes": deepdiff_changes(diff), "diff": diff,
                "notes": summary.entity_notes.get(f"{kind}:{key}", []), "desired": desired,
            }

    return RowStream(rows, total)


def changed_rows(ledger: Ledger, summary: PlanSummary) -> RowStream:
    """The planned updates and conflicts, each with the paths that differ (the full diff is in `entities`)."""
    diffs = _diffs(summary)
    total, cursor = _entities(ledger, "action IN ('update', 'conflict')")

    def rows() -> Iterator[Row]:
        for kind, key, _, _, v2_id, _, action, reason, desired, extra in cursor():
            yield {"kind": kind, "key": key, "label": entity_label(kind, key, _json(desired), _json(extra)),
                   "action": action, "v2_id": v2_id, "reason": reason,
                   "paths": [c["path"] for c in deepdiff_changes(diffs.get((kind, key)))]}

    return RowStream(rows, total)


def unmappable_rows(ledger: Ledger) -> RowStream:
    """The unmappable entities with their reasons, in plan order."""
    total, cursor = _entities(ledger, "action = 'unmappable'")

    def rows() -> Iterator[Row]:
        for kind, key, _, _, _, _, _, reason, desired, extra in cursor():
            yield {"kind": kind, "key": key, "label": entity_label(kind, key, _json(desired), _json(extra)),
                   "reason": reason or "no reason recorded"}

    return RowStream(rows, total)


def journal_rows(ledger: Ledger, run_id: int) -> RowStream:
    """What one migrate run did to each entity (outcomes only; intents are bookkeeping)."""
    source = ("FROM journal j LEFT JOIN entities e ON e.kind = j.kind AND e.key = j.key "
              "WHERE j.run_id = ? AND j.event NOT LIKE 'intent:%'")
    total = ledger.conn.execute(f"SELECT count(*) {source}", (run_id,)).fetchone()[0]

    def rows() -> Iterator[Row]:
        cursor = ledger.conn.execute(
            f"SELECT j.at, j.kind, j.key, j.event, j.detail, e.v2_id, e.last_error, e.desired, e.extra {source} "
            "ORDER BY j.seq", (run_id,))
        for at, kind, key, event, detail, v2_id, last_error, desired, extra in cursor:
            yield {"at": at, "kind": kind, "key": key, "label": entity_label(kind, key, _json(desired), _json(extra)),
                   "event": event, "v2_id": v2_id, "error": last_error if event == "failed" else None,
                   "detail": _json(detail)}

    return RowStream(rows, int(total))
