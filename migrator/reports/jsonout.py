"""The JSON form: the document itself, written piece by piece.

Small sections are indented for reading; each per-entity row is one line, so a
100,000-row report is written without ever holding its text, and `grep` finds a row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from migrator.reports.model import RowStream


def _dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, ensure_ascii=False, default=str)


def _rows(rows: RowStream) -> Iterator[str]:
    first = True
    for row in rows:
        yield ("\n    " if first else ",\n    ") + _dumps(row)
        first = False
    yield "\n  ]" if not first else "]"


def json_chunks(doc: dict[str, Any]) -> Iterator[str]:
    """The document as JSON text, in chunks."""
    yield "{"
    for i, (key, value) in enumerate(doc.items()):
        yield ("\n  " if i == 0 else ",\n  ") + _dumps(key) + ": "
        if isinstance(value, RowStream):
            yield "["
            yield from _rows(value)
        else:
            yield _dumps(value, indent=2).replace("\n", "\n  ")
    yield "\n}\n"
