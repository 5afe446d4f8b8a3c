"""Exit codes when the world outside v2 fails (issue 10, item 9): the ledger's disk, the reports folder.

Counted through the sandbox: a failure after v2 writes started never says "nothing written"
(exit 2), and a run resumed afterwards ends exact.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

from click.testing import CliRunner

from migrator.cli import cli, read_outcome
from migrator.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL
from migrator.ledger import Ledger

from .helpers import Workspace, assert_exact_copy, v2_writes


def test_disk_full_after_writes_started_is_resumable_and_names_the_ledger(sandbox_factory, tmp_path, monkeypatch):
    """SQLite's own SQLITE_FULL ("database or disk is full"), the error a full disk gives: the
    ledger file may not grow past its size at the third batch of intents."""
    org = sandbox_factory(rate_limit=0, meetings=8, participants=5)
    ws = Workspace.for_sandbox(tmp_path, org)
    original, batches = Ledger.mark_intent, []

    def filling_disk(self, run_id, entities, event):  # type: ignore[no-untyped-def]
        batches.append(len(entities))
        if len(batches) == 3:
            pages = self._conn.execute("PRAGMA page_count").fetchone()[0]
            self._conn.execute(f"PRAGMA max_page_count = {pages}")  # the fault: private on purpose
        return original(self, run_id, entities, event)

    monkeypatch.setattr(Ledger, "mark_intent", filling_disk)
    result = CliRunner().invoke(cli, ws.args("migrate"), catch_exceptions=False)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert v2_writes(org) > 0, "the disk must fill after v2 writes started"
    assert result.exit_code == EXIT_PARTIAL, result.output
    assert len(errors) == 1 and str(ws.ledger) in errors[0] and "full" in errors[0], errors
    assert "corrupt" not in errors[0] and "nothing written" not in result.output
    assert read_outcome(result.stdout)["status"] == "partial"

    monkeypatch.undo()  # space freed: the next run resumes
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert_exact_copy(org)  # 0 lost, 0 duplicated, through v1's and v2's APIs


def test_an_unwritable_reports_folder_after_a_complete_migrate(sandbox_factory, tmp_path):
    org = sandbox_factory(rate_limit=0, meetings=4, participants=3)
    ws = Workspace.for_sandbox(tmp_path, org)
    ws.reports.write_text("a file where the reports folder should be")  # root ignores permission bits
    result, outcome = ws.run("migrate")
    assert result.exit_code == EXIT_FAILED, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and str(ws.reports) in warnings[0], result.stderr
    assert "internal error" not in result.output and "Traceback" not in result.output
    assert outcome["status"] == "complete" and "migration itself finished" in outcome["message"]
    with closing(sqlite3.connect(ws.ledger)) as conn:
        assert conn.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0] == "complete"
    assert_exact_copy(org)
    writes = v2_writes(org)
    ws.reports.unlink()
    result, again = ws.run("migrate")
    assert result.exit_code == EXIT_OK and v2_writes(org) == writes
