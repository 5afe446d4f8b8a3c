"""One migration split across shards (`--shard I/N`) as separate processes, then `ledger merge`.

Exactness is counted on the sandbox through the v1 and v2 APIs (assert_exact_copy), not
read from the ledgers.
"""

from __future__ import annotations

import signal
import subprocess
import sys

from migrator.errors import EXIT_LOCKED, EXIT_OK, EXIT_USAGE

from .helpers import Workspace, assert_exact_copy, v2_count, v2_writes
from .test_crash_resume import _wait_for_writes

SHARDS = 3


def _shard_workspace(tmp_path, org, index: int) -> Workspace:
    root = tmp_path / f"shard{index}"
    root.mkdir()
    return Workspace.for_sandbox(root, org)


def _all_shards(workspaces: list[Workspace]) -> list[tuple[int, str]]:
    procs = [ws.spawn("migrate", "--shard", f"{i}/{SHARDS}") for i, ws in enumerate(workspaces, 1)]
    errors = [p.communicate(timeout=240)[1] for p in procs]
    return [(p.returncode, err) for p, err in zip(procs, errors, strict=True)]


def _merge(tmp_path, workspaces: list[Workspace], name: str = "merged.sqlite"):
    merged = Workspace(tmp_path, workspaces[0].credentials)
    return merged.run("ledger", "merge", *[str(ws.ledger) for ws in workspaces], "--output", str(tmp_path / name))


def test_shards_killed_and_restarted_merge_to_an_exact_copy_and_rerun_writes_nothing(tmp_path, sandbox_factory):
    org = sandbox_factory(rate_limit=0, latency_ms=20, meetings=24, participants=6)
    workspaces = [_shard_workspace(tmp_path, org, i) for i in range(1, SHARDS + 1)]
    procs = [ws.spawn("migrate", "--shard", f"{i}/{SHARDS}") for i, ws in enumerate(workspaces, 1)]
    _wait_for_writes(workspaces[1], procs[1], 10)
    procs[1].send_signal(signal.SIGKILL)
    for proc in procs:
        proc.communicate(timeout=240)
    assert procs[1].returncode == -signal.SIGKILL
    assert [p.returncode for p in procs if p is not procs[1]] == [EXIT_OK, EXIT_OK]

    restarted = workspaces[1].spawn("migrate", "--shard", f"2/{SHARDS}")
    _, err = restarted.communicate(timeout=240)
    assert restarted.returncode == EXIT_OK, err[-500:]

    result, outcome = _merge(tmp_path, workspaces)
    assert result.exit_code == EXIT_OK, result.output
    assert_exact_copy(org)

    merged = Workspace(tmp_path, workspaces[0].credentials)
    merged_ledger = tmp_path / "merged.sqlite"
    status = subprocess.run(
        [sys.executable, "-m", "migrator", "--ledger", str(merged_ledger), "status"], capture_output=True, text=True
    )
    assert status.returncode == EXIT_OK, status.stdout + status.stderr
    verify = merged.run("--ledger", str(merged_ledger), "verify")[0]
    assert verify.exit_code == EXIT_OK, verify.output

    writes = v2_writes(org)
    assert all(code == EXIT_OK for code, _ in _all_shards(workspaces))
    assert v2_writes(org) == writes, "a second run of every shard wrote to v2"
    unsharded = merged.run("--ledger", str(merged_ledger), "migrate")[0]
    assert unsharded.exit_code == EXIT_OK, unsharded.output
    assert v2_writes(org) == writes, "an unsharded run on the merged ledger wrote to v2"


def test_a_shard_reads_and_speaks_only_for_its_meetings(tmp_path, sandbox_factory):
    org = sandbox_factory(rate_limit=0, meetings=12, participants=3)
    ws = _shard_workspace(tmp_path, org, 1)
    result, outcome = ws.run("plan", "--shard", "1/4")
    assert result.exit_code == EXIT_OK, result.output
    planned = outcome["counts"]["meeting"]
    assert 0 < sum(planned.values()) < 12
    participant_reads = v2_count(org, "GET", "/v1/organizations/{organizationId}/meetings/{meetingId}/participants")
    assert participant_reads == sum(planned.values()), "a shard read the participants of another shard's meetings"
    result, _ = ws.run("export-ids", "--shard", "1/4", "--format", "json")
    assert result.exit_code == EXIT_OK
    result, _ = ws.run("export-ids", "--shard", "2/4")
    assert result.exit_code == EXIT_LOCKED
    assert result.stderr.count("\n") == 1 and "shard 1/4" in result.stderr


def test_bad_shard_is_a_usage_error(tmp_path, sandbox_factory):
    org = sandbox_factory(rate_limit=0, dataset="empty")
    ws = Workspace.for_sandbox(tmp_path, org)
    for bad in ("0/2", "3/2", "1/0", "a/b", "2", "1/2/3", "-1/2"):
        result, _ = ws.run("migrate", "--shard", bad)
        assert result.exit_code == EXIT_USAGE, (bad, result.output)
        assert "--shard" in result.stderr
    assert not ws.ledger.exists()


def test_a_shard_ledger_refuses_another_split(tmp_path, sandbox_factory):
    org = sandbox_factory(rate_limit=0, meetings=4, participants=2)
    ws = Workspace.for_sandbox(tmp_path, org)
    assert ws.run("plan", "--shard", "1/2")[0].exit_code == EXIT_OK
    for other in (["--shard", "1/3"], ["--shard", "2/2"], []):
        result, _ = ws.run("migrate", *other)
        assert result.exit_code == EXIT_LOCKED, result.output
        assert result.stderr.count("\n") == 1 and "shard 1/2" in result.stderr
    assert ws.run("plan", "--shard", "1/2")[0].exit_code == EXIT_OK
