"""End to end through the CLI against the real sandbox: the issue's "done when" list."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import stat
import time

import pytest
from click.testing import CliRunner

from migrator.api import default_mappings_dir
from migrator.cli import cli
from migrator.errors import EXIT_LOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE

from .helpers import PAIRS, TITLES, V1, V2, Workspace, assert_exact_copy, v2_count, v2_writes, workspace_for_pair


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(rate_limit=0, meetings=12, participants=6)


@pytest.fixture
def ws(tmp_path, org):
    return Workspace.for_sandbox(tmp_path, org)


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_plan_migrate_verify_rerun(tmp_path, org, source, target):
    ws = workspace_for_pair(tmp_path, org, source, target)
    before = org.stats()["totals"]  # a v2 source was seeded: Dyte v2 writes already happened
    result, plan = ws.run("plan")
    assert result.exit_code == EXIT_OK, result.output
    assert plan["command"] == "plan" and plan["counts"]["participant"]["create"] > 0
    assert v2_writes(org) == before["v2_writes"] + before["rtk_writes"], "plan must not write to the target"
    overlay = "targets/realtimekit.yaml" if target == "realtimekit" else None
    report = json.loads((ws.reports / "plan.json").read_text())
    assert report["route"] == {"source": source, "target": target, "overlay": overlay}
    heading = (ws.reports / "plan.md").read_text().splitlines()[0]
    assert heading.startswith(f"## dyte-migrate plan ({TITLES[source]} → {TITLES[target]}): ")
    assert f"{TITLES[source]} → {TITLES[target]}" in (ws.reports / "plan.html").read_text()

    result, migrated = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert migrated["status"] == "complete"
    assert set(migrated["requests"]) >= {"v1", "v2", "retries", "throttled"}
    assert_exact_copy(org, target, source)
    untouched = "rtk_writes" if target == "dyte-v2" else "v2_writes"
    assert org.stats()["totals"][untouched] == before[untouched], "only the chosen target is written"

    result, verified = ws.run("verify")
    assert result.exit_code == EXIT_OK, result.output
    assert verified["status"] == "clean"
    assert verified["message"] == f"clean: {TITLES[target]} holds exactly what the mappings say for every {TITLES[source]} object"

    writes = v2_writes(org)
    result, again = ws.run("migrate")
    assert result.exit_code == EXIT_OK
    assert v2_writes(org) == writes, "a second migrate must write nothing"
    assert all(c["created"] == 0 and c["updated"] == 0 for c in again["counts"].values())


def test_changed_title_is_exactly_one_patch(ws, org):
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    v1 = V1(org)
    meeting = v1.all("/meetings", "meetings")[0]
    assert v1.client.put(f"/meetings/{meeting['id']}", json={"title": "Renamed ✓"}).status_code == 200
    writes, patches = v2_writes(org), v2_count(org, "PATCH", "/v2/meetings/{meeting_id}")
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK
    assert v2_writes(org) == writes + 1
    assert v2_count(org, "PATCH", "/v2/meetings/{meeting_id}") == patches + 1
    assert outcome["counts"]["meeting"]["updated"] == 1
    assert "Renamed ✓" in {m["title"] for m in V2(org).all("/meetings")}
    assert ws.run("verify")[0].exit_code == EXIT_OK


@pytest.mark.parametrize("side", ["v1", "v2"])
def test_wrong_credentials_exit_2_before_any_write(ws, org, side):
    creds = json.loads(ws.credentials.read_text())
    creds[side]["api_key"] = "wrong-key-" + side
    ws.credentials.write_text(json.dumps(creds))
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_USAGE
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error:") and "401" in errors[0]
    assert "wrong-key" not in result.output
    assert v2_writes(org) == 0


def test_batch_size_stops_with_exit_3_and_resumes(ws, org):
    result, outcome = ws.run("migrate", "--batch-size", "10")
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert outcome["status"] == "partial"
    assert v2_writes(org) == 10
    with sqlite3.connect(ws.ledger) as conn:
        assert conn.execute("SELECT command, status FROM runs ORDER BY id DESC LIMIT 1").fetchone() == ("migrate", "partial")
    result, outcome = ws.run("status")
    assert result.exit_code == EXIT_PARTIAL and outcome["status"] == "partial"  # status exits 3 while work remains
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK and outcome["status"] == "complete"
    assert_exact_copy(org)


def test_only_presets_then_the_rest(ws, org):
    result, outcome = ws.run("migrate", "--only", "presets")
    assert result.exit_code == EXIT_OK, result.output
    assert outcome["counts"]["preset"]["created"] > 0
    assert V2(org).all("/meetings") == []
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    assert_exact_copy(org)


def test_rollback_leaves_v2_as_before(ws, org):
    result, _ = ws.run("rollback")
    assert result.exit_code == EXIT_USAGE  # refuses without --yes
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    result, outcome = ws.run("rollback", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    v2 = V2(org)
    assert v2.all("/presets") == [] and v2.webhooks() == [] and v2.participants() == []
    assert {m["status"] for m in v2.all("/meetings")} == {"INACTIVE"}


def test_export_ids_and_status(ws, org):
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    out = ws.root / "ids.csv"
    result, outcome = ws.run("export-ids", "--format", "csv", "--output", str(out))
    assert result.exit_code == EXIT_OK
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    v2_meeting_ids = {m["id"] for m in V2(org).all("/meetings")}
    meetings = [r for r in rows if r["kind"] == "meeting"]
    assert {r["v2_id"] for r in meetings} == v2_meeting_ids and all(r["room_name"] for r in meetings)
    participants = [r for r in rows if r["kind"] == "participant"]
    assert participants and all(r["v2_id"] and r["v2_meeting_id"] in v2_meeting_ids for r in participants)
    result, outcome = ws.run("export-ids", "--format", "json", "--output", str(ws.root / "ids.json"))
    assert json.loads((ws.root / "ids.json").read_text())["ids"]
    result, outcome = ws.run("status")
    assert result.exit_code == EXIT_OK and outcome["status"] == "complete"
    assert outcome["details"]["route"] == {"source": "dyte-v1", "target": "dyte-v2"}  # recorded by migrate
    assert stat.S_IMODE(ws.ledger.stat().st_mode) == 0o600


def test_ledger_of_another_pair_exits_4(tmp_path, sandbox_factory):
    first = sandbox_factory(rate_limit=0, meetings=2, participants=1, random_seed=1)
    second = sandbox_factory(rate_limit=0, meetings=2, participants=1, random_seed=2)
    ws = Workspace.for_sandbox(tmp_path, first)
    assert ws.run("migrate")[0].exit_code == EXIT_OK
    (tmp_path / "other").mkdir()
    other_creds = Workspace.for_sandbox(tmp_path / "other", second).credentials
    result, outcome = Workspace(tmp_path, other_creds).run("migrate")  # same ledger, other orgs
    assert result.exit_code == EXIT_LOCKED
    assert "belongs to" in result.stderr
    assert v2_writes(second) == 0


def test_concurrent_run_exits_4(ws, org):
    from migrator.ledger import Ledger

    with Ledger.open(ws.ledger, (org.credentials["v1"]["org_id"], org.credentials["v2"]["org_id"])):
        result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_LOCKED
    assert outcome["status"] == "failed" and "locked" in outcome["error"]


def test_bad_mapping_file_exits_2_naming_file(ws, org, tmp_path):
    broken = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), broken)
    (broken / "meetings.yaml").write_text("fields: [this is: not: valid\n")
    result = CliRunner().invoke(cli, ["--mappings", str(broken), *ws.args("plan")])
    assert result.exit_code == EXIT_USAGE
    assert "meetings.yaml" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert v2_writes(org) == 0


def test_existing_v2_objects_are_adopted_or_flagged_as_conflicts(tmp_path, org):
    """A fresh ledger meets presets and webhooks already in v2: identical ones are adopted, changed ones conflict."""
    (tmp_path / "first").mkdir()
    first = Workspace.for_sandbox(tmp_path / "first", org)
    assert first.run("migrate", "--only", "presets,webhooks")[0].exit_code == EXIT_OK
    v2 = V2(org)
    changed = v2.all("/presets")[0]
    held = v2.client.get(f"/presets/{changed['id']}").json()["data"]["permissions"]["can_record"]
    response = v2.client.patch(f"/presets/{changed['id']}", json={"permissions": {"can_record": not held}})
    assert response.status_code == 200, response.text
    (tmp_path / "second").mkdir()
    second = Workspace.for_sandbox(tmp_path / "second", org)
    writes = v2_writes(org)
    result, plan = second.run("plan")
    assert result.exit_code == EXIT_OK
    assert plan["counts"]["preset"].get("conflict") == 1
    assert plan["counts"]["preset"].get("adopt") == len(v2.all("/presets")) - 1
    assert plan["counts"]["webhook"].get("adopt") == len(v2.webhooks())
    report = json.loads((second.reports / "plan.json").read_text())
    changed_rows = report["changed"]["rows"] if isinstance(report["changed"], dict) else report["changed"]
    conflicts = [row for row in changed_rows if row["action"] == "conflict"]
    assert [c["key"] for c in conflicts] == [changed["name"]]
    assert "permissions.can_record" in " ".join(conflicts[0]["paths"])
    result, outcome = second.run("migrate", "--only", "presets,webhooks", "--allow-existing")  # a first run next to them
    assert result.exit_code == 1  # the conflict is reported as failed, never overwritten
    assert outcome["counts"]["preset"]["adopted"] == len(v2.all("/presets")) - 1
    assert v2_writes(org) == writes


def test_check_and_extract(ws, org):
    result, outcome = ws.run("check")
    assert result.exit_code == EXIT_OK, result.output
    assert "v1:" in result.stderr and "v2:" in result.stderr and "mappings:" in result.stderr  # --json: humans on stderr
    assert outcome["status"] == "clean"
    result, outcome = ws.run("extract")
    assert result.exit_code == EXIT_OK
    assert outcome["details"]["counts"]["participant"] == 12 * 6
    assert v2_writes(org) == 0


def test_missing_credentials_is_one_line_exit_2(tmp_path, monkeypatch):
    for name in ("DYTE_V1_ORG_ID", "DYTE_V1_API_KEY", "DYTE_V2_ORG_ID", "DYTE_V2_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["--ledger", str(tmp_path / "l.sqlite"), "plan"])
    assert result.exit_code == EXIT_USAGE
    assert result.stderr.strip().startswith("error: v1 credentials incomplete") and "\n" not in result.stderr.strip()


def test_unreachable_host_is_one_line(tmp_path):
    creds = tmp_path / "creds.json"
    creds.write_text(
        json.dumps(
            {side: {"base_url": f"http://127.0.0.1:9/{side}", "org_id": "o", "api_key": "k-secret"} for side in ("v1", "v2")}
        )
    )
    result = CliRunner().invoke(
        cli, ["--credentials", str(creds), "--ledger", str(tmp_path / "l.sqlite"), "--timeout", "1", "check"]
    )
    assert result.exit_code == EXIT_USAGE
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the Dyte v1 API at http://127.0.0.1:9/v1")
    assert "Traceback" not in result.output
    assert "k-secret" not in result.output


def test_max_seconds_stops_with_exit_3_and_resumes(tmp_path, sandbox_factory):
    org = sandbox_factory(rate_limit=0, latency_ms=60, meetings=30, participants=10)
    ws = Workspace.for_sandbox(tmp_path, org)
    # The budget must end inside the writes (over 330 at 60 ms over 8 connections: >= 2.4 s of
    # them), wherever they start on a loaded machine: time what comes before them (a `plan`), add 0.8 s.
    started = time.monotonic()
    assert ws.run("plan")[0].exit_code == EXIT_OK
    budget = time.monotonic() - started + 0.8
    result, outcome = ws.run("migrate", "--max-seconds", f"{budget:.2f}")
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert outcome["status"] == "partial" and outcome["details"]["stopped"] == "max-seconds"
    stopped_after = v2_writes(org)
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK
    assert_exact_copy(org)
    assert 0 < stopped_after < v2_writes(org), "the first run wrote some, not all, of what the migration needed"
