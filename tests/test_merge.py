"""`ledger merge` refuses shard ledgers that cannot make one exact ledger, in one line (exit 4)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import cli
from migrator.errors import EXIT_LOCKED, EXIT_OK, EXIT_USAGE
from migrator.ledger import Ledger
from migrator.model import Action, Entity, Kind, State, WriteResult
from migrator.shards import Shard, shard_of

PAIR = ("org-1", "org-2")


def shard_ledger(path: Path, shard: str | None, *rows: tuple[Kind, str, str | None], pair=PAIR) -> Path:
    """A ledger as a shard run leaves it: entities (kind, key, v2 id or None) planned and written."""
    with Ledger.open(path, pair) as ledger:
        if shard is not None:
            ledger.bind_shard(shard)
        run = ledger.start_run("migrate")
        ledger.record_plan(
            Entity(kind, key, v1_id=key, action=Action.CREATE, desired={"name": key}, natural_key=key) for kind, key, _ in rows
        )
        ledger.record_results(
            run,
            [
                WriteResult(kind, key, State.DONE, "created", v2_id=v2, written={"name": key}, origin="created")
                for kind, key, v2 in rows
                if v2
            ],
        )
        ledger.end_run(run, "done", {})
    return path


def merge(tmp_path: Path, *ledgers: Path, output: str = "merged.sqlite"):
    return CliRunner().invoke(cli, ["ledger", "merge", *map(str, ledgers), "--output", str(tmp_path / output)])


def test_merge_keeps_every_shard_and_one_row_per_shared_preset(tmp_path):
    one = shard_ledger(tmp_path / "1.sqlite", "1/2", (Kind.PRESET, "host", "p-1"), (Kind.MEETING, "m-a", "v-a"))
    two = shard_ledger(tmp_path / "2.sqlite", "2/2", (Kind.PRESET, "host", None), (Kind.MEETING, "m-b", "v-b"))
    result = merge(tmp_path, two, one)
    assert result.exit_code == EXIT_OK, result.output
    with Ledger.open(tmp_path / "merged.sqlite", PAIR) as merged:
        merged.bind_shard("none")  # an unsharded run may use it
        assert merged.v2_ids(Kind.PRESET) == {"host": "p-1"}
        assert merged.v2_ids(Kind.MEETING) == {"m-a": "v-a", "m-b": "v-b"}


@pytest.mark.parametrize(
    "case, expected",
    [
        ("different pairs", "not one migration"),
        ("duplicate index", "are both shard 1/2"),
        ("mismatched N", "not one split"),
        ("missing shard", "shard 2/2 is missing"),
        ("overlap", "meeting m-a is in shard 1/2 and in shard 2/2"),
        ("preset v2 ids differ", "preset host is target id p-1 in shard 1/2 but target id p-9 in shard 2/2"),
        ("unsharded ledger", "is not a shard's ledger"),
    ],
)
def test_merge_refuses_in_one_line_naming_the_shard_or_entity(tmp_path, case, expected):
    one = shard_ledger(tmp_path / "1.sqlite", "1/2", (Kind.PRESET, "host", "p-1"), (Kind.MEETING, "m-a", "v-a"))
    second = {
        "different pairs": lambda p: shard_ledger(p, "2/2", pair=("org-1", "org-3")),
        "duplicate index": lambda p: shard_ledger(p, "1/2"),
        "mismatched N": lambda p: shard_ledger(p, "2/3"),
        "missing shard": None,
        "overlap": lambda p: shard_ledger(p, "2/2", (Kind.MEETING, "m-a", "v-z")),
        "preset v2 ids differ": lambda p: shard_ledger(p, "2/2", (Kind.PRESET, "host", "p-9")),
        "unsharded ledger": lambda p: shard_ledger(p, None, (Kind.MEETING, "m-b", "v-b")),
    }[case]
    ledgers = [one] + ([second(tmp_path / "2.sqlite")] if second else [])
    result = merge(tmp_path, *ledgers)
    assert result.exit_code == EXIT_LOCKED, result.output
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert not (tmp_path / "merged.sqlite").exists(), "a refused merge left a half ledger"


def test_merge_never_overwrites(tmp_path):
    one = shard_ledger(tmp_path / "1.sqlite", "1/1", (Kind.MEETING, "m-a", "v-a"))
    (tmp_path / "merged.sqlite").write_text("keep me")
    result = merge(tmp_path, one)
    assert result.exit_code == EXIT_USAGE and "already exists" in result.stderr
    assert (tmp_path / "merged.sqlite").read_text() == "keep me"


def test_a_running_shard_is_not_merged(tmp_path):
    one = shard_ledger(tmp_path / "1.sqlite", "1/1", (Kind.MEETING, "m-a", "v-a"))
    with Ledger.open(one, PAIR):  # holds the run lock, as a running migrate does
        result = merge(tmp_path, one)
    assert result.exit_code == EXIT_LOCKED and "locked" in result.stderr


def test_shard_assignment_is_stable_and_covers_every_id():
    ids = [f"meeting-{i}" for i in range(400)]
    for count in (1, 2, 4):
        owners = [[Shard(i, count).owns(mid) for i in range(1, count + 1)] for mid in ids]
        assert all(sum(o) == 1 for o in owners)
        assert {shard_of(mid, count) for mid in ids} == set(range(1, count + 1))
    # pinned: a different hash would move meetings between the shards of a split already under way
    assert shard_of("0f3c2a4e-7b1d-4c55-9a8e-2b6d1e0f9a11", 4) == 1
