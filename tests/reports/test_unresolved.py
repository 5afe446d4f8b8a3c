"""Every entity that did not end created/updated/unchanged is named, with its state and what resolves it."""

from __future__ import annotations

from migrator.ledger import Ledger
from migrator.model import Action, Entity, Finding, Kind, State, WriteResult
from migrator.reports.unresolved import console_lines, unresolved_rows

PAIR = ("v1-org", "v2-org")


def _ledger(tmp_path) -> Ledger:
    ledger = Ledger.open(tmp_path / "ledger.sqlite", PAIR)
    run = ledger.start_run("migrate")
    ledger.record_plan(
        [
            Entity(
                Kind.MEETING,
                "m-bad",
                v1_id="m-bad",
                state=State.UNMAPPABLE,
                action=Action.UNMAPPABLE,
                reason="title is not text",
                extra={"title": "Broken"},
            ),
            Entity(Kind.PARTICIPANT, "p-orphan", v1_id="p-orphan", parent_key="m-bad", desired={"name": "Ann"}),
            Entity(Kind.MEETING, "m-fails", v1_id="m-fails", desired={"title": "Fails"}),
            Entity(Kind.MEETING, "m-ok", v1_id="m-ok", desired={"title": "Fine"}),
            Entity(Kind.PRESET, "team", desired={"name": "team"}),
        ]
    )
    ledger.decide()
    ledger.conflict(Kind.PRESET, "team", "v2 already holds a preset named team that differs")
    ledger.record_results(
        run,
        [
            WriteResult(Kind.MEETING, "m-fails", State.FAILED, "failed", error="422: bad title"),
            WriteResult(Kind.MEETING, "m-ok", State.DONE, "created", v2_id="v2-ok", written={"title": "Fine"}),
        ],
    )
    return ledger


def test_each_unresolved_state_is_named_with_a_resolution(tmp_path):
    with _ledger(tmp_path) as ledger:
        kept = [Finding(Kind.MEETING, "m-ok", "v2-ok", "the current mappings cannot map it")]
        rows = {row["v1_id"]: row for row in unresolved_rows(ledger, kept)}
    assert set(rows) == {"m-bad", "p-orphan", "m-fails", "team", "m-ok"}  # never the migrated, mappable ones
    assert rows["m-bad"]["state"] == "unmappable" and rows["m-bad"]["label"] == "Broken"
    assert rows["m-fails"]["state"] == "failed" and "migrate" in rows["m-fails"]["resolve"]
    assert rows["team"]["state"] == "conflict"
    assert rows["p-orphan"]["state"] == "held back" and "m-bad" in rows["p-orphan"]["resolve"]
    assert rows["m-ok"]["state"] == "kept"
    assert all(row["reason"] and row["resolve"] for row in rows.values())


def test_console_gives_the_per_kind_breakdown_then_names(tmp_path):
    with _ledger(tmp_path) as ledger:
        lines = console_lines(unresolved_rows(ledger))
    assert lines[:3] == ["meeting: 1 failed, 1 unmappable", "preset: 1 conflict", "participant: 1 held back"]
    named = "\n".join(lines[3:])
    assert all(key in named for key in ("m-bad", "m-fails", "team", "p-orphan"))
