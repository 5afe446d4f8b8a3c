"""Rollback: undo what the ledger says this tool created in v2.

Participants, webhooks and presets are deleted; meetings cannot be deleted in v2, so
they are set INACTIVE. Objects adopted from v2 (they existed before) are left alone.
Deleted entities go back to `pending`, so a later migrate recreates them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from migrator.client import DyteClient
from migrator.errors import ApiError, AuthError, TransportError
from migrator.ledger import DONE, FAILED, PENDING, Entity, Ledger, WriteResult

ORDER = ("participant", "webhook", "meeting", "preset")


async def rollback(client: DyteClient, ledger: Ledger, run_id: int, chunk: int = 64) -> tuple[Counter[str], list[dict[str, Any]]]:
    counts: Counter[str] = Counter()
    errors: list[dict[str, Any]] = []
    meetings = {e.key: e.v2_id for e in ledger.entities("meeting")}

    async def undo(entity: Entity) -> WriteResult:
        try:
            if entity.kind == "meeting":
                await client.v2("PATCH", f"/meetings/{entity.v2_id}", json={"status": "INACTIVE"})
                return WriteResult("meeting", entity.key, DONE, "rolled_back",
                                   written={**(entity.written or {}), "status": "INACTIVE"})
            path = {"webhook": f"/webhooks/{entity.v2_id}", "preset": f"/presets/{entity.v2_id}"}.get(
                entity.kind, f"/meetings/{meetings.get(entity.parent_key or '')}/participants/{entity.v2_id}")
            await client.v2("DELETE", path)
        except AuthError:
            raise
        except ApiError as exc:
            if exc.status != 404:  # already gone is what we wanted
                errors.append({"kind": entity.kind, "key": entity.key, "error": exc.api_message})
                return WriteResult(entity.kind, entity.key, FAILED, "rollback-failed", error=exc.api_message)
        except TransportError as exc:
            errors.append({"kind": entity.kind, "key": entity.key, "error": str(exc)})
            return WriteResult(entity.kind, entity.key, FAILED, "rollback-failed", error=str(exc))
        return WriteResult(entity.kind, entity.key, PENDING, "rolled_back")

    for kind in ORDER:
        targets = [e for e in ledger.entities(kind, where="origin = 'created' AND v2_id IS NOT NULL")
                   if not (kind == "meeting" and (e.written or {}).get("status") == "INACTIVE")]
        for start in range(0, len(targets), chunk):
            batch = targets[start:start + chunk]
            ledger.mark_intent(run_id, batch, "intent:rollback")
            results = list(await asyncio.gather(*(undo(e) for e in batch)))
            ledger.record_results(run_id, results)
            gone = [(r.kind, r.key) for r in results if r.event == "rolled_back" and r.kind != "meeting"]
            if gone:
                with ledger.transaction():
                    ledger.conn.executemany(
                        "UPDATE entities SET v2_id = NULL, written = NULL, origin = NULL, state = 'pending' "
                        "WHERE kind = ? AND key = ?", gone)
            counts.update(f"{r.kind}:{r.event}" for r in results)
    return counts, errors
