"""The report data model: one JSON-able document per command, rendered three ways.

A document is a plain dict whose layout `schema/report.schema.json` publishes. Small
sections are ordinary values; per-entity sections are `RowStream`s, read again by each
renderer from the ledger, so 100,000 rows never sit in memory at once.
"""

from __future__ import annotations

import re
import time
from importlib import metadata
from typing import Any, Callable, Iterable, Iterator

SCHEMA_VERSION = 1
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
    try:
        return metadata.version("dyte-migrate")
    except metadata.PackageNotFoundError:
        return "unknown"


def document(report: str, status: str, headline: str, **sections: Any) -> dict[str, Any]:
    """The fields every report starts with, then its own sections (in display order)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "report": report,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "tool": {"name": "dyte-migrate", "version": tool_version()},
        "status": status,
        "headline": headline,
        **sections,
    }


_ITEM = re.compile(r"\['((?:[^'\\]|\\.)*)'\]")


def readable_path(deepdiff_path: str) -> str:
    """`root['a']['b'][0]` -> `a.b[0]`; the whole object is `.`."""
    path = _ITEM.sub(lambda m: "." + m.group(1), deepdiff_path.removeprefix("root")).lstrip(".")
    return path or "."


def deepdiff_changes(diff: dict[str, Any] | None) -> list[Row]:
    """A deepdiff (JSON, verbose) as flat `{path, change, v2, wanted}` rows, for people."""
    changes: list[Row] = []
    for change, items in (diff or {}).items():
        if not isinstance(items, dict):  # a terse deepdiff lists bare paths
            changes.extend({"path": readable_path(str(p)), "change": change, "v2": None, "wanted": None} for p in items)
            continue
        for path, value in items.items():
            if isinstance(value, dict) and ("old_value" in value or "new_value" in value):
                v2, wanted = value.get("old_value"), value.get("new_value")
            elif change.endswith("removed"):
                v2, wanted = value, None
            else:
                v2, wanted = None, value
            changes.append({"path": readable_path(path), "change": change, "v2": v2, "wanted": wanted})
    return changes


def expected_changes(diff: dict[str, Any] | None) -> list[Row]:
    """Verify's `{path: {v2, expected}}` in the same row shape as `deepdiff_changes`."""
    return [{"path": path, "change": "values_changed", "v2": (value or {}).get("v2"), "wanted": (value or {}).get("expected")}
            for path, value in (diff or {}).items()]
