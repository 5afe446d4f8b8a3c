"""One migration split across N processes (CI matrix jobs): which v1 objects belong to which shard.

A meeting (with its participants and recordings) and a webhook belong to exactly one
shard, chosen by a stable hash of its v1 id: the same id lands on the same shard on every
runner, Python version and run (sha256, not `hash()`, which is salted per process).
Presets are derived from what participants need and v2 names them uniquely, so every shard
plans the ones it needs and adopts one another shard created (see load.py). Webhooks have
no unique key in v2, so two shards creating the same one would duplicate it: each belongs
to one shard like a meeting.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from migrator.errors import ConfigError

UNSHARDED = "none"  # what a ledger made by an unsharded run (or by `ledger merge`) records as its shard
_FORM = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count`, 1-based as CI matrices count (`--shard 2/4`)."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        """`I/N` with 1 <= I <= N; anything else is a ConfigError naming the expected form."""
        match = _FORM.fullmatch(text or "")
        if match is None:
            raise ConfigError(f"--shard wants I/N (e.g. 2/4), not {text!r}")
        index, count = int(match.group(1)), int(match.group(2))
        if count < 1 or not 1 <= index <= count:
            raise ConfigError(f"--shard {text}: I must be from 1 to N and N at least 1")
        return cls(index, count)

    @property
    def label(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, v1_id: str) -> bool:
        return shard_of(v1_id, self.count) == self.index


def shard_of(v1_id: str, count: int) -> int:
    """The 1-based shard a v1 id belongs to among `count`."""
    digest = hashlib.sha256(v1_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def label(shard: Shard | None) -> str:
    """What a ledger records for a run with this shard (or none)."""
    return shard.label if shard is not None else UNSHARDED
