"""Undo what this tool created in v2: `rollback` (everything) and `migrate --prune` (what v1 deleted).

Each kind says how it is undone (kinds.py): participants, webhooks and presets are
deleted; meetings cannot be deleted in v2, so they are set INACTIVE. Objects adopted or
imported from v2 (they existed before) are left alone. Deleted entities lose their v2 id,
so a later migrate recreates them if v1 still has them.
"""

from __future__ import annotations

from migrator import kinds
from migrator.client import DyteClient
from migrator.errors import ApiError, AuthError, TransportError
from migrator.kinds import KindSpec, Undo
from migrator.ledger import Ledger
from migrator.model import Action, Entity, EntityError, RollbackSummary, State, WriteResult
from migrator.side_by_side import together

CHUNK = 64


def _undone(spec: KindSpec, entity: Entity) -> bool:
    return spec.undo is Undo.DEACTIVATE and kinds.INACTIVE.items() <= (entity.written or {}).items()


def targets(ledger: Ledger, spec: KindSpec, *, gone: bool | None = None) -> list[Entity]:
    """What would be undone of one kind: created by this tool, in v2, not already undone.

    `gone=True`: only entities whose v1 object was deleted; False: only the others; None: both.
    """
    found: list[Entity] = []
    if gone is not True:
        found += ledger.entities(spec.kind, origin="created", in_v2=True)
    if gone is not False:
        found += ledger.entities(spec.kind, actions=[Action.GONE], origin="created", in_v2=True)
    return [e for e in found if not _undone(spec, e)]


def already_undone(ledger: Ledger, spec: KindSpec) -> int:
    """Deactivated objects (meetings) that are already INACTIVE: nothing to do, but worth saying."""
    if spec.undo is not Undo.DEACTIVATE:
        return 0
    return sum(1 for e in ledger.entities(spec.kind, origin="created", in_v2=True) if _undone(spec, e))


async def undo_all(
    client: DyteClient, ledger: Ledger, run_id: int, spec: KindSpec, entities: list[Entity], event: str
) -> RollbackSummary:
    """Undo `entities` of one kind in chunks, intent first, recording `event` for each one undone."""
    summary = RollbackSummary()
    parents = ledger.v2_ids(spec.parent) if spec.parent is not None else {}

    async def one(entity: Entity) -> WriteResult:
        try:
            if spec.undo is Undo.DEACTIVATE:
                await client.v2("PATCH", spec.item_path(entity.v2_id or ""), json=kinds.INACTIVE)
                return WriteResult(
                    entity.kind, entity.key, State.DONE, event, written={**(entity.written or {}), **kinds.INACTIVE}
                )
            await client.v2("DELETE", spec.item_path(entity.v2_id or "", parents.get(entity.parent_key or "")))
        except AuthError:
            raise
        except ApiError as exc:
            if exc.status != 404:  # already gone is what we wanted
                summary.errors.append(EntityError(entity.kind, entity.key, exc.api_message))
                return WriteResult(entity.kind, entity.key, State.FAILED, f"{event}-failed", error=exc.api_message)
        except TransportError as exc:
            summary.errors.append(EntityError(entity.kind, entity.key, str(exc)))
            return WriteResult(entity.kind, entity.key, State.FAILED, f"{event}-failed", error=str(exc))
        return WriteResult(entity.kind, entity.key, State.PENDING, event)

    for start in range(0, len(entities), CHUNK):
        batch = entities[start : start + CHUNK]
        ledger.mark_intent(run_id, batch, f"intent:{event}")
        results = await together(*(one(e) for e in batch))
        ledger.record_results(run_id, results)
        if spec.undo is Undo.DELETE:
            ledger.forget_v2(spec.kind, [r.key for r in results if r.event == event])
        summary.counts[spec.kind].update(r.event for r in results)
    return summary


async def rollback(client: DyteClient, ledger: Ledger, run_id: int) -> RollbackSummary:
    """Undo everything this tool created, children before what they depend on."""
    summary = RollbackSummary()
    for spec in kinds.ROLLBACK_ORDER:
        inactive = already_undone(ledger, spec)
        if inactive:
            summary.counts[spec.kind]["already_inactive"] += inactive
        done = await undo_all(client, ledger, run_id, spec, targets(ledger, spec), "rolled_back")
        summary.counts[spec.kind].update(done.counts[spec.kind])
        summary.errors += done.errors
    return summary
