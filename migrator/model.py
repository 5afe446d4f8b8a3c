"""The domain's vocabulary: kinds, states, actions, entities, and the typed results of each stage.

Every stage speaks these types; only the ledger turns them into rows. Field diffs are
made in one place (`changes`), by deepdiff, so the plan, verify and the reports show the
same `Change(path, v2, wanted)`.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from migrator.errors import ConfigError


class Kind(enum.StrEnum):
    """A kind of object the tool moves, in dependency order (a preset before its participants)."""

    PRESET = "preset"
    MEETING = "meeting"
    PARTICIPANT = "participant"
    WEBHOOK = "webhook"

    @property
    def plural(self) -> str:
        return f"{self.value}s"

    @classmethod
    def parse(cls, name: str | Kind) -> Kind:
        """`meeting` or `meetings` (any case); anything else is a usage error naming the choices."""
        if isinstance(name, Kind):
            return name
        text = str(name).strip().lower()
        for kind in cls:
            if text in (kind.value, kind.plural):
                return kind
        raise ConfigError(f"unknown kind {name!r}; choose from {', '.join(k.plural for k in cls)}")

    @classmethod
    def parse_many(cls, names: str | Any | None) -> frozenset[Kind] | None:
        """A comma list or an iterable of kind names; None or an empty selection means every kind."""
        if names is None:
            return None
        items = names.split(",") if isinstance(names, str) else list(names)
        if isinstance(names, str) and not any(item.strip() for item in items):
            raise ConfigError(f"no kind named in {names!r}; choose from {', '.join(k.plural for k in cls)}")
        chosen = frozenset(cls.parse(item) for item in items if not isinstance(item, str) or item.strip())
        if not chosen:
            raise ConfigError(f"no kind named; choose from {', '.join(k.plural for k in cls)}")
        return chosen


class State(enum.StrEnum):
    """Where an entity is in its life. `intent`: a write was (maybe) sent, its outcome unknown."""

    PENDING = "pending"
    INTENT = "intent"
    DONE = "done"
    FAILED = "failed"
    UNMAPPABLE = "unmappable"


class Action(enum.StrEnum):
    """What the plan decided for an entity."""

    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    UNMAPPABLE = "unmappable"
    RECONCILE = "reconcile"
    GONE = "gone"  # its v1 object is no longer there; kept in the ledger, out of the plan


# The actions a plan shows, in report order (`gone` is not one of them).
PLAN_ACTIONS: tuple[Action, ...] = tuple(a for a in Action if a is not Action.GONE)
# Actions that lead to a v2 write.
WRITE_ACTIONS = frozenset({Action.CREATE, Action.UPDATE, Action.ADOPT, Action.RECONCILE})
# What one migrate run tells about each kind.
OUTCOMES = ("created", "adopted", "updated", "unchanged", "failed", "unmappable")


@dataclass
class Entity:
    """One v1 object (or derived preset) and its v2 counterpart, as the ledger keeps it."""

    kind: Kind
    key: str  # v1 id; for presets the v2 preset name (variants have no v1 id)
    v1_id: str | None = None
    parent_key: str | None = None  # a participant's v1 meeting id
    v2_id: str | None = None
    state: State = State.PENDING
    action: Action | None = None
    origin: str | None = None  # created | adopted
    reason: str | None = None
    desired: dict[str, Any] | None = None  # the v2 body the mappings want
    written: dict[str, Any] | None = None  # what we last know v2 holds from our writes
    natural_key: str | None = None
    adopt_v2_id: str | None = None  # an identical v2 object the plan will adopt
    attempts: int = 0
    last_error: str | None = None
    intent_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # facts for people: titles, emails, room names
    inputs: str | None = None  # what `desired` was mapped from (see Ledger.to_map): unchanged inputs are not re-mapped


@dataclass
class WriteResult:
    """The outcome of one write (or of settling one), committed with its journal event."""

    kind: Kind
    key: str
    state: State
    event: str  # created | adopted | updated | status-set | failed | retry | not-sent | rolled_back ...
    v2_id: str | None = None
    written: dict[str, Any] | None = None
    origin: str | None = None
    error: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(frozen=True)
class Change:
    """One field that differs: its path in the v2 object, what v2 holds and what is wanted."""

    path: str
    change: str  # values_changed | type_changes | dictionary_item_added | ... (deepdiff's report type)
    v2: Any
    wanted: Any

    def as_row(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "v2": self.v2, "wanted": self.wanted}


def _dotted(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "."


def changes(actual: Any, wanted: Any) -> list[Change]:
    """Where `actual` (v2) does not hold `wanted`; fields v2 has beyond what is wanted are fine."""
    if not isinstance(actual, dict) or not isinstance(wanted, dict):
        return [] if actual == wanted else [Change(".", "values_changed", actual, wanted)]
    from deepdiff import DeepDiff  # imported on first use: start-up does not pay for it (issue 15)
    from deepdiff.helper import notpresent

    projected = {k: actual.get(k) for k in wanted}
    found: list[Change] = []
    for report_type, items in DeepDiff(projected, wanted, view="tree").items():
        for item in items:
            if report_type == "dictionary_item_removed" and isinstance(item.up.t2, dict) and isinstance(item.up.t1, dict):
                # v2 holds a nested field the mapping does not mention: extra fields are fine
                continue
            found.append(
                Change(
                    _dotted(item.path(output_format="list")),
                    report_type,
                    None if item.t1 is notpresent else item.t1,
                    None if item.t2 is notpresent else item.t2,
                )
            )
    return sorted(found, key=lambda c: c.path)


@dataclass
class Finding:
    """An entity the plan or verify must tell a person about, with the fields that differ."""

    kind: Kind
    key: str
    v2_id: str | None
    reason: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class NoteTally:
    """One kind of transformation, counted over every entity it touched."""

    kind: Kind
    note: str
    source: str | None
    target: str | None
    reason: str
    count: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Relocation:
    """The participants that get one v2 preset, and which resolution rule sent them there."""

    v2_preset: str
    preset: str | None  # None: a role-only preset
    role: str | None
    waiting_room: bool
    participants: int = 0
    by_source: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)


@dataclass
class Recording:
    """A v1 recording: it stays in v1 (v2 cannot import recordings); the report lists where it is."""

    v1_meeting: str | None
    room_name: str | None
    title: str | None
    v2_meeting: str | None
    recording_id: str | None
    status: str | None
    download_url: str | None
    download_url_expiry: str | None
    file: str | None


@dataclass
class ExtractSummary:
    counts: dict[str, int] = field(default_factory=dict)
    removed: int = 0
    roles_route: bool = True
    warnings: list[str] = field(default_factory=list)


@dataclass
class PlanSummary:
    counts: dict[Kind, Counter[Action]] = field(default_factory=dict)
    conflicts: list[Finding] = field(default_factory=list)
    updates: list[Finding] = field(default_factory=list)
    relocation: dict[str, Relocation] = field(default_factory=dict)
    notes: list[NoteTally] = field(default_factory=list)
    entity_notes: dict[tuple[Kind, str], list[dict[str, Any]]] = field(default_factory=dict)  # presets, meetings, webhooks
    recordings: list[Recording] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    existing: list[Finding] = field(default_factory=list)  # first run: v2 already holds objects that match v1
    recreated: list[Finding] = field(default_factory=list)  # deleted in v2 after migration
    deleted_in_v1: list[Finding] = field(default_factory=list)  # ours in v2, gone from v1: `--prune` removes them
    reattached: dict[Kind, int] = field(default_factory=dict)  # re-added in v1 with the same natural key
    kept: list[Finding] = field(default_factory=list)  # migrated entities the current mappings cannot map: left as they are

    def total(self, actions: frozenset[Action] | set[Action], kinds: frozenset[Kind] | None = None) -> int:
        return sum(
            n
            for kind, tally in self.counts.items()
            if kinds is None or kind in kinds
            for action, n in tally.items()
            if action in actions
        )

    def findings(self) -> dict[tuple[Kind, str], Finding]:
        """Each planned update or conflict by entity, for the per-entity report rows."""
        return {(f.kind, f.key): f for f in [*self.updates, *self.conflicts]}


@dataclass
class EntityError:
    kind: Kind
    key: str
    error: str


@dataclass
class LoadSummary:
    counts: dict[Kind, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in Kind})
    writes: int = 0
    stopped: str | None = None  # why the run stopped early, if it did
    errors: list[EntityError] = field(default_factory=list)


@dataclass
class Mismatch:
    kind: Kind
    key: str
    v2_id: str | None
    problem: str
    changes: list[Change] = field(default_factory=list)


@dataclass
class VerifySummary:
    checked: Counter[Kind] = field(default_factory=Counter)
    mismatches: list[Mismatch] = field(default_factory=list)

    def add(self, entity: Entity, problem: str, found: list[Change] | None = None) -> None:
        self.mismatches.append(Mismatch(entity.kind, entity.key, entity.v2_id, problem, found or []))


@dataclass
class RollbackSummary:
    counts: dict[Kind, Counter[str]] = field(default_factory=lambda: {k: Counter() for k in Kind})
    errors: list[EntityError] = field(default_factory=list)
