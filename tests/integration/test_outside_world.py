"""Where the world differs from one ledger (issue 10): counted through the sandbox's APIs.

Variant names that could be read two ways, a webhook already in v2 under another name,
the same ledger reached through a symlink, and the default ledger found from any folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import yaml

from migrator.api import default_mappings_dir
from migrator.cli import read_outcome
from migrator.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE
from migrator.sandbox.dataset import _role

from .helpers import PAIRS, V2, Workspace, assert_exact_copy, get_json, seed_v2_org, v2_writes


def _write(path: Path, document: dict[str, Any]) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# ---------------------------------------------------------------- variant names (item 4)
def _clashing_roles_org() -> dict[str, Any]:
    """The issue's example: role `x` (a host who waits) in a waiting-room meeting, and role
    `x--waiting-room` (a viewer) in a meeting without one, both with preset `foo`."""
    base = _role(
        admin=False,
        waiting_room="skipOnAccept",
        video=(True, "vga", 24),
        audio=True,
        screenshare=(False, "vga", 5),
        polls=False,
        chat=(True, False),
        reactions=False,
    )
    host = _role(
        admin=True,
        waiting_room="skipOnAccept",
        video=(True, "hd", 30),
        audio=True,
        screenshare=(True, "hd", 5),
        polls=True,
        chat=(True, True),
        reactions=True,
        recording=True,
    )
    viewer = _role(
        admin=False,
        waiting_room="skip",
        video=(False, "vga", 24),
        audio=False,
        screenshare=(False, "vga", 5),
        polls=False,
        chat=(True, False),
        reactions=False,
    )
    return {
        "v1": {
            "roles": [{"name": "base", "role": base}, {"name": "x", "role": host}, {"name": "x--waiting-room", "role": viewer}],
            "presets": [{"name": "foo", "preset": {"role": "base", "uiConfig": {}}}],
            "meetings": [
                {
                    "title": "with a waiting room",
                    "presetName": "foo",
                    "authorization": {"waitingRoom": True},
                    "participants": [{"clientSpecificId": "host-in-waiting-room", "roleName": "x"}],
                },
                {
                    "title": "without one",
                    "presetName": "foo",
                    "authorization": {"waitingRoom": False},
                    "participants": [{"clientSpecificId": "viewer-elsewhere", "roleName": "x--waiting-room"}],
                },
            ],
            "webhooks": [],
        },
        "v2": {},
    }


def test_two_choices_whose_readable_names_clash_get_two_presets(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, dataset=str(_write(tmp_path / "org.json", _clashing_roles_org())))
    ws = Workspace.for_sandbox(tmp_path, org)
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output

    v2 = V2(org)
    preset_of = {p["custom_participant_id"]: p["preset_name"] for p in v2.participants()}
    assert preset_of["host-in-waiting-room"] != preset_of["viewer-elsewhere"]
    presets = {p["name"]: get_json(v2.client, f"/presets/{p['id']}")["data"] for p in v2.all("/presets")}
    host, viewer = presets[preset_of["host-in-waiting-room"]], presets[preset_of["viewer-elsewhere"]]
    assert host["permissions"]["kick_participant"] is True
    assert host["permissions"]["waiting_room_type"] == "SKIP_ON_ACCEPT"
    assert viewer["permissions"]["kick_participant"] is False
    assert viewer["permissions"]["waiting_room_type"] == "SKIP"
    assert viewer["permissions"]["media"]["video"]["can_produce"] == "NOT_ALLOWED"
    assert preset_of["host-in-waiting-room"] == "foo--role-x--waiting-room", "the unambiguous name stays readable"


def test_a_generated_name_clash_is_a_plan_warning_and_a_conflict(sandbox_factory, tmp_path):
    """Templates edited so that they lose the distinction: the plan says so, migrate merges nothing."""
    mappings = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), mappings)
    presets = yaml.safe_load((mappings / "presets.yaml").read_text(encoding="utf-8"))
    presets["variant_names"].update(
        {"role": "{preset}-{role}", "role_and_waiting_room": "{preset}-{role}-wr", "waiting_room": "{preset}-wr"}
    )
    (mappings / "presets.yaml").write_text(yaml.safe_dump(presets, allow_unicode=True), encoding="utf-8")
    document = _clashing_roles_org()
    document["v1"]["roles"][2]["name"] = "x-wr"  # "foo-x-wr": role x-wr, or role x with a waiting room
    document["v1"]["meetings"][1]["participants"][0]["roleName"] = "x-wr"
    org = sandbox_factory(rate_limit=0, dataset=str(_write(tmp_path / "org.json", document)))
    ws = Workspace.for_sandbox(tmp_path, org)

    result, plan = ws.run("--mappings", str(mappings), "plan")
    assert result.exit_code == EXIT_OK, result.output
    assert plan["counts"]["preset"].get("conflict") == 1 and plan["counts"]["participant"].get("conflict") == 2
    report = json.loads((ws.reports / "plan.json").read_text(encoding="utf-8"))
    assert [w for w in report["warnings"] if "'foo-x-wr' is generated for" in w], report["warnings"]

    result, migrated = ws.run("--mappings", str(mappings), "migrate")
    assert result.exit_code == EXIT_FAILED, result.output
    v2 = V2(org)
    assert "foo-x-wr" not in {p["name"] for p in v2.all("/presets")}
    assert v2.participants() == [], "no participant may land in a preset meant for another choice"


# ---------------------------------------------------------------- webhooks (item 5)
def test_a_webhook_already_in_v2_under_another_name_is_not_created_again(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, meetings=2, participants=1)
    v2 = V2(org)
    url = "https://hooks.example.invalid/dyte/meetings"  # the sample's "meeting lifecycle" webhook
    made = v2.client.post("/webhooks", json={"name": "made by hand", "url": url, "events": ["meeting.started"]})
    assert made.status_code in (200, 201), made.text
    ws = Workspace.for_sandbox(tmp_path, org)

    for _ in range(2):  # a first run next to a look-alike needs --allow-existing (the first-run guard)
        result, outcome = ws.run("migrate", "--allow-existing")
        assert result.exit_code in (EXIT_OK, EXIT_FAILED), result.output
    per_url = Counter(h["url"] for h in v2.webhooks())
    assert per_url[url] == 1, "a receiver must get each event once"
    assert all(n == 1 for n in per_url.values()), per_url


# ---------------------------------------------------------------- the default ledger (item 1)
def _cli(
    cwd: Path,
    credentials: Path,
    *command: str,
    ledger: Path | None = None,
    env: dict[str, str] | None = None,
    pair: tuple[str, str] = PAIRS[0],
) -> subprocess.Popen[str]:
    """`dyte-migrate` as a user runs it in `cwd`: no --ledger unless given, so the default applies."""
    args = [
        "--credentials",
        str(credentials),
        "--source",
        pair[0],
        "--target",
        pair[1],
        "--target-rate-limit",
        "0",
        "--reports-dir",
        str(cwd / "reports"),
        "--rate-limit",
        "0",
        "--timeout",
        "5",
        "--no-progress",
        "--json",
        *(["--ledger", str(ledger)] if ledger else []),
        *command,
    ]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DYTE_")}
    return subprocess.Popen(
        [sys.executable, "-m", "migrator", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env={**clean, **(env or {})},
    )


def _done(proc: subprocess.Popen[str], *codes: int) -> dict[str, Any]:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode in (codes or (EXIT_OK,)), f"exit {proc.returncode}: {err[-800:]}"
    return read_outcome(out) or {}


def _v2_totals(org: Any, target: str = "dyte-v2") -> dict[str, int]:
    v2 = V2(org, target)
    return {
        "meetings": len(v2.all("/meetings")),
        "participants": len(v2.participants()),
        "presets": len(v2.all("/presets")),
        "webhooks": len(v2.webhooks()),
    }


@pytest.mark.parametrize("pair", PAIRS, ids="-to-".join)
def test_migrate_from_two_folders_and_the_python_api_creates_nothing_twice(sandbox_factory, tmp_path, monkeypatch, pair):
    source, target = pair
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # the sandbox's org ids recur: no default ledger shared
    org = sandbox_factory(rate_limit=0, meetings=6, participants=3)
    if source == "dyte-v2":
        seed_v2_org(tmp_path, org)
    credentials = _write(tmp_path / "credentials.json", org.credentials)
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir(), second.mkdir()

    _done(_cli(first, credentials, "migrate", pair=pair))
    assert_exact_copy(org, target, source)
    after_first = _v2_totals(org, target)
    writes = v2_writes(org)
    again = _done(_cli(second, credentials, "migrate", pair=pair))
    assert v2_writes(org) == writes and _v2_totals(org, target) == after_first, again.get("counts")

    from migrator.api import Migration, Options
    from migrator.settings import load_credentials

    outcome = Migration(
        load_credentials(credentials, target=target, source=source),  # the README's snippet, without a ledger path
        Options(reports_dir=tmp_path / "api-reports", rate_per_minute=0, target_rate_per_minute=0),
    ).migrate()
    assert outcome.status == "complete" and outcome.details["writes"] == 0
    assert v2_writes(org) == writes and _v2_totals(org, target) == after_first
    assert_exact_copy(org, target, source)

    # no network, same ledger, found from the credentials of the pair
    status = _done(_cli(second, credentials, "status", pair=pair))
    assert status["status"] == "complete" and sum(status["counts"]["participant"].values()) == 18
    exported = _done(_cli(second, credentials, "export-ids", pair=pair))["ids"]
    assert sum(1 for row in exported if row["kind"] == "participant") == 18
    copy = tmp_path / "copy.sqlite"
    _done(_cli(second, credentials, "ledger", "backup", str(copy), pair=pair))
    assert _done(_cli(first, credentials, "status", ledger=copy, pair=pair))["status"] == "complete"


def test_status_without_credentials_or_ledger_says_what_to_pass(tmp_path):
    proc = _cli(tmp_path, tmp_path / "missing.json", "status")
    out, err = proc.communicate(timeout=60)
    lines = [line for line in err.splitlines() if line.strip()]
    assert proc.returncode == EXIT_USAGE and len(lines) == 1, err
    assert "--ledger" in lines[0]


def test_a_backup_taken_after_sigkill_resumes_without_duplicates(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, latency_ms=30, meetings=15, participants=8, random_seed=12)
    credentials = _write(tmp_path / "credentials.json", org.credentials)
    ledger = tmp_path / "ci" / "ledger.sqlite"
    ledger.parent.mkdir()
    proc = _cli(tmp_path, credentials, "migrate", ledger=ledger)
    deadline = time.monotonic() + 60
    while _created(ledger) < 40:
        assert proc.poll() is None and time.monotonic() < deadline, "the migration ended before the kill point"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert Path(f"{ledger}-wal").stat().st_size > 0, "the state must still be in the -wal for this test to mean anything"

    copy_path = tmp_path / "artifact" / "ledger-copy.sqlite"
    backup = _done(_cli(tmp_path, credentials, "ledger", "backup", str(copy_path), ledger=ledger))
    assert backup["status"] == "complete" and copy_path.is_file()
    assert not Path(f"{copy_path}-wal").exists(), "the copy is one file"
    shutil.rmtree(ledger.parent)  # the CI job is gone; only the artifact is left

    _done(_cli(tmp_path, credentials, "migrate", ledger=copy_path))
    assert_exact_copy(org)  # 0 lost, 0 duplicated, counted through v1's and v2's APIs
    assert _done(_cli(tmp_path, credentials, "verify", ledger=copy_path))["status"] == "clean"


def _created(ledger: Path) -> int:
    try:
        with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1)) as conn:
            return int(conn.execute("SELECT count(*) FROM journal WHERE event = 'created'").fetchone()[0])
    except sqlite3.Error:
        return 0


# ---------------------------------------------------------------- the lock (item 6)
def test_the_same_ledger_through_a_symlink_cannot_run_twice_at_once(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, latency_ms=100, meetings=10, participants=6, random_seed=13)
    credentials = _write(tmp_path / "credentials.json", org.credentials)
    real = tmp_path / "real" / "ledger.sqlite"
    real.parent.mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    first = _cli(tmp_path, credentials, "migrate", "--concurrency", "1", ledger=real)  # slow: ~10 s, even on a busy machine
    deadline = time.monotonic() + 60
    while _created(real) < 5:
        assert first.poll() is None and time.monotonic() < deadline, "the first migration ended too early"
        time.sleep(0.05)
    second = _cli(tmp_path, credentials, "migrate", ledger=tmp_path / "link" / "ledger.sqlite")
    out, err = second.communicate(timeout=120)
    assert second.returncode == EXIT_LOCKED, err[-500:]
    assert "locked by another dyte-migrate run" in err and first.poll() is None
    _done(first)
    assert_exact_copy(org)


def test_two_ledgers_of_one_org_pair_cannot_run_at_once(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, latency_ms=100, meetings=10, participants=6, random_seed=14)
    credentials = _write(tmp_path / "credentials.json", org.credentials)
    first = _cli(tmp_path, credentials, "migrate", "--concurrency", "1", ledger=tmp_path / "a.sqlite")
    deadline = time.monotonic() + 60
    while _created(tmp_path / "a.sqlite") < 5:
        assert first.poll() is None and time.monotonic() < deadline, "the first migration ended too early"
        time.sleep(0.05)
    second = _cli(tmp_path, credentials, "migrate", ledger=tmp_path / "b.sqlite")
    out, err = second.communicate(timeout=120)
    assert second.returncode == EXIT_LOCKED and "org pair" in err, err[-500:]
    assert first.poll() is None, "the first run must still have been running"
    _done(first)
    assert_exact_copy(org)
