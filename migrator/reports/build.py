"""Turn what a command computed into its report document (see `model.document`)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import TYPE_CHECKING, Any

from migrator import kinds
from migrator.model import (
    PLAN_ACTIONS,
    EntityError,
    ExtractSummary,
    Finding,
    Kind,
    LoadSummary,
    NoteTally,
    PlanSummary,
    RollbackSummary,
    VerifySummary,
)
from migrator.reports.ledger_rows import changed_rows, journal_rows, plan_rows, unmappable_rows
from migrator.reports.model import RowStream, document
from migrator.reports.unresolved import unresolved_rows

if TYPE_CHECKING:
    from migrator.ledger import Ledger
    from migrator.mapping import MappingSet
    from migrator.settings import Route

# What a reviewer must see first: what is lost, then what is changed, then the rest.
NOTE_ORDER = ("lossy", "dropped", "converted", "relocated", "renamed", "defaulted")
_PLAN_VERBS = {
    "create": "to create",
    "update": "to update",
    "unchanged": "unchanged",
    "adopt": "to adopt",
    "conflict": "in conflict",
    "unmappable": "unmappable",
    "reconcile": "to reconcile",
}


def _plan_counts(summary: PlanSummary) -> dict[str, dict[str, int]]:
    return {kind.value: {action.value: summary.counts.get(kind, Counter())[action] for action in PLAN_ACTIONS} for kind in Kind}


def _plan_headline(counts: dict[str, dict[str, int]]) -> str:
    totals: Counter[str] = Counter()
    for actions in counts.values():
        totals.update(actions)
    entities = sum(totals.values())
    shown = ", ".join(f"{totals[a.value]} {_PLAN_VERBS[a.value]}" for a in PLAN_ACTIONS if totals[a.value]) or "nothing to do"
    return f"plan for {entities} entities: {shown}"


def _transformation(tally: NoteTally) -> dict[str, Any]:
    return {
        "entity_kind": tally.kind.value,
        "note": tally.note,
        "source": tally.source,
        "target": tally.target,
        "reason": tally.reason,
        "count": tally.count,
        "examples": tally.examples,
    }


def _note_rank(tally: NoteTally) -> tuple[int, int, str]:
    rank = NOTE_ORDER.index(tally.note) if tally.note in NOTE_ORDER else len(NOTE_ORDER)
    return rank, -tally.count, tally.source or tally.target or ""


def _relocation(summary: PlanSummary) -> list[dict[str, Any]]:
    entries = [
        {
            "v2_preset": entry.v2_preset,
            "preset": entry.preset,
            "role": entry.role,
            "waiting_room": entry.waiting_room,
            "participants": entry.participants,
            "by_source": dict(entry.by_source),
            "reasons": [{"reason": r, "count": n} for r, n in entry.reasons.most_common()],
        }
        for entry in summary.relocation.values()
    ]
    return sorted(entries, key=lambda e: (-e["participants"], e["v2_preset"]))


def _endpoints(mappings: MappingSet) -> list[dict[str, Any]]:
    return [
        {**rule.model_dump(), "corrects_guide": rule.guide is not None and rule.differs_from_guide} for rule in mappings.endpoints
    ]


def plan_report(
    summary: PlanSummary, extracted: ExtractSummary, mappings: MappingSet, ledger: Ledger, unresolved: RowStream | None = None
) -> dict[str, Any]:
    """What `migrate` would do, per entity and in total, and everything the target cannot hold."""
    counts = _plan_counts(summary)
    return document(
        "plan",
        "complete",
        _plan_headline(counts),
        mappings.route,
        counts=counts,
        extracted=dataclasses.asdict(extracted),
        transformations=[_transformation(t) for t in sorted(summary.notes, key=_note_rank)],
        relocation=_relocation(summary),
        unmappable=unmappable_rows(ledger),
        unresolved=unresolved if unresolved is not None else unresolved_rows(ledger, summary.kept),
        changed=changed_rows(ledger, summary),
        outside_ledger=[_finding(ledger, f) for f in [*summary.existing, *summary.recreated, *summary.deleted_in_v1]],
        recordings=[dataclasses.asdict(r) for r in summary.recordings],
        webhook_payload_changes=[change.model_dump() for change in mappings.webhook_payload_changes],
        endpoints=_endpoints(mappings),
        mapping_notes=[{"kind": kind, **note.model_dump()} for kind, notes in mappings.report_notes.items() for note in notes],
        warnings=list(summary.warnings) + list(extracted.warnings),
        entities=plan_rows(ledger, summary),
    )


def _count_line(counts: dict[str, dict[str, int]]) -> str:
    parts = [
        f"{kind}s " + ", ".join(f"{n} {what}" for what, n in tally.items() if n)
        for kind, tally in counts.items()
        if any(tally.values())
    ]
    return "; ".join(parts) or "nothing written"


def migrate_report(
    status: str,
    counts: dict[str, dict[str, int]],
    loaded: LoadSummary,
    ledger: Ledger,
    run_id: int,
    route: Route,
    unresolved: RowStream | None = None,
) -> dict[str, Any]:
    """What this migrate run did (the journal of `run_id`), with its errors."""
    stopped = f"; stopped early ({loaded.stopped})" if loaded.stopped else ""
    return document(
        "migrate",
        status,
        f"migrate {status}: {loaded.writes} {route.target_title} writes; {_count_line(counts)}{stopped}",
        route,
        counts=counts,
        writes=loaded.writes,
        stopped=loaded.stopped,
        journal=ledger.journal_counts(run_id),
        errors=[_error(e) for e in loaded.errors[:1000]],
        unresolved=unresolved if unresolved is not None else unresolved_rows(ledger),
        events=journal_rows(ledger, run_id),
    )


def verify_report(status: str, summary: VerifySummary, route: Route, unresolved: RowStream | None = None) -> dict[str, Any]:
    """Every mismatch with its diff; a clean verify is one line."""
    checked = sum(summary.checked.values())
    headline = (
        f"clean: {route.target_title} holds exactly what the mappings say for all {checked} entities checked"
        if not summary.mismatches
        else f"{len(summary.mismatches)} mismatches among {checked} entities checked"
    )
    mismatches = RowStream(
        lambda: (
            {
                "kind": m.kind.value,
                "key": m.key,
                "v2_id": m.v2_id,
                "problem": m.problem,
                "changes": [c.as_row() for c in m.changes],
            }
            for m in summary.mismatches
        ),
        len(summary.mismatches),
    )
    return document(
        "verify",
        status,
        headline,
        route,
        checked={k.value: n for k, n in summary.checked.items()},
        mismatches=mismatches,
        unresolved=unresolved if unresolved is not None else RowStream.of([]),
    )


def rollback_report(status: str, summary: RollbackSummary, route: Route) -> dict[str, Any]:
    """What rollback undid per kind, what was already undone, and what it could not undo."""
    counts = {kind.value: dict(tally) for kind, tally in summary.counts.items() if tally}
    headline = (
        f"rollback {status}: {_count_line(counts)}"
        if not summary.errors
        else f"rollback {status}: {len(summary.errors)} objects could not be rolled back"
    )
    return document("rollback", status, headline, route, counts=counts, errors=[_error(e) for e in summary.errors])


def import_report(
    status: str, counts: dict[str, dict[str, int]], ambiguous: list[Finding], ledger: Ledger, route: Route
) -> dict[str, Any]:
    """What `import` matched per kind, and what it left out because more than one target object could match."""
    matched = sum(c.get("imported", 0) for c in counts.values())
    headline = (
        f"import {status}: {matched} {route.target_title} objects matched to {route.source_title} and recorded; "
        f"{len(ambiguous)} ambiguous, left out"
    )
    return document("import", status, headline, route, counts=counts, ambiguous=[_finding(ledger, f) for f in ambiguous])


def _finding(ledger: Ledger, finding: Finding) -> dict[str, Any]:
    entity = ledger.entity(finding.kind, finding.key)
    return {
        "kind": finding.kind.value,
        "key": finding.key,
        "label": kinds.label(entity) if entity else None,
        "v2_id": finding.v2_id,
        "finding": finding.reason,
    }


def _error(error: EntityError) -> dict[str, Any]:
    return {"kind": error.kind.value, "key": error.key, "error": error.error}
