"""Does the org need a default preset, and is the one in effect usable? Asked before any write.

v2 wants a preset on every participant; v1 allowed a participant with none, in a meeting
with none. Only the org default can place those, so `check` and `plan` count them from
the v1 snapshot and name the org's v1 presets to choose from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from migrator.ledger import Ledger
from migrator.mapping import MappingSet
from migrator.mapping.resolution import DEFAULT_PRESET_HINT
from migrator.model import Action, PlanSummary
from migrator.reports.unresolved import MAPPINGS_META, SETTINGS_META, migrated_default


@dataclass(frozen=True)
class DefaultPresetStatus:
    name: str | None  # the org default in effect
    source: str  # where it came from: --default-preset, env ..., config file ..., presets.yaml ...
    needed_by: int  # participants only the default can place
    v1_presets: tuple[str, ...]

    @property
    def exists(self) -> bool:
        return self.name is not None and self.name in self.v1_presets

    @property
    def blocking(self) -> bool:
        """Participants need a default that is unset or not a v1 preset: they would be unmappable."""
        return self.needed_by > 0 and not self.exists

    def line(self) -> str:
        presets = ", ".join(self.v1_presets) or "none"
        people = f"{self.needed_by} participant{'' if self.needed_by == 1 else 's'}"
        if self.exists:
            return (
                f"default preset {self.name!r} ({self.source}) is a v1 preset of this org; {people} need it "
                f"(v1 presets: {presets})"
            )
        problem = "none is set" if self.name is None else f"{self.name!r} is not a v1 preset of this org (from {self.source})"
        if not self.needed_by:
            return f"no participant needs the org default preset ({problem}; v1 presets: {presets})"
        return (
            f"{people} need the org default preset (neither they nor their meeting name a preset, and they "
            f"have no roleName), but {problem}; v1 presets: {presets}; choose one with {DEFAULT_PRESET_HINT}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "source": self.source,
            "needed_by": self.needed_by,
            "exists": self.exists,
            "v1_presets": list(self.v1_presets),
        }


def default_preset_status(ledger: Ledger, mappings: MappingSet) -> DefaultPresetStatus:
    """Count, from the ledger's v1 snapshot, the participants that only the org default can place."""
    meetings = {str(m.get("id")): m for m in ledger.snapshot("meeting")}
    needed = sum(1 for p in ledger.snapshot("participant") if mappings.needs_default(p, meetings.get(str(p.get("meetingId")))))
    names = sorted({str(p["name"]) for p in ledger.snapshot("preset") if isinstance(p.get("name"), str)})
    return DefaultPresetStatus(mappings.org_default_preset, mappings.default_preset_from, needed, tuple(names))


# ------------------------------------------------------------------ the ledger's mappings binding
def mappings_notice(ledger: Ledger, mappings: MappingSet, summary: PlanSummary | None = None) -> str | None:
    """One line when the mappings differ from those the ledger was last migrated with (None if not)."""
    recorded = ledger.meta(MAPPINGS_META)
    if recorded is None or recorded == mappings.fingerprint:
        return None
    then = migrated_default(ledger) or {}
    line = (
        f"the mappings differ from those this ledger was migrated with (org default preset then "
        f"{then.get('name')!r} from {then.get('source')}, now {mappings.org_default_preset!r} from "
        f"{mappings.default_preset_from})"
    )
    if summary is None:
        return line
    updates = summary.total(frozenset({Action.UPDATE}))
    return (
        f"{line}: {updates} updates planned, {len(summary.kept)} migrated entities kept as they are "
        "(the current mappings cannot map them); the plan report names each"
    )


def record_mappings(ledger: Ledger, mappings: MappingSet) -> None:
    """Bind the ledger to the mappings a migrate runs with (and the org default it used)."""
    ledger.set_meta(MAPPINGS_META, mappings.fingerprint)
    ledger.set_meta(SETTINGS_META, json.dumps({"name": mappings.org_default_preset, "source": mappings.default_preset_from}))
