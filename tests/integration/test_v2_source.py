"""A Dyte v2 org as the source (--source dyte-v2) moved to RealtimeKit through the real CLI.

The sandbox's v2 org is seeded from a dataset file written here (so it holds what a v1
migration never makes: recordings, a preferred region, a disabled webhook, an INACTIVE
meeting); counts are read through the v2 and RealtimeKit APIs, not the ledger.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from migrator.cli import cli
from migrator.errors import EXIT_OK, EXIT_USAGE
from tests.conftest import SandboxFactory
from tests.sandbox import payloads as sandbox_payloads

from .helpers import V2, Workspace, assert_exact_copy


def v2_preset(name: str, view_type: str = "GROUP_CALL") -> dict[str, Any]:
    """A whole v2 preset with what RealtimeKit lacks (one plugin setting for all, a config_diff)."""
    preset = sandbox_payloads.v2_preset(name)
    preset["config"]["view_type"] = view_type
    preset["config"]["media"]["audio"] = {"enable_stereo": False, "enable_high_bitrate": True}
    preset["ui"]["config_diff"] = {}
    return preset


def _dataset(tmp_path: Path) -> Path:
    host, guest = v2_preset("host"), v2_preset("guest", "WEBINAR")
    meetings = []
    for i in range(4):
        meetings.append(
            {
                "title": f"v2 meeting {i}",
                "preferred_region": "ap-south-1" if i % 2 else None,
                "record_on_start": i == 0,
                "status": "INACTIVE" if i == 3 else "ACTIVE",
                "participants": [
                    {
                        "custom_participant_id": f"user-{i}-{j}",
                        "preset_name": "host" if j == 0 else "guest",
                        "name": f"Person {i}.{j}",
                        "picture": "https://avatars.example.invalid/a.png" if j else None,
                    }
                    for j in range(3)
                ],
                "recordings": [
                    {
                        "status": "UPLOADED",
                        "download_url": f"https://recordings.example.invalid/{i}.mp4",
                        "download_url_expiry": "2030-01-01T00:00:00.000Z",
                        "file_size": 1024.0,
                    }
                ]
                if i < 2
                else [],
            }
        )
    document = {
        "v1": {},
        "v2": {
            "presets": [host, guest],
            "meetings": meetings,
            "webhooks": [
                {"name": "all", "url": "https://hooks.example.invalid/a", "events": ["meeting.started"]},
                {"name": "off", "url": "https://hooks.example.invalid/b", "events": ["meeting.ended"], "enabled": False},
            ],
        },
    }
    path = tmp_path / "v2-org.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def org(tmp_path: Path, sandbox_factory: SandboxFactory) -> Any:
    return sandbox_factory(rate_limit=0, dataset=str(_dataset(tmp_path)))


@pytest.fixture
def ws(tmp_path: Path, org: Any) -> Workspace:
    return Workspace.for_sandbox(tmp_path, org, "realtimekit", "dyte-v2")


def test_v2_org_moves_to_realtimekit_exactly_with_fields_and_recordings_inventory(ws: Workspace, org: Any) -> None:
    result, plan = ws.run("plan")
    assert result.exit_code == EXIT_OK, result.output
    assert plan is not None and plan["counts"]["preset"]["create"] == 2
    result, migrated = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert_exact_copy(org, "realtimekit", "dyte-v2")
    rtk, source = V2(org, "realtimekit"), V2(org, "dyte-v2")
    assert Counter((m["title"], m["status"], m["record_on_start"]) for m in rtk.all("/meetings")) == Counter(
        (m["title"], m["status"], m["record_on_start"]) for m in source.all("/meetings")
    )
    assert all("preferred_region" not in m for m in rtk.all("/meetings"))
    assert {(w["name"], w["enabled"]) for w in rtk.webhooks()} == {("all", True), ("off", False)}
    guest = next(p for p in rtk.all("/presets") if p["name"] == "guest")
    whole = rtk.client.get(f"/presets/{guest['id']}").json()["data"]
    assert whole["config"]["view_type"] == "WEBINAR" and whole["config"]["media"]["video"]["quality"] == "hd"
    assert whole["permissions"]["plugins"]["config"] == {}  # v2's one plugin setting has no RealtimeKit field
    assert org.stats()["totals"]["v2_writes"] == 0, "the v2 source is only read"

    plan_report = json.loads((ws.reports / "plan.json").read_text())
    assert len(plan_report["recordings"]) == 2  # the inventory: recordings do not move
    ids = ws.root / "ids.csv"
    assert ws.run("export-ids", "--output", str(ids))[0].exit_code == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(ids.read_text())))
    recordings = [r for r in rows if r["kind"] == "recording"]
    rtk_meetings = {m["id"] for m in rtk.all("/meetings")}
    assert len(recordings) == 2 and all(r["download_url"] and r["v2_meeting_id"] in rtk_meetings for r in recordings)
    participants = [r for r in rows if r["kind"] == "participant"]
    assert len(participants) == 12 and all(r["custom_participant_id"] and r["preset_name"] for r in participants)

    result, verified = ws.run("verify")
    assert result.exit_code == EXIT_OK and verified is not None and verified["status"] == "clean", result.output
    writes = org.stats()["totals"]["rtk_writes"]
    result, again = ws.run("migrate")
    assert result.exit_code == EXIT_OK and org.stats()["totals"]["rtk_writes"] == writes


def test_drift_prune_and_rollback_hold_for_a_v2_source(ws: Workspace, org: Any) -> None:
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    rtk, source = V2(org, "realtimekit"), V2(org, "dyte-v2")
    webhook = next(w for w in rtk.webhooks() if w["name"] == "all")
    assert rtk.client.delete(f"/webhooks/{webhook['id']}").status_code == 200  # drift: deleted in the target
    gone = next(w for w in source.webhooks() if w["name"] == "off")
    assert source.client.delete(f"/webhooks/{gone['id']}").status_code == 200  # deleted in the source

    assert ws.run("plan")[0].exit_code == EXIT_OK
    entities = json.loads((ws.reports / "plan.json").read_text())["entities"]
    lost = [e["reason"] for e in entities if e["kind"] == "webhook" and e["label"] == "all"]
    assert lost == ["deleted in RealtimeKit after migration; created again"]  # the ledger names the target too

    result, migrated = ws.run("migrate", "--prune")
    assert result.exit_code == EXIT_OK, result.output
    assert {w["name"] for w in rtk.webhooks()} == {"all"}  # recreated once; the source's deletion pruned
    assert ws.run("verify")[0].exit_code == EXIT_OK

    result, rolled = ws.run("rollback", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    assert rtk.all("/presets") == [] and rtk.webhooks() == [] and rtk.participants() == []
    assert {m["status"] for m in rtk.all("/meetings")} == {"INACTIVE"}
    assert len(source.all("/meetings")) == 4 and len(source.all("/presets")) == 2, "rollback never touches the source"


def test_v2_source_with_a_v2_target_is_refused_in_one_line(tmp_path: Path, org: Any, monkeypatch: Any) -> None:
    ws = Workspace.for_sandbox(tmp_path, org, "dyte-v2", "dyte-v2")
    result = CliRunner().invoke(cli, ws.args("plan", json_out=False))
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip().count("\n") == 0 and "nothing to migrate" in result.stderr
    monkeypatch.setenv("DYTE_MIGRATE_SOURCE", "dyte-v2")
    result = CliRunner().invoke(cli, ["--target", "dyte-v2", "--credentials", str(ws.credentials), "plan"])
    assert result.exit_code == EXIT_USAGE and "nothing to migrate" in result.stderr
    assert org.stats()["totals"]["all"] == 0, "refused before any request"
