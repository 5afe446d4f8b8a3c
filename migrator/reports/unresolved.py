"""Every entity that did not end created, updated or unchanged, named, with what resolves it.

A count ("20 unmappable") tells a user something is wrong; these rows tell them which
objects, why, and which command or setting fixes each. The plan, migrate and verify
reports and the console summary all show the same rows.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

from migrator import kinds
from migrator.model import Action, Entity, Finding, State
from migrator.reports.model import Row, RowStream

if TYPE_CHECKING:
    from migrator.ledger import Ledger

CONSOLE_ROWS = 20  # entities named on the terminal; the reports name them all
MAPPINGS_META = "mappings_fingerprint"
SETTINGS_META = "mappings_default_preset"  # {"name", "source"} of the org default the ledger was migrated with

_RESOLVE = {
    "failed": (
        "run `dyte-migrate migrate` again (it retries and resumes); if it fails again, the reason says what the target refused"
    ),
    "unmappable": (
        "fix the source object, or the mapping rule the reason names (`dyte-migrate init --with-mappings DIR`, "
        "edit, then pass --mappings DIR or set mappings in dyte-migrate.toml); then run migrate again"
    ),
    "conflict": (
        "the target holds an object this tool did not write (or one changed since): remove or rename it in "
        "the target, or make the source match it; then run plan again"
    ),
}


def migrated_default(ledger: Ledger) -> dict[str, str | None] | None:
    """The org default preset (name, source) that the ledger's last migrate ran with, if recorded."""
    recorded = ledger.meta(SETTINGS_META)
    return json.loads(recorded) if recorded else None


def _kept_resolve(ledger: Ledger) -> str:
    then = migrated_default(ledger)
    if then and then.get("name"):
        return (
            f"it was migrated with --default-preset {then['name']} (from {then['source']}): run with that setting "
            "again, or keep it as it is"
        )
    return "run with the mappings it was migrated with (the --mappings folder or config file of that run)"


def _row(entity: Entity, state: str, reason: str | None, resolve: str) -> Row:
    return {
        "kind": entity.kind.value,
        "v1_id": entity.v1_id or entity.key,
        "label": kinds.label(entity),
        "state": state,
        "reason": reason or "no reason recorded",
        "resolve": resolve,
    }


def unresolved_rows(ledger: Ledger, kept: list[Finding] | None = None) -> RowStream:
    """Failed, unmappable, in conflict, held back by a dependency, or (plan) kept although the current
    mappings cannot map it; each with its reason and resolution."""
    kept = kept or []

    def rows() -> Iterator[Row]:
        for entity in ledger.entities(states=[State.FAILED, State.UNMAPPABLE]):
            state = entity.state.value
            yield _row(entity, state, entity.reason or entity.last_error, entity.extra.get("resolve") or _RESOLVE[state])
        for entity in ledger.entities(actions=[Action.CONFLICT]):
            if entity.state not in (State.FAILED, State.UNMAPPABLE):
                yield _row(entity, "conflict", entity.reason, _RESOLVE["conflict"])
        for spec in kinds.KINDS:
            if spec.parent is not None:
                for entity in ledger.held_back_by(spec.kind, spec.parent):
                    yield _row(
                        entity,
                        "held back",
                        f"its {spec.parent.value} {entity.parent_key} failed or is unmappable",
                        f"resolve its {spec.parent.value} {entity.parent_key} (listed here) first, then run migrate again",
                    )
        if kept:
            resolve = _kept_resolve(ledger)
            for finding in kept:
                entity = ledger.entity(finding.kind, finding.key) or Entity(finding.kind, finding.key)
                yield _row(
                    entity,
                    "kept",
                    f"already migrated, left as it is: the current mappings cannot map it ({finding.reason})",
                    resolve,
                )

    return RowStream(rows, sum(1 for _ in rows()))


def console_lines(rows: RowStream) -> list[str]:
    """The per-kind breakdown, then the first entities by name (the reports have them all)."""
    if not rows.total:
        return []
    tally: dict[str, Counter[str]] = {}
    for row in rows:
        tally.setdefault(row["kind"], Counter())[row["state"]] += 1
    lines = [f"{kind}: " + ", ".join(f"{n} {state}" for state, n in sorted(states.items())) for kind, states in tally.items()]
    for i, row in enumerate(rows):
        if i == CONSOLE_ROWS:
            lines.append(f"  ...and {rows.total - CONSOLE_ROWS} more in the report")
            break
        label = f" ({row['label']})" if row["label"] else ""
        lines.append(f"  {row['state']} {row['kind']} {row['v1_id']}{label}: {row['reason']} -> {row['resolve']}")
    return lines
