"""Scenario `scale`: memory and ledger size of a 100,000-participant migration.

Sandbox with no latency and no rate limit; the real CLI migrates 10,000 participants
(100 meetings x 100) and then 100,000 (1,000 x 100), each against a fresh sandbox. Peak
RSS is the kernel's ru_maxrss of the migrate process (exact, from wait4), plus a psutil
timeline to tell which phase (extract + plan, load, reports) holds the peak. The ledger
size is the SQLite file plus its -wal and -shm. The hot ledger queries (the loader's
`_next_creates`, the planner's `decide`) are timed and EXPLAINed on a copy of the
100k ledger with every participant set back to pending.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from benchmarks.common import Sandbox, StatsSampler, scratch, stats_delta, workspace
from migrator import kinds
from migrator.ledger import DECIDE_SQL, NEXT_UPDATES_WHERE, next_creates_sql
from migrator.model import Kind

SIZES = ((100, 100), (1000, 100))  # (meetings, participants per meeting)
CONCURRENCY = 8
GOAL_RSS_MB, GOAL_GROWTH = 200.0, 1.5

# the ledger's own queries for participants, as the loader runs them
_PARTICIPANTS = kinds.spec(Kind.PARTICIPANT)
NEXT_CREATES_SQL = next_creates_sql(_PARTICIPANTS.parent, _PARTICIPANTS.requires)
NEXT_UPDATES_SQL = f"SELECT * FROM entities WHERE kind = ? AND state = 'done' AND {NEXT_UPDATES_WHERE} ORDER BY seq"


def _ledger_bytes(ledger: Path) -> int:
    return sum(p.stat().st_size for p in (ledger, Path(f"{ledger}-wal"), Path(f"{ledger}-shm")) if p.exists())


def _phase_peaks(timeline: list[tuple[float, float]], phases: dict[str, float | None]) -> dict[str, float | None]:
    first_write, last_call = phases.get("first_v2_write_s"), phases.get("last_call_s")

    def peak(lo: float, hi: float) -> float | None:
        values = [rss for t, rss in timeline if lo <= t < hi]
        return round(max(values), 1) if values else None

    if first_write is None or last_call is None:
        return {}
    return {
        "extract_plan": peak(0, first_write),
        "load": peak(first_write, last_call),
        "reports_exit": peak(last_call, float("inf")),
    }


def _queries(ledger: Path, directory: Path) -> dict[str, Any]:
    """Time and EXPLAIN the hot queries on a copy with every participant pending again."""
    copy = directory / "queries.sqlite"
    source = sqlite3.connect(ledger)
    target = sqlite3.connect(copy)
    source.backup(target)
    source.close()
    out: dict[str, Any] = {}
    try:

        def timed(sql: str, params: tuple[Any, ...] = (), repeat: int = 5) -> float:
            best = float("inf")
            for _ in range(repeat):
                t0 = time.perf_counter()
                target.execute(sql, params).fetchall()
                best = min(best, time.perf_counter() - t0)
            target.rollback()
            return round(best * 1000, 2)

        def plan(sql: str, params: tuple[Any, ...] = ()) -> list[str]:
            return [row[-1] for row in target.execute("EXPLAIN QUERY PLAN " + sql, params)]

        # as a re-run sees it: every participant done, none to update (a full scan of the kind)
        out["next_updates_ms"] = timed(NEXT_UPDATES_SQL, ("participant",))
        out["next_updates_plan"] = plan(NEXT_UPDATES_SQL, ("participant",))
        # as a first run sees it: every participant pending
        target.execute("UPDATE entities SET state = 'pending', v2_id = NULL, written = NULL WHERE kind = 'participant'")
        target.commit()
        out["next_creates_ms"] = timed(NEXT_CREATES_SQL, ("participant", 64))
        out["next_creates_plan"] = plan(NEXT_CREATES_SQL, ("participant", 64))
        # the last chunk: every pending row but 64 already done, the scan must still find them fast
        target.execute(
            "UPDATE entities SET state = 'done' WHERE kind = 'participant' AND seq NOT IN "
            "(SELECT seq FROM entities WHERE kind = 'participant' ORDER BY seq DESC LIMIT 64)"
        )
        out["next_creates_last_chunk_ms"] = timed(NEXT_CREATES_SQL, ("participant", 64))
        target.rollback()
        out["decide_ms"] = timed(DECIDE_SQL, repeat=1)
        out["decide_plan"] = plan(DECIDE_SQL)
        out["rows"] = target.execute("SELECT count(*) FROM entities").fetchone()[0]
    finally:
        target.close()
        copy.unlink(missing_ok=True)
    return out


def _one(meetings: int, participants: int, concurrency: int, profile: str | None, queries: bool) -> dict[str, Any]:
    with scratch(f"scale-{meetings * participants}") as directory:
        with Sandbox(directory, meetings=meetings, participants=participants) as sandbox, workspace(sandbox, "tool") as ws:
            before = sandbox.stats()
            wrap = (
                ["py-spy", "record", "-r", "100", "--format", "raw", "-o", f"{profile}-{meetings * participants}", "--"]
                if profile
                else None
            )
            with StatsSampler(sandbox.base_url, period=0.25) as sampler:
                run = ws.run("migrate", "--concurrency", str(concurrency), timeout=900, wrap=wrap, sample_rss=not profile)
            delta = stats_delta(before, sandbox.stats())
            if run.exit_code != 0:
                raise RuntimeError(f"migrate exited {run.exit_code}: {run.stderr_tail}")
            phases = sampler.phases()
            conn = sqlite3.connect(f"file:{ws.ledger}?mode=ro", uri=True)
            rows = dict(
                conn.execute(
                    "SELECT 'entities', count(*) FROM entities UNION ALL "
                    "SELECT 'snapshot', count(*) FROM snapshot UNION ALL "
                    "SELECT 'journal', count(*) FROM journal"
                ).fetchall()
            )
            conn.close()
            result = {
                "participants": meetings * participants,
                "meetings": meetings,
                "wall_s": round(run.wall, 1),
                "cpu_s": round(run.cpu_s, 1),
                "peak_rss_mb": round(run.peak_rss_mb, 1),
                "peak_rss_by_phase_mb": _phase_peaks(run.timeline, phases),
                "ledger_mb": round(_ledger_bytes(ws.ledger) / 2**20, 1),
                "ledger_rows": rows,
                "reports_mb": round(sum(p.stat().st_size for p in ws.reports.rglob("*") if p.is_file()) / 2**20, 1),
                "api_calls": delta["api_calls"],
                "v2_writes": delta["totals"]["v2_writes"],
                "phases_s": {k: round(v, 1) if v is not None else None for k, v in phases.items()},
            }
            if queries:
                result["queries"] = _queries(ws.ledger, directory)
            return result


def run(
    sizes: tuple[tuple[int, int], ...] | tuple[int, ...] = SIZES, concurrency: int = CONCURRENCY, profile: str | None = None
) -> dict[str, Any]:
    if sizes and isinstance(sizes[0], int):  # from --set sizes=100,100,1000,100
        flat = list(sizes)
        sizes = tuple(zip(flat[::2], flat[1::2], strict=True))  # type: ignore[assignment]
    loadavg = os.getloadavg()[0]
    runs = [_one(m, p, concurrency, profile, queries=(i == len(sizes) - 1)) for i, (m, p) in enumerate(sizes)]  # type: ignore[misc]
    small, large = runs[0], runs[-1]
    growth = round(large["peak_rss_mb"] / small["peak_rss_mb"], 2)
    return {
        "scenario": "scale",
        "loadavg_1m_at_start": round(loadavg, 2),
        "runs": runs,
        "rss_growth": growth,
        "goals": {
            f"peak RSS <= 200 MB at {large['participants']}": large["peak_rss_mb"] <= GOAL_RSS_MB,
            f"growth {small['participants']} -> {large['participants']} <= 1.5x": growth <= GOAL_GROWTH,
        },
    }


def table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    for r in result["runs"]:
        n = f"{r['participants']:,}"
        rows.append((f"{n}: peak RSS", f"{r['peak_rss_mb']} MB", f"by phase {r['peak_rss_by_phase_mb']}"))
        rows.append((f"{n}: ledger", f"{r['ledger_mb']} MB", f"rows {r['ledger_rows']}; reports {r['reports_mb']} MB"))
        rows.append(
            (
                f"{n}: wall / cpu",
                f"{r['wall_s']} s / {r['cpu_s']} s",
                f"{r['api_calls']} calls, {r['v2_writes']} v2 writes; phases {r['phases_s']}",
            )
        )
    rows.append(("RSS growth", f"{result['rss_growth']}x", ""))
    q = result["runs"][-1].get("queries")
    if q:
        rows.append(
            (
                "_next_creates (64 rows)",
                f"{q['next_creates_ms']} ms",
                f"last chunk {q['next_creates_last_chunk_ms']} ms; " + " / ".join(q["next_creates_plan"]),
            )
        )
        rows.append(("decide()", f"{q['decide_ms']} ms", " / ".join(q["decide_plan"])))
        rows.append(("_next_updates (re-run, all done)", f"{q['next_updates_ms']} ms", " / ".join(q["next_updates_plan"])))
    for name, ok in result["goals"].items():
        rows.append(("goal: " + name, "PASS" if ok else "FAIL", ""))
    rows.append(("load average at start", str(result["loadavg_1m_at_start"]), ""))
    return rows
