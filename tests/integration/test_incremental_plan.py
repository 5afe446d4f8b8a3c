"""Incremental plans (issue 15, item 1): what was written from unchanged inputs is not mapped again.

An entity's inputs are its v1 object, its v1 meeting (participants), the preset catalog
(participants of a v1 source), the mapping files with the org default, and the tool
version. Each test changes one input and checks, through the mapping engine's own calls,
that exactly the entities that depend on it are mapped again, and through the target's
API that the change reaches it; a re-run with nothing changed maps nothing and writes nothing.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from migrator import ConfigError, Migration, Options, load_credentials
from migrator.api import default_mappings_dir
from migrator.errors import EXIT_OK
from migrator.mapping import MappingSet

from .helpers import V1, V2, assert_exact_copy, v2_count, v2_writes

MEETINGS, PARTICIPANTS = 4, 3


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(rate_limit=0, meetings=MEETINGS, participants=PARTICIPANTS)


@pytest.fixture
def mapped(monkeypatch) -> Counter[str]:
    """How many meetings, participants and presets the mapping engine was asked to map."""
    calls: Counter[str] = Counter()
    for method in ("map_meeting", "map_participant", "map_preset"):
        original = getattr(MappingSet, method)

        def counting(self: MappingSet, *args: Any, _original: Any = original, _name: str = method) -> Any:
            calls[_name.removeprefix("map_")] += 1
            return _original(self, *args)

        monkeypatch.setattr(MappingSet, method, counting)
    return calls


def _migration(org, tmp_path: Path, mappings_dir: Path | None = None) -> Migration:
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps(org.credentials))
    options = Options(ledger=tmp_path / "l.sqlite", reports_dir=tmp_path / "r", rate_per_minute=0)
    if mappings_dir is not None:
        options.mappings_dir = mappings_dir
    return Migration(load_credentials(creds, env={}), options)


def _migrated(org, tmp_path: Path, mapped: Counter[str], mappings_dir: Path | None = None) -> None:
    outcome = _migration(org, tmp_path, mappings_dir).migrate()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert mapped == {"meeting": MEETINGS, "participant": MEETINGS * PARTICIPANTS, "preset": _v2_presets(org)}
    mapped.clear()


def _v2_presets(org) -> int:
    """The presets the target holds: each was mapped once for the plan that created it."""
    return len(V2(org).all("/presets"))


def _report(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "r" / "plan.json").read_text())


def test_a_re_run_maps_nothing_writes_nothing_and_reports_the_same(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    assert _migration(org, tmp_path).plan().exit_code == EXIT_OK
    mapped.clear()
    first = _report(tmp_path)
    writes = v2_writes(org)
    outcome = _migration(org, tmp_path).plan()
    assert outcome.exit_code == EXIT_OK
    assert mapped == {}, "nothing changed: nothing is mapped again"
    again = _report(tmp_path)
    for section in ("counts", "relocation", "unmappable", "changed"):
        assert again[section] == first[section], section
    # every note counted as before; examples may come from other entities, never from none
    assert [{**t, "examples": bool(t["examples"])} for t in again["transformations"]] == [
        {**t, "examples": bool(t["examples"])} for t in first["transformations"]
    ]
    assert {a: n for a, n in again["counts"]["participant"].items() if n} == {"unchanged": MEETINGS * PARTICIPANTS}
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.exit_code == EXIT_OK and v2_writes(org) == writes


def test_a_changed_meeting_maps_it_and_its_participants_again(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    v1 = V1(org)
    meeting = v1.all("/meetings", "meetings")[0]
    assert v1.client.put(f"/meetings/{meeting['id']}", json={"title": "Renamed for the incremental plan"}).status_code == 200
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert mapped == {"meeting": 1, "participant": PARTICIPANTS}, "only that meeting and the participants it places"
    assert outcome.counts["meeting"]["updated"] == 1
    assert "Renamed for the incremental plan" in {m["title"] for m in V2(org).all("/meetings")}
    assert_exact_copy(org)


def test_a_new_participant_is_mapped_alone(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    v1 = V1(org)
    meeting = v1.all("/meetings", "meetings")[0]
    v1.client.post(
        f"/meetings/{meeting['id']}/participant",
        json={"clientSpecificId": "added-later", "presetName": "group_call", "userDetails": {"name": "Late"}},
    ).raise_for_status()
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert mapped == {"participant": 1}
    assert_exact_copy(org)


def test_a_changed_preset_catalog_maps_every_participant_again(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    v1 = V1(org)
    listed = next(p for p in v1.all("/presets", "presets") if p["name"] == "group_call")
    preset = httpx.get(listed["s3URL"]).json()["preset"]
    preset["uiConfig"]["colors"]["primary"] = "#00AA55"
    v1.client.post("/preset", json={"name": "group_call", "preset": preset}).raise_for_status()
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert mapped == {"participant": MEETINGS * PARTICIPANTS, "preset": _v2_presets(org)}, (
        "a preset edit can move any participant"
    )
    assert outcome.counts["preset"]["updated"] >= 1
    assert_exact_copy(org)


def test_changed_mapping_files_map_everything_again(org, tmp_path, mapped):
    rules = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), rules)
    _migrated(org, tmp_path, mapped, rules)
    meetings = rules / "meetings.yaml"
    meetings.write_text(meetings.read_text(encoding="utf-8") + "\n# edited by the operator\n", encoding="utf-8")
    outcome = _migration(org, tmp_path, rules).plan()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert mapped == {"meeting": MEETINGS, "participant": MEETINGS * PARTICIPANTS, "preset": _v2_presets(org)}


def test_another_tool_version_maps_everything_again(org, tmp_path, mapped, monkeypatch):
    _migrated(org, tmp_path, mapped)
    monkeypatch.setattr("migrator.plan.__version__", "99.0.0")
    assert _migration(org, tmp_path).plan().exit_code == EXIT_OK
    assert mapped == {"meeting": MEETINGS, "participant": MEETINGS * PARTICIPANTS, "preset": _v2_presets(org)}


def test_an_object_deleted_in_the_target_is_created_again_without_mapping(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    v2 = V2(org)
    person = v2.participants()[0]
    assert v2.client.delete(f"/meetings/{person['meeting_id']}/participants/{person['id']}").status_code == 200
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert outcome.counts["participant"]["created"] == 1
    assert_exact_copy(org)


def test_no_refresh_skips_the_target_listings_and_a_refresh_repairs_after(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    v2 = V2(org)
    person = v2.participants()[0]
    assert v2.client.delete(f"/meetings/{person['meeting_id']}/participants/{person['id']}").status_code == 200
    listings = v2_count(org, "GET", "/v2/meetings/{meeting_id}/participants")
    outcome = _migration(org, tmp_path).migrate(refresh=False)
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert v2_count(org, "GET", "/v2/meetings/{meeting_id}/participants") == listings, "no listing was read"
    assert outcome.counts["participant"]["created"] == 0, "without the read, the deletion is not seen"
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.counts["participant"]["created"] == 1
    assert_exact_copy(org)


@pytest.mark.parametrize("call", ["plan", "migrate"])
def test_no_refresh_cannot_make_or_apply_a_saved_plan(org, tmp_path, call):
    with pytest.raises(ConfigError, match="--no-refresh cannot make or apply a saved plan"):
        getattr(_migration(org, tmp_path), call)(**{"out" if call == "plan" else "plan": tmp_path / "p.json"}, refresh=False)
    assert org.stats()["totals"]["all"] == 0, "refused before any request"


def test_a_ledger_of_the_previous_schema_is_upgraded_and_continues(org, tmp_path, mapped):
    _migrated(org, tmp_path, mapped)
    with closing(sqlite3.connect(tmp_path / "l.sqlite")) as conn, conn:  # as the previous release left it
        conn.execute("ALTER TABLE entities DROP COLUMN inputs")
        conn.execute("DROP TABLE note_sets")
        conn.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    writes = v2_writes(org)
    outcome = _migration(org, tmp_path).migrate()
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert v2_writes(org) == writes, "the upgraded ledger still knows everything it wrote"
    assert mapped == {
        "meeting": MEETINGS,
        "participant": MEETINGS * PARTICIPANTS,
        "preset": _v2_presets(org),
    }, "no inputs recorded yet: mapped once"
    mapped.clear()
    assert _migration(org, tmp_path).migrate().exit_code == EXIT_OK
    assert mapped == {}, "from then on, incremental"
    with closing(sqlite3.connect(tmp_path / "l.sqlite")) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("3",)
