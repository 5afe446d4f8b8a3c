"""export-ids: the v1 -> v2 id map an application needs to update its own database."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from migrator import kinds
from migrator.ledger import Ledger
from migrator.model import Kind

COLUMNS = (
    "kind",
    "v1_id",
    "v2_id",
    "state",
    "v1_meeting_id",
    "v2_meeting_id",
    "room_name",
    "title",
    "client_specific_id",
    "custom_participant_id",
    "email",
    "preset_name",
    "download_url",
    "download_url_expiry",
)


def id_rows(ledger: Ledger) -> Iterator[dict[str, Any]]:
    meetings = ledger.v2_ids(Kind.MEETING)
    for entity in ledger.entities():
        desired, extra = entity.desired or {}, entity.extra
        has_meeting = entity.parent_key is not None and entity.parent_key in meetings
        yield {
            "kind": entity.kind.value,
            "v1_id": entity.v1_id or entity.key,
            "v2_id": entity.v2_id,
            "state": entity.state.value,
            "v1_meeting_id": entity.parent_key if has_meeting else None,
            "v2_meeting_id": meetings.get(entity.parent_key or "") if has_meeting else None,
            "room_name": extra.get("roomName"),
            "title": None,
            "preset_name": None,
            "client_specific_id": extra.get("clientSpecificId"),
            "custom_participant_id": desired.get("custom_participant_id"),
            "email": extra.get("email"),
            **kinds.id_fields(entity),
        }
    for rec in ledger.snapshot("recording"):
        yield {
            "kind": "recording",
            "v1_id": rec.get("id"),
            "v2_id": None,
            "state": "not-movable",
            "v1_meeting_id": rec.get("meetingId"),
            "v2_meeting_id": meetings.get(rec.get("meetingId") or ""),
            "room_name": rec.get("roomName"),
            "download_url": rec.get("downloadUrl"),
            "download_url_expiry": rec.get("downloadUrlExpiry"),
        }


def render(ledger: Ledger, fmt: str) -> str:
    rows = id_rows(ledger)
    if fmt == "json":
        return json.dumps({"version": 1, "ids": list(rows)}, indent=2, ensure_ascii=False) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in COLUMNS})
    return buffer.getvalue()
