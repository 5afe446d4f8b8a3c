"""Kill -9 at arbitrary moments on a faulty network, restart, and end exact; signals stop gracefully."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time

import pytest

from migrator.errors import EXIT_OK, EXIT_PARTIAL

from .helpers import PAIRS, Workspace, assert_exact_copy, workspace_for_pair

FAULTS = "commit-then-drop:0.05,503:0.05,reset:0.02"


def _wait_for_writes(ws: Workspace, proc: subprocess.Popen[str], n: int, timeout: float = 60) -> None:
    """Block until the ledger journal shows `n` v2 creates (the run is mid-migration)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"migrate ended early with {proc.returncode}: {proc.communicate()[1][-500:]}")
        if ws.ledger.exists():
            try:
                with sqlite3.connect(f"file:{ws.ledger}?mode=ro", uri=True, timeout=1) as conn:
                    if conn.execute("SELECT count(*) FROM journal WHERE event = 'created'").fetchone()[0] >= n:
                        return
            except sqlite3.Error:
                pass
        time.sleep(0.05)
    raise AssertionError("the migration never got going")


def _finish(ws: Workspace, tries: int = 4) -> None:
    for _ in range(tries):
        proc = ws.spawn("migrate")
        out, err = proc.communicate(timeout=240)
        if proc.returncode == EXIT_OK:
            return
    raise AssertionError(f"migrate did not complete: exit {proc.returncode}: {err[-500:]}")


@pytest.mark.parametrize(("source", "target"), PAIRS)
def test_sigkill_at_random_moments_then_resume_is_exact(tmp_path, sandbox_factory, source, target):
    org = sandbox_factory(
        rate_limit=0, latency_ms=30, meetings=15, participants=10, faults=FAULTS, random_seed=11, fault_hang_seconds=1
    )
    ws = workspace_for_pair(tmp_path, org, source, target)
    rng = random.Random(2024)
    kills = 0
    for _ in range(6):
        proc = ws.spawn("migrate")
        time.sleep(rng.uniform(0.5, 2.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.communicate(timeout=60)
    assert kills >= 3, "the migration finished before most kill points; slow it down"
    _finish(ws)
    assert_exact_copy(org, target, source)
    verify = ws.spawn("verify")
    out, err = verify.communicate(timeout=240)
    assert verify.returncode == EXIT_OK, err[-500:]


def test_sigterm_stops_gracefully_with_exit_3_and_resumes(tmp_path, sandbox_factory):
    org = sandbox_factory(rate_limit=0, latency_ms=50, meetings=20, participants=15, random_seed=5)
    ws = Workspace.for_sandbox(tmp_path, org)
    proc = ws.spawn("migrate")
    _wait_for_writes(ws, proc, 20)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == EXIT_PARTIAL, err[-500:]
    assert err.strip().count("\n") == 0 or "error" not in err  # one line at most, no traceback
    assert "Traceback" not in err
    status = ws.spawn("status")
    status.communicate(timeout=60)
    _finish(ws, tries=1)
    assert_exact_copy(org)
