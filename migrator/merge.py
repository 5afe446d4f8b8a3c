"""`ledger merge`: the shards' ledgers of one split, combined into one unsharded ledger.

The result serves `status`, `verify`, `export-ids`, `rollback` and later unsharded runs
as if one process had done the whole migration. Merging refuses (one line, exit 4) what
would make that result wrong: ledgers of different org pairs or splits, a shard given
twice or missing, one still running, an object held by two shards, or the same preset
with two different v2 ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from migrator import kinds
from migrator.errors import ConfigError, LedgerConflict
from migrator.ledger import Ledger
from migrator.shards import UNSHARDED, Shard


@dataclass(frozen=True)
class MergeSummary:
    output: Path
    pair: tuple[str, str]
    shards: list[str]
    counts: dict[str, dict[str, int]]


@dataclass(frozen=True)
class _ShardLedger:
    path: Path
    shard: Shard
    pair: tuple[str, str]
    extract_complete: bool


def _read(path: Path) -> _ShardLedger:
    """A shard ledger's split and pair; its lock is taken and released, so a running shard is refused."""
    with Ledger.open(path, None, create=False) as ledger:
        bound = ledger.meta("shard")
        if bound is None or bound == UNSHARDED:
            raise LedgerConflict(f"ledger {path} is not a shard's ledger (it served an unsharded run)")
        return _ShardLedger(
            path, Shard.parse(bound), (ledger.meta("v1_org") or "", ledger.meta("v2_org") or ""), ledger.extract_complete()
        )


def _check_split(parts: list[_ShardLedger]) -> None:
    first = parts[0]
    seen: dict[int, Path] = {}
    for part in parts:
        if part.pair != first.pair:
            raise LedgerConflict(
                f"ledger {part.path} is source org {part.pair[0]} -> target {part.pair[1]}, but ledger "
                f"{first.path} is {first.pair[0]} -> {first.pair[1]}: not one migration"
            )
        if part.shard.count != first.shard.count:
            raise LedgerConflict(
                f"ledger {part.path} is shard {part.shard.label} but ledger {first.path} is shard "
                f"{first.shard.label}: not one split"
            )
        if part.shard.index in seen:
            raise LedgerConflict(f"ledgers {seen[part.shard.index]} and {part.path} are both shard {part.shard.label}")
        seen[part.shard.index] = part.path
    missing = [f"{i}/{first.shard.count}" for i in range(1, first.shard.count + 1) if i not in seen]
    if missing:
        raise LedgerConflict(f"shard {', '.join(missing)} is missing: merge needs the ledger of every shard")


def merge_ledgers(sources: list[Path], output: Path) -> MergeSummary:
    """Combine the ledgers of every shard of one split into a new ledger at `output`."""
    if not sources:
        raise ConfigError("ledger merge needs the ledger of every shard")
    if output.exists():
        raise ConfigError(f"{output} already exists: ledger merge writes a new ledger")
    if any(Path(s).resolve() == output.resolve() for s in sources):
        raise ConfigError(f"{output} is one of the ledgers to merge")
    parts = sorted((_read(Path(s)) for s in sources), key=lambda p: p.shard.index)
    _check_split(parts)
    shared = frozenset(spec.kind for spec in kinds.KINDS if not spec.keyed_by_v1)  # planned by every shard
    try:
        with Ledger.open(output, parts[0].pair) as merged:
            for part in parts:
                merged.absorb_shard(part.path, part.shard.label, shared)
            merged.finish_merge([p.shard.label for p in parts], all(p.extract_complete for p in parts))
            counts = {kind.value: dict(states) for kind, states in merged.counts().items()}
    except BaseException:
        for leftover in (output, Path(f"{output}-wal"), Path(f"{output}-shm"), Path(f"{output}.lock")):
            leftover.unlink(missing_ok=True)  # a refused merge leaves no half ledger behind
        raise
    return MergeSummary(output, parts[0].pair, [p.shard.label for p in parts], counts)


__all__ = ["MergeSummary", "merge_ledgers"]
