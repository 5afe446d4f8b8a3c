"""The report data model: one JSON-able document per command, rendered three ways.

A document is a plain dict whose layout `schema/report.schema.json` publishes. Small
sections are ordinary values; per-entity sections are `RowStream`s, read again by each
renderer from the ledger, so 100,000 rows never sit in memory at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from migrator import __version__
from migrator.settings import Route

SCHEMA_VERSION = 2  # 2: field diffs only as `changes` (the raw deepdiff `diff` is gone)
Row = dict[str, Any]


class RowStream:
    """Per-entity rows produced on demand; every iteration starts again from the source."""

    def __init__(self, rows: Callable[[], Iterable[Row]], total: int) -> None:
        self._rows = rows
        self.total = total  # how many rows an iteration yields (for headings and truncation notices)

    def __iter__(self) -> Iterator[Row]:
        return iter(self._rows())

    def map(self, transform: Callable[[Row], Row]) -> RowStream:
        return RowStream(lambda: (transform(row) for row in self._rows()), self.total)

    @classmethod
    def of(cls, rows: list[Row]) -> RowStream:
        """Rows that are already in memory (verify mismatches, migrate errors)."""
        return cls(lambda: rows, len(rows))


def tool_version() -> str:
    """`migrator.__version__`, which the package metadata is built from (pyproject.toml)."""
    return __version__


def document(report: str, status: str, headline: str, route: Route, **sections: Any) -> dict[str, Any]:
    """The fields every report starts with (`route`: what the run read and wrote), then its own sections (in display order)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "report": report,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": {"name": "dyte-migrate", "version": tool_version()},
        "status": status,
        "headline": headline,
        "route": route.as_dict(),
        **sections,
    }
