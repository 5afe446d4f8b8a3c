"""The ledger: file mode, lock, org-pair binding, corruption, snapshot, intent/results."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap

import pytest

from migrator.errors import EXIT_LOCKED, EXIT_USAGE, LedgerConflict, LedgerError
from migrator.ledger import Ledger, content_hash
from migrator.model import Entity, Kind, State, WriteResult

DONE, INTENT, PENDING = State.DONE, State.INTENT, State.PENDING

PAIR = ("v1-org", "v2-org")


def test_ledger_files_are_owner_only(tmp_path):
    path = tmp_path / "l" / "ledger.sqlite"
    with Ledger.open(path, PAIR) as ledger:
        run = ledger.start_run("extract")
        ledger.put_snapshot(run, "meeting", [("m1", None, {"id": "m1"})])
    for candidate in tmp_path.joinpath("l").iterdir():
        mode = stat.S_IMODE(os.stat(candidate).st_mode)
        assert mode & 0o077 == 0, f"{candidate.name} is readable by others: {oct(mode)}"


def test_second_process_is_refused_with_exit_4(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, PAIR):
        probe = textwrap.dedent(f"""
            from pathlib import Path
            from migrator.ledger import Ledger
            from migrator.errors import LedgerConflict
            try:
                Ledger.open(Path({str(path)!r}), {PAIR!r})
            except LedgerConflict as exc:
                print("conflict", exc.exit_code)
        """)
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == f"conflict {EXIT_LOCKED}"


def test_lock_is_released_on_close(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path, PAIR).close()
    Ledger.open(path, PAIR).close()


def test_ledger_of_another_org_pair_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger.open(path, PAIR).close()
    with pytest.raises(LedgerConflict) as info:
        Ledger.open(path, ("v1-org", "other-v2"))
    assert info.value.exit_code == EXIT_LOCKED
    assert "belongs to source org v1-org -> target v2-org, not v1-org -> other-v2" in str(info.value)


@pytest.mark.parametrize("content", [b"this is not sqlite at all" * 100, b"SQLite format 3\x00" + b"\x00" * 50])
def test_corrupt_ledger_is_a_one_line_config_error(tmp_path, content):
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(content)
    with pytest.raises(LedgerError) as info:
        Ledger.open(path, PAIR)
    assert info.value.exit_code == EXIT_USAGE
    assert "\n" not in str(info.value)


def test_foreign_sqlite_file_is_refused(tmp_path):
    import sqlite3

    path = tmp_path / "other.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE something (x)").connection.commit()
    with pytest.raises(LedgerError, match="not a dyte-migrate ledger"):
        Ledger.open(path, PAIR)


def test_snapshot_keeps_one_row_per_object_and_forgets_vanished_ones(tmp_path):
    with Ledger.open(tmp_path / "l.sqlite", PAIR) as ledger:
        first = ledger.start_run("extract")
        ledger.put_snapshot(first, "meeting", [("m1", None, {"id": "m1", "title": "a"}), ("m2", None, {"id": "m2"})])
        ledger.finish_snapshot(first)
        second = ledger.start_run("extract")
        ledger.put_snapshot(second, "meeting", [("m1", None, {"id": "m1", "title": "b"})])
        removed = ledger.finish_snapshot(second)
        assert removed == 1
        assert list(ledger.snapshot("meeting")) == [{"id": "m1", "title": "b"}]


def test_content_hash_ignores_key_order():
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 2})


def test_intent_then_result_round_trip(tmp_path):
    with Ledger.open(tmp_path / "l.sqlite", PAIR) as ledger:
        run = ledger.start_run("migrate")
        ledger.record_plan([Entity(Kind.MEETING, "m1", v1_id="m1", desired={"title": "t"}, natural_key="t")])
        entity = ledger.entity("meeting", "m1")
        assert entity.state == PENDING
        ledger.mark_intent(run, [entity], "intent:create")
        assert ledger.entity("meeting", "m1").state == INTENT
        ledger.record_results(
            run, [WriteResult(Kind.MEETING, "m1", DONE, "created", v2_id="v2-m1", written={"title": "t"}, origin="created")]
        )
        done = ledger.entity("meeting", "m1")
        assert (done.state, done.v2_id, done.written, done.origin) == (DONE, "v2-m1", {"title": "t"}, "created")
        events = ledger.events(Kind.MEETING, "m1")
        assert events == ["intent:create", "created"]
        # re-planning keeps what was written and the state
        ledger.record_plan([Entity(Kind.MEETING, "m1", v1_id="m1", desired={"title": "u"}, natural_key="u")])
        again = ledger.entity("meeting", "m1")
        assert (again.state, again.v2_id, again.written, again.desired) == (DONE, "v2-m1", {"title": "t"}, {"title": "u"})
