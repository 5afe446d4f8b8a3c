"""Reports: one data model per command, written to the reports folder.

Everything that leaves through a report passes `scrub`, so a key that slipped into a v1
string (a title, a URL) is still masked.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from migrator.errors import scrub
from migrator.mapping import MappingSet
from migrator.ledger import Ledger
from migrator.load import LoadSummary
from migrator.plan import PlanSummary
from migrator.verify import VerifySummary

REPORT_SCHEMA_VERSION = 1


def write_report(reports_dir: Path, name: str, data: dict[str, Any]) -> list[str]:
    """Write `<name>.json` atomically; return the paths written."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    body = scrub(json.dumps({"schema_version": REPORT_SCHEMA_VERSION, **data}, indent=2, ensure_ascii=False, default=str))
    target = reports_dir / f"{name}.json"
    fd, tmp = tempfile.mkstemp(dir=reports_dir, prefix=f".{name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(body + "\n")
    os.replace(tmp, target)
    return [str(target)]


def plan_report(summary: PlanSummary, extracted: dict[str, Any], mappings: MappingSet, ledger: Ledger) -> dict[str, Any]:
    return {
        "command": "plan",
        "extracted": extracted,
        "counts": summary.counts,
        "unmappable": summary.unmappable,
        "conflicts": summary.conflicts,
        "updates": summary.updates,
        "relocation": summary.relocation,
        "notes": [dataclasses.asdict(n) for n in summary.notes],
        "entity_notes": summary.entity_notes,
        "recordings": summary.recordings,
        "endpoints": [e.model_dump() if hasattr(e, "model_dump") else e for e in mappings.endpoints],
        "warnings": summary.warnings + extracted.get("warnings", []),
    }


def migrate_report(status: str, counts: dict[str, dict[str, int]], loaded: LoadSummary, ledger: Ledger,
                   run_id: int) -> dict[str, Any]:
    """What this migrate run did (the journal of `run_id`), with its errors."""
    return {"command": "migrate", "status": status, "counts": counts, "writes": loaded.writes,
            "stopped": loaded.stopped, "journal": ledger.journal_counts(run_id), "errors": loaded.errors[:1000]}


def verify_report(status: str, summary: VerifySummary) -> dict[str, Any]:
    return {"command": "verify", "status": status, "checked": dict(summary.checked), "mismatches": summary.mismatches}


def rollback_report(status: str, counts: dict[str, dict[str, int]], errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"command": "rollback", "status": status, "counts": counts, "errors": errors}
