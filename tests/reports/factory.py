"""Synthetic report documents in the shape `migrator.reports.build` produces.

For renderer tests that need sizes, hostile strings or planted secrets the sandbox does
not produce; tests of the real pipeline use the sandbox instead (test_pipeline.py).
Rows are generated on each iteration, like the ledger-backed streams.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from migrator.model import changes
from migrator.reports.model import Row, RowStream, document
from migrator.settings import Route

HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
SCRIPT_BREAKER = "</script><script>alert(2)</script><!--"

_NOTE = {
    "kind": "lossy",
    "source": "role.produce.video.quality",
    "target": "config.media.video.quality",
    "before": "fhd",
    "after": "hd",
    "reason": "v2 has no 1080p video; hd is the highest.",
}
_DROPPED = {
    "kind": "dropped",
    "source": "roomName",
    "target": None,
    "before": "abc-xyz",
    "after": None,
    "reason": "v2 meetings have no room name.",
}
V1_TO_V2 = Route("dyte-v1", "dyte-v2")
_CHANGES = [c.as_row() for c in changes({"title": "Old title"}, {"title": "New title", "record_on_start": True})]


def _entity(kind: str, key: str, action: str, **fields: Any) -> Row:
    row: Row = {
        "kind": kind,
        "key": key,
        "label": None,
        "action": action,
        "state": "pending",
        "v1_id": key,
        "parent_key": None,
        "v2_id": None,
        "v2_preset": None,
        "reason": None,
        "changes": [],
        "notes": [],
        "desired": None,
    }
    row.update(fields)
    return row


def meeting_key(i: int) -> str:
    return f"meeting-{i:05d}"


def _entities(meetings: int, participants: int, title: str, unmappable_every: int) -> Iterator[Row]:
    yield _entity(
        "preset",
        "group_call",
        "create",
        label="group_call",
        notes=[_NOTE],
        desired={"name": "group_call", "ui": {"design_tokens": {"theme": "dark"}}},
    )
    for m in range(meetings):
        key = meeting_key(m)
        if m == 1:
            yield _entity(
                "meeting",
                key,
                "update",
                label=f"Meeting {m}",
                v2_id=f"v2-{key}",
                state="done",
                changes=_CHANGES,
                desired={"title": "New title"},
            )
        elif m == 2:
            yield _entity(
                "meeting",
                key,
                "conflict",
                label=f"Meeting {m}",
                v2_id=f"v2-{key}",
                state="done",
                reason="v2 already holds a meeting with the same key that differs at title",
                changes=_CHANGES,
                desired={"title": "New title"},
            )
        else:
            yield _entity(
                "meeting",
                key,
                "create",
                label=title if m == 0 else f"Meeting {m}",
                notes=[_DROPPED],
                desired={"title": title if m == 0 else f"Meeting {m}", "status": "ACTIVE"},
            )
    for p in range(participants):
        key, parent = f"participant-{p:06d}", meeting_key(p % max(meetings, 1))
        if unmappable_every and p % unmappable_every == 0:
            yield _entity(
                "participant",
                key,
                "unmappable",
                label=f"Person {p}",
                parent_key=parent,
                state="unmappable",
                reason=f"its own presetName 'missing-preset-{p}' is not a v1 preset (and no fallback applies)",
            )
        else:
            yield _entity(
                "participant",
                key,
                "create",
                label=f"Person {p}",
                parent_key=parent,
                v2_preset="group_call",
                desired={"name": f"Person {p}", "custom_participant_id": f"csid-{p}", "preset_name": "group_call"},
            )
    yield _entity(
        "webhook", "hook-1", "create", label="events", desired={"name": "events", "url": "https://hooks.example.invalid/x"}
    )


def plan_document(
    *,
    meetings: int = 5,
    participants: int = 20,
    title: str = HOSTILE_TITLE,
    unmappable_every: int = 0,
    recordings: int = 2,
    route: Route = V1_TO_V2,
) -> dict[str, Any]:
    def rows() -> Iterator[Row]:
        return _entities(meetings, participants, title, unmappable_every)

    entities = RowStream(rows, sum(1 for _ in rows()))
    unmappable = RowStream(
        lambda: ({k: r[k] for k in ("kind", "key", "label", "reason")} for r in rows() if r["action"] == "unmappable"),
        sum(1 for r in rows() if r["action"] == "unmappable"),
    )
    changed = RowStream.of(
        [
            {
                "kind": r["kind"],
                "key": r["key"],
                "label": r["label"],
                "action": r["action"],
                "v2_id": r["v2_id"],
                "reason": r["reason"],
                "paths": [c["path"] for c in r["changes"]],
            }
            for r in rows()
            if r["action"] in ("update", "conflict")
        ]
    )
    counts: dict[str, dict[str, int]] = {}
    for r in rows():
        tally = counts.setdefault(
            r["kind"], {a: 0 for a in ("create", "update", "unchanged", "adopt", "conflict", "unmappable", "reconcile")}
        )
        tally[r["action"]] += 1
    return document(
        "plan",
        "complete",
        f"plan for {entities.total} entities",
        route,
        counts=counts,
        extracted={
            "counts": {"meeting": meetings, "participant": participants},
            "removed": 0,
            "roles_route": True,
            "warnings": [],
        },
        transformations=[
            {
                "entity_kind": "preset",
                "note": "lossy",
                "source": _NOTE["source"],
                "target": _NOTE["target"],
                "reason": _NOTE["reason"],
                "count": 1,
                "examples": [{"key": "group_call", "before": "fhd", "after": "hd"}],
            },
            {
                "entity_kind": "meeting",
                "note": "dropped",
                "source": "roomName",
                "target": None,
                "reason": _DROPPED["reason"],
                "count": meetings,
                "examples": [],
            },
        ],
        relocation=[
            {
                "v2_preset": "group_call",
                "preset": "group_call",
                "role": "participant",
                "waiting_room": False,
                "participants": participants,
                "by_source": {"meeting": participants},
                "reasons": [{"reason": "preset from its meeting's presetName", "count": participants}],
            }
        ],
        unmappable=unmappable,
        unresolved=unmappable.map(
            lambda r: {
                "kind": r["kind"],
                "v1_id": r["key"],
                "label": r["label"],
                "state": "unmappable",
                "reason": r["reason"],
                "resolve": HOSTILE_TITLE,
            }
        ),
        changed=changed,
        outside_ledger=[
            {
                "kind": "participant",
                "key": "gone-1",
                "label": HOSTILE_TITLE,
                "v2_id": "v2-gone-1",
                "finding": "deleted in v1, kept in v2 (migrate --prune removes it)",
            }
        ],
        recordings=[
            {
                "v1_meeting": meeting_key(i),
                "room_name": "abc-xyz",
                "title": title,
                "v2_meeting": None,
                "recording_id": f"rec-{i}",
                "status": "UPLOADED",
                "file": f"{i}.mp4",
                "download_url": f"https://recordings.example.invalid/{i}.mp4",
                "download_url_expiry": "2030-01-01T00:00:00Z",
            }
            for i in range(recordings)
        ],
        webhook_payload_changes=[{"events": ["meeting.started"], "field": "meeting.roomName", "change": "gone for v2 meetings"}],
        endpoints=[
            {
                "action": "Delete a webhook",
                "v1": "DELETE /organizations/{organizationId}/webhooks/{webhookId}",
                "v2": "DELETE /webhooks/{webhook_id}",
                "spec": "dyte-v1.yaml",
                "reason": None,
                "guide": {"v1": "PUT /v1/recordings/{recordingId}", "v2": "DELETE /v2/webhooks/{webhookId}"},
                "erratum": "The guide shows a recordings PUT.",
                "corrects_guide": True,
            }
        ],
        mapping_notes=[{"kind": "participant", "topic": "Participant tokens", "text": "v2 issues new tokens."}],
        warnings=[],
        entities=entities,
    )


def verify_document(mismatches: int = 0) -> dict[str, Any]:
    found = [c.as_row() for c in changes({"title": "Old"}, {"title": HOSTILE_TITLE})]
    rows = [
        {"kind": "meeting", "key": meeting_key(i), "v2_id": f"v2-{i}", "problem": "v2 differs at title", "changes": found}
        for i in range(mismatches)
    ]
    status = "mismatch" if mismatches else "clean"
    headline = f"{mismatches} mismatches among 10 entities checked" if mismatches else "clean: all 10 entities checked"
    return document(
        "verify",
        status,
        headline,
        V1_TO_V2,
        checked={"meeting": 10},
        mismatches=RowStream.of(rows),
        unresolved=RowStream.of(_unresolved(mismatches)),
    )


def _unresolved(n: int) -> list[Row]:
    """Entities not migrated, named with hostile text in every free-text field."""
    return [
        {
            "kind": "participant",
            "v1_id": f"p-{i}",
            "label": HOSTILE_TITLE,
            "state": "unmappable",
            "reason": HOSTILE_TITLE,
            "resolve": HOSTILE_TITLE,
        }
        for i in range(n)
    ]


def migrate_document(events: int = 3, errors: int = 1, route: Route = V1_TO_V2) -> dict[str, Any]:
    rows = [
        {
            "at": "2026-01-01T00:00:00Z",
            "kind": "meeting",
            "key": meeting_key(i),
            "label": HOSTILE_TITLE,
            "event": "failed" if i < errors else "created",
            "v2_id": None if i < errors else f"v2-{i}",
            "error": "422: title too long" if i < errors else None,
            "detail": None,
        }
        for i in range(events)
    ]
    return document(
        "migrate",
        "failed",
        "migrate failed",
        route,
        counts={"meeting": {"created": events - errors, "failed": errors}},
        writes=events,
        stopped=None,
        journal={"meeting": {"created": events - errors, "failed": errors}},
        errors=[{"kind": "meeting", "key": meeting_key(i), "error": "422: title too long"} for i in range(errors)],
        unresolved=RowStream.of(_unresolved(errors)),
        events=RowStream.of(rows),
    )


def rollback_document(errors: int = 1) -> dict[str, Any]:
    return document(
        "rollback",
        "failed" if errors else "complete",
        "rollback",
        V1_TO_V2,
        counts={"participant": {"rolled_back": 3}},
        errors=[{"kind": "participant", "key": f"p-{i}", "error": "404: gone"} for i in range(errors)],
    )
