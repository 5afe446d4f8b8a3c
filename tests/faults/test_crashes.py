"""Crashes and signals: `migrate` as a subprocess, killed and restarted until done.

tests/integration/test_crash_resume.py already kills one org six times at random
moments and stops one run with SIGTERM. This file widens both:

* SIGKILL over several seeds at kill points of three kinds: a random moment (startup,
  extract, plan or writes), after a given number of new v2 writes, and *inside a write
  batch* (the ledger shows intents committed whose answers are not yet recorded; the
  dead run must leave them in state `intent` for the next run to reconcile). After
  each kill the run is restarted; in the end v2 must be exact (nothing lost, nothing
  duplicated, every object known to the ledger) and `verify` clean.
* SIGINT and SIGTERM, during extract and during writes: exit 3, one line, and a
  consistent ledger (integrity ok, no intent left, the run marked interrupted, every
  target object known), then a resume ends exact.

Seeds and stops are spread over the (source, target) pairs, not multiplied by them.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from migrator.errors import EXIT_OK, EXIT_PARTIAL
from tests.integration.helpers import PAIRS

from .support import Cli, Org, exactness, pair_of, unknown_v2_objects
from .tally import Tally

KILL_FAULTS = "commit-then-drop:0.03,503:0.03,reset:0.02,timeout:0.01"


def ledger_probe(ledger: Path, since: tuple[int, int] = (0, 0)) -> dict[str, int] | None:
    """What the ledger shows right now (another process is writing it), or None if unreadable.

    `since` = (last run id, last journal seq) before the current process started, so that
    what a previous, killed run left behind (its intents) is not taken for this run's work.
    """
    if not ledger.exists():
        return None
    last_run, last_seq = since
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=0.5) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "entities" not in tables:
                return None
            run = conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()[0]
            seq = conn.execute("SELECT coalesce(max(seq), 0) FROM journal").fetchone()[0]
            written = conn.execute(
                "SELECT count(*) FROM journal WHERE event IN ('created', 'adopted') AND seq > ?", (last_seq,)
            ).fetchone()[0]
            intents = conn.execute(
                "SELECT count(*) FROM entities e WHERE e.state = 'intent' AND EXISTS (SELECT 1 FROM journal j "
                "WHERE j.kind = e.kind AND j.key = e.key AND j.event LIKE 'intent:%' AND j.seq > ?)",
                (last_seq,),
            ).fetchone()[0]
            pending = conn.execute("SELECT count(*) FROM entities WHERE state IN ('pending', 'intent')").fetchone()[0]
            entities = conn.execute("SELECT count(*) FROM entities").fetchone()[0]
            snapshot = conn.execute("SELECT count(*) FROM snapshot").fetchone()[0]
    except sqlite3.Error:
        return None
    return {
        "run": run,
        "seq": seq,
        "started": int(run > last_run),
        "moved": int(seq > last_seq),
        "intent": intents,
        "written": written,
        "pending": pending,
        "entities": entities,
        "snapshot": snapshot,
    }


def phase_of(probe: dict[str, int] | None) -> str:
    """Where the current run was when it was killed."""
    if probe is None or not probe["started"]:
        return "startup (before the ledger opened)"
    if probe["intent"]:
        return "inside a write batch"
    if not probe["moved"]:
        return "extract, plan or reconcile (no write yet)"
    return "between write batches"


def wait_for(
    proc: subprocess.Popen[str],
    ledger: Path,
    ready: Callable[[dict[str, int]], bool],
    since: tuple[int, int] = (0, 0),
    timeout: float = 60,
    poll: float = 0.003,
) -> dict[str, int] | None:
    """Poll the ledger until `ready(probe)`; None if the process ended first."""
    deadline = time.monotonic() + timeout
    probe = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None
        probe = ledger_probe(ledger, since)
        if probe is not None and ready(probe):
            return probe
        time.sleep(poll)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    raise AssertionError(f"the run never reached the kill point; last probe {probe}")


def kill_cycle(cli: Cli, org: Org, seed: int, point: int, rng: random.Random, tally: Tally, concurrency: int) -> bool:
    """Start migrate, kill it at a random kind of kill point; True when a kill happened."""
    before = ledger_probe(cli.ledger) or {"run": 0, "seq": 0}
    since = (before["run"], before["seq"])
    trigger = ("time", "writes", "in-batch", "in-batch")[rng.randrange(4)]
    started = time.monotonic()
    proc = cli.spawn("migrate", "--concurrency", str(concurrency))
    if trigger == "time":
        deadline = started + rng.uniform(0.05, 2.0)
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.005)
        probe = ledger_probe(cli.ledger, since) if proc.poll() is None else None
    elif trigger == "writes":
        target = rng.randint(1, 12)
        probe = wait_for(proc, cli.ledger, lambda p: p["written"] >= target, since)
    else:  # inside a batch: the first one of the run, or one after some writes of this run
        after_writes = rng.choice((0, 0, 4, 12, 24))
        probe = wait_for(proc, cli.ledger, lambda p: p["intent"] > 0 and p["written"] >= after_writes, since)
    if proc.poll() is not None:  # it finished (or failed) before the kill point
        cli.finish(proc, ["migrate"])
        return False
    proc.send_signal(signal.SIGKILL)
    at = time.monotonic() - started
    run = cli.finish(proc, ["migrate (killed)"])
    after = ledger_probe(cli.ledger, since)
    tally.add(
        "kills",
        {
            "seed": seed,
            "pair": org.pair_label,
            "point": point,
            "trigger": trigger,
            "at_s": round(at, 2),
            "phase": phase_of(probe),
            "written_by_run": (after or {}).get("written", 0),
            "intents_left": (after or {}).get("intent", 0),
            "in_batch": bool((after or {}).get("intent", 0)),
            "exit": run.code,
        },
    )
    return True


def crash_org(
    seed: int, kills: int, root: Path, start: Callable[..., Org], tally: Tally, meetings: int, participants: int
) -> list[str]:
    org = start(
        seed=seed,
        meetings=meetings,
        participants=participants,
        latency_ms=25,
        rate_limit=0,
        faults=KILL_FAULTS,
        fault_hang_seconds=0.5,
        pair=pair_of(seed),
    )
    cli = Cli(root / f"crash{seed}", org.credentials, timeout=1.5, pair=org.pair)
    rng = random.Random(seed * 7919)
    concurrency = (2, 4)[seed % 2]
    done = attempts = 0
    while done < kills and attempts < kills * 3:
        attempts += 1
        if kill_cycle(cli, org, seed, done + 1, rng, tally, concurrency):
            done += 1
        elif (ledger_probe(cli.ledger) or {}).get("pending", 1) == 0:
            break  # the org is fully migrated: no work left to interrupt
    restarts = 0
    final = None
    for restarts in range(1, 4):  # noqa: B007 - read after the loop: how many restarts it took
        final = cli.run("migrate", timeout=240)
        if final.code == EXIT_OK:
            break
    problems = []
    if final is None or final.code != EXIT_OK:
        problems.append(
            f"seed {seed} ({org.pair_label}): migrate never completed after the kills: {final and final.stderr[-600:]}"
        )
    verify = cli.run("verify", timeout=240)
    status = (verify.outcome or {}).get("status")
    if verify.code != EXIT_OK or status != "clean":
        problems.append(f"seed {seed} ({org.pair_label}): verify exit {verify.code} {status}: {verify.stderr[-400:]}")
    exact = exactness(org, cli.ledger)
    if not exact.exact:
        problems.append(f"seed {seed} ({org.pair_label}): {exact.details[:10]}")
    tally.add(
        "crash_runs",
        {
            "seed": seed,
            "pair": org.pair_label,
            "kills": done,
            "restarts": restarts,
            "final_exit": final and final.code,
            "verify": status,
            "lost": exact.lost,
            "duplicated": exact.duplicated,
            "unknown": exact.unknown_to_ledger,
            "org": f"{meetings}x{participants}",
        },
    )
    if done < kills // 2:
        problems.append(f"seed {seed} ({org.pair_label}): only {done} of {kills} kill points landed before the run finished")
    return problems


def run_crashes(
    seeds: list[int],
    kills: int,
    tmp_path: Path,
    org_factory: Any,
    tally: Tally,
    *,
    meetings: int,
    participants: int,
    min_points: int,
    min_in_batch: int,
) -> None:
    first = len(tally.kills)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda s: crash_org(s, kills, tmp_path, org_factory, tally, meetings, participants), seeds))
    problems = [p for r in results for p in r]
    points = tally.kills[first:]
    assert not problems, "\n".join(problems)
    assert len(points) >= min_points, f"only {len(points)} kill points landed"
    in_batch = sum(1 for k in points if k["in_batch"])
    assert in_batch >= min_in_batch, f"only {in_batch} kills landed inside a write batch"


def test_sigkill_at_many_points_across_seeds_then_restart_is_exact(tmp_path: Path, org_factory: Any, tally: Tally) -> None:
    """4 seeds (over the 3 pairs) x 6 kill points (>= 20 landed, >= 5 inside a write batch), restart after each."""
    run_crashes([21, 22, 23, 24], 6, tmp_path, org_factory, tally, meetings=10, participants=8, min_points=20, min_in_batch=5)


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_sigkill_soak(tmp_path: Path, org_factory: Any, tally: Tally) -> None:
    run_crashes(
        list(range(201, 213)), 15, tmp_path, org_factory, tally, meetings=30, participants=12, min_points=120, min_in_batch=30
    )


# --------------------------------------------------------------------------- graceful stops
def assert_consistent_after_stop(cli: Cli, org: Org) -> dict[str, Any]:
    with sqlite3.connect(f"file:{cli.ledger}?mode=ro", uri=True) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        intents = conn.execute("SELECT count(*) FROM entities WHERE state = 'intent'").fetchone()[0]
        run = conn.execute("SELECT status, ended_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        done_without_id = conn.execute("SELECT count(*) FROM entities WHERE state = 'done' AND v2_id IS NULL").fetchone()[0]
    unknown = unknown_v2_objects(org, cli.ledger)
    facts = {
        "integrity": integrity,
        "intents": intents,
        "run": run,
        "done_without_v2_id": done_without_id,
        "unknown": len(unknown),
    }
    assert integrity == "ok", facts
    assert intents == 0, f"a graceful stop must settle its batch: {facts}"
    # The run is closed: a stop during extract is recorded as `interrupted`, a stop between write
    # batches as `partial` (what the command reported, with exit 3).
    assert run[0] in ("interrupted", "partial") and run[1], facts
    assert done_without_id == 0 and not unknown, facts
    return facts


V1_V2, V1_RTK, V2_RTK = PAIRS


@pytest.mark.parametrize(
    ("signame", "phase", "pair"),
    [  # each pair stopped during its extract, both RealtimeKit pairs during writes, both signals in both phases
        ("SIGINT", "extract", V1_V2),
        ("SIGINT", "extract", V1_RTK),
        ("SIGTERM", "extract", V2_RTK),
        ("SIGTERM", "writes", V1_RTK),
        ("SIGINT", "writes, twice", V2_RTK),
    ],
    ids=lambda value: "-to-".join(value) if isinstance(value, tuple) else value,
)
def test_signal_stops_gracefully_with_exit_3_and_a_consistent_ledger(
    tmp_path: Path, org_factory: Any, tally: Tally, signame: str, phase: str, pair: tuple[str, str]
) -> None:
    # tests/integration/test_crash_resume.py stops one v1 -> v2 run with SIGTERM during writes and
    # resumes it; here every stop is also checked for a consistent ledger.
    slow_extract = phase == "extract"
    org = org_factory(seed=31, meetings=10, participants=8, rate_limit=0, latency_ms=120 if slow_extract else 30, pair=pair)
    cli = Cli(tmp_path / "ws", org.credentials, pair=org.pair)
    proc = cli.spawn("migrate", "--concurrency", "4")
    if slow_extract:
        probe = wait_for(proc, cli.ledger, lambda p: p["snapshot"] > 0, poll=0.01)
    else:
        probe = wait_for(proc, cli.ledger, lambda p: p["written"] >= 12, poll=0.01)
    assert probe is not None, "migrate ended before the signal"
    sig = getattr(signal, signame)
    proc.send_signal(sig)
    if "twice" in phase:
        time.sleep(0.05)
        proc.send_signal(sig)
    run = cli.finish(proc, [f"migrate ({signame})"], timeout=60)
    line = run.assert_clean_failure(EXIT_PARTIAL, line_required=False)  # a stop between batches reports on stdout
    assert (run.outcome or {}).get("status") == "partial", run.stdout[-300:]
    facts = assert_consistent_after_stop(cli, org)
    status = cli.run("status")
    # status exits 3 while work remains (a stop in the extract leaves it unfinished), 0 when nothing is left
    assert (status.code, (status.outcome or {}).get("status")) in ((EXIT_PARTIAL, "partial"), (EXIT_OK, "complete")), (
        status.stdout
    )
    final = cli.run("migrate")
    assert final.code == EXIT_OK, final.stderr[-500:]
    exact = exactness(org, cli.ledger)
    tally.add(
        "signals",
        {
            "pair": org.pair_label,
            "signal": signame,
            "phase": phase,
            "exit": run.code,
            "line": line,
            "consistent": True,
            "written_at_signal": probe["written"],
            "unknown": facts["unknown"],
            "lost": exact.lost,
            "duplicated": exact.duplicated,
        },
    )
    assert exact.exact, exact.details
