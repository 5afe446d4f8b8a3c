"""Rollback: undo what the ledger says this tool created in v2.

Each kind says how it is undone (kinds.py): participants, webhooks and presets are
deleted; meetings cannot be deleted in v2, so they are set INACTIVE. Objects adopted
from v2 (they existed before) are left alone. Deleted entities go back to `pending`, so
a later migrate recreates them.
"""

from __future__ import annotations

import asyncio

from migrator import kinds
from migrator.client import DyteClient
from migrator.errors import ApiError, AuthError, TransportError
from migrator.kinds import KindSpec, Undo
from migrator.ledger import Ledger
from migrator.model import Entity, EntityError, RollbackSummary, State, WriteResult


def targets(ledger: Ledger, spec: KindSpec) -> list[Entity]:
    """What rollback would undo of one kind: created by this tool, in v2, not already undone."""
    return [e for e in ledger.entities(spec.kind, origin="created", in_v2=True)
            if not (spec.undo is Undo.DEACTIVATE and kinds.INACTIVE.items() <= (e.written or {}).items())]


def already_undone(ledger: Ledger, spec: KindSpec) -> int:
    """Deactivated objects (meetings) that are already INACTIVE: nothing to do, but worth saying."""
    if spec.undo is not Undo.DEACTIVATE:
        return 0
    return sum(1 for e in ledger.entities(spec.kind, origin="created", in_v2=True)
               if kinds.INACTIVE.items() <= (e.written or {}).items())


async def rollback(client: DyteClient, ledger: Ledger, run_id: int, chunk: int = 64) -> RollbackSummary:
    summary = RollbackSummary()

    async def undo(spec: KindSpec, entity: Entity, parent_v2: str | None) -> WriteResult:
        try:
            if spec.undo is Undo.DEACTIVATE:
                await client.v2("PATCH", spec.item_path(entity.v2_id or ""), json=kinds.INACTIVE)
                return WriteResult(entity.kind, entity.key, State.DONE, "rolled_back",
                                   written={**(entity.written or {}), **kinds.INACTIVE})
            await client.v2("DELETE", spec.item_path(entity.v2_id or "", parent_v2))
        except AuthError:
            raise
        except ApiError as exc:
            if exc.status != 404:  # already gone is what we wanted
                summary.errors.append(EntityError(entity.kind, entity.key, exc.api_message))
                return WriteResult(entity.kind, entity.key, State.FAILED, "rollback-failed", error=exc.api_message)
        except TransportError as exc:
            summary.errors.append(EntityError(entity.kind, entity.key, str(exc)))
            return WriteResult(entity.kind, entity.key, State.FAILED, "rollback-failed", error=str(exc))
        return WriteResult(entity.kind, entity.key, State.PENDING, "rolled_back")

    for spec in kinds.ROLLBACK_ORDER:
        parents = ledger.v2_ids(spec.parent) if spec.parent is not None else {}
        todo = targets(ledger, spec)
        inactive = already_undone(ledger, spec)
        if inactive:
            summary.counts[spec.kind]["already_inactive"] += inactive
        for start in range(0, len(todo), chunk):
            batch = todo[start:start + chunk]
            ledger.mark_intent(run_id, batch, "intent:rollback")
            results = list(await asyncio.gather(*(undo(spec, e, parents.get(e.parent_key or "")) for e in batch)))
            ledger.record_results(run_id, results)
            if spec.undo is Undo.DELETE:
                ledger.forget_v2(spec.kind, [r.key for r in results if r.event == "rolled_back"])
            summary.counts[spec.kind].update(r.event for r in results)
    return summary
