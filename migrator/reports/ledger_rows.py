"""Per-entity report rows, streamed from the ledger's typed queries.

A 100,000-participant report costs a cursor, not a list: each iteration of a `RowStream`
asks the ledger again, one entity at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from migrator import kinds
from migrator.model import Action, Entity, Kind, PlanSummary
from migrator.reports.model import Row, RowStream

if TYPE_CHECKING:
    from migrator.ledger import Ledger

# Participants last: they are the many, so a page that can hold only some rows loses only participants.
ROW_KIND_ORDER = (Kind.PRESET, Kind.MEETING, Kind.WEBHOOK, Kind.PARTICIPANT)


def _stream(ledger: Ledger, actions: Iterable[Action] | None, row: Callable[[Entity], Row]) -> RowStream:
    """Rows of the entities with these actions (None: every planned one), ROW_KIND_ORDER then plan order."""
    chosen = list(actions) if actions is not None else None
    total = ledger.count_entities(actions=chosen)

    def rows() -> Iterator[Row]:
        for kind in ROW_KIND_ORDER:
            for entity in ledger.entities(kind, actions=chosen):
                yield row(entity)

    return RowStream(rows, total)


def plan_rows(ledger: Ledger, summary: PlanSummary) -> RowStream:
    """Every planned entity with its action, field changes (updates, conflicts) and translation notes."""
    findings = summary.findings()

    def row(entity: Entity) -> Row:
        finding = findings.get((entity.kind, entity.key))
        return {
            "kind": entity.kind.value,
            "key": entity.key,
            "label": kinds.label(entity),
            "action": (entity.action or Action.CREATE).value,
            "state": entity.state.value,
            "v1_id": entity.v1_id,
            "parent_key": entity.parent_key,
            "v2_id": entity.v2_id,
            "v2_preset": kinds.required_name(entity, Kind.PRESET),
            "reason": entity.reason,
            "changes": [c.as_row() for c in finding.changes] if finding else [],
            "notes": summary.entity_notes.get((entity.kind, entity.key), []),
            "desired": entity.desired,
        }

    return _stream(ledger, None, row)


def changed_rows(ledger: Ledger, summary: PlanSummary) -> RowStream:
    """The planned updates and conflicts, each with the paths that differ (the values are in `entities`)."""
    findings = summary.findings()

    def row(entity: Entity) -> Row:
        finding = findings.get((entity.kind, entity.key))
        return {
            "kind": entity.kind.value,
            "key": entity.key,
            "label": kinds.label(entity),
            "action": (entity.action or Action.CREATE).value,
            "v2_id": entity.v2_id,
            "reason": entity.reason,
            "paths": [c.path for c in finding.changes] if finding else [],
        }

    return _stream(ledger, [Action.UPDATE, Action.CONFLICT], row)


def unmappable_rows(ledger: Ledger) -> RowStream:
    """The unmappable entities with their reasons, in plan order."""
    return _stream(
        ledger,
        [Action.UNMAPPABLE],
        lambda e: {"kind": e.kind.value, "key": e.key, "label": kinds.label(e), "reason": e.reason or "no reason recorded"},
    )


def journal_rows(ledger: Ledger, run_id: int) -> RowStream:
    """What one migrate run did to each entity (outcomes only; intents are bookkeeping)."""
    total, _ = ledger.journal(run_id)

    def rows() -> Iterator[Row]:
        for entry in ledger.journal(run_id)[1]:
            entity = entry.entity
            yield {
                "at": entry.at,
                "kind": entry.kind.value,
                "key": entry.key,
                "label": kinds.label(entity) if entity else None,
                "event": entry.event,
                "v2_id": entity.v2_id if entity else None,
                "error": entity.last_error if entity and entry.event == "failed" else None,
                "detail": entry.detail,
            }

    return RowStream(rows, total)
