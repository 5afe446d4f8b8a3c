"""Scenario `shards`: one migration split across N processes (`migrate --shard I/N`), then `ledger merge`.

Sandbox with 30 ms latency and Dyte's per-client-address limit scaled to R = 6000/minute;
sample org of 300 meetings x 10 participants. For each N in (1, 2, 4) the sandbox is reset
and N shard processes start at once, each sending from its own loopback address
(DYTE_MIGRATE_LOCAL_ADDRESS = 127.0.0.2, 127.0.0.3, ...), as separate CI runners have
separate IPs and so separate rate budgets. Then the ledgers are merged, and the copy is
counted independently through the APIs: every v1 meeting and participant against what v2
holds (lost, duplicated), and the merged ledger's v2 ids against the v2 ids the API lists.

time ratio = wall of the slowest shard at N / wall of the one-shard run (goal <= 1.15 / N).
efficiency per shard = (its answered API calls / R) / its wall, start-up included (goal >= 0.95).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import CliRun, Sandbox, scratch, workspace

MEETINGS, PARTICIPANTS, LATENCY_MS, RATE_PER_MINUTE = 300, 10, 30.0, 6000.0
SHARD_COUNTS = (1, 2, 4)
GOAL_TIME_FACTOR, GOAL_EFFICIENCY = 1.15, 0.95
COUNTER_ADDRESS = "127.0.0.250"  # the independent count has its own rate budget too


def _answered(run: CliRun) -> int:
    requests = (run.outcome or {}).get("requests") or {}
    return int(requests.get("v1", 0) + requests.get("v2", 0) - requests.get("throttled", 0))


def _pages(http: httpx.Client, path: str, *, v1_key: str | None = None) -> list[dict[str, Any]]:
    """Every item of a listing, walking v1 offset/limit or v2 page_no/per_page, retrying 429s."""
    out: list[dict[str, Any]] = []
    page = 1
    while True:
        params = {"offset": len(out), "limit": 100} if v1_key else {"page_no": page, "per_page": 100}
        response = http.get(path, params=params)
        if response.status_code == 429:
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        response.raise_for_status()
        body = response.json()
        items = body["data"][v1_key] if v1_key else body["data"]
        out.extend(items)
        if v1_key and len(items) < 100:
            return out
        if not v1_key:
            paging = body.get("paging") or {}
            if not items or paging.get("end_offset", 0) >= paging.get("total_count", 0):
                return out
            page += 1


def count_copy(credentials: Path, ledgers: list[Path]) -> dict[str, Any]:
    """v1 against v2 through the APIs (by meeting title and participant id), and the merged ledger's v2 ids."""
    creds = json.loads(credentials.read_text())
    transport = httpx.HTTPTransport(local_address=COUNTER_ADDRESS)
    v1 = httpx.Client(
        base_url=f"{creds['v1']['base_url']}/organizations/{creds['v1']['org_id']}",
        headers={"Authorization": creds["v1"]["api_key"]},
        timeout=30,
        transport=transport,
    )
    v2 = httpx.Client(
        base_url=creds["v2"]["base_url"],
        auth=(creds["v2"]["org_id"], creds["v2"]["api_key"]),
        timeout=30,
        transport=httpx.HTTPTransport(local_address=COUNTER_ADDRESS),
    )
    with v1, v2:
        wanted: Counter[tuple[str, str]] = Counter()
        v1_meetings = _pages(v1, "/meetings", v1_key="meetings")
        for m in v1_meetings:
            for p in _pages(v1, f"/meetings/{m['id']}/participants", v1_key="participants"):
                wanted[(m["title"], p.get("clientSpecificId") or p["id"])] += 1
        v2_meetings = _pages(v2, "/meetings")
        held: Counter[tuple[str, str]] = Counter()
        v2_ids = {m["id"] for m in v2_meetings}
        for m in v2_meetings:
            for p in _pages(v2, f"/meetings/{m['id']}/participants"):
                held[(m["title"], p["custom_participant_id"])] += 1
                v2_ids.add(p["id"])
    meeting_titles = Counter(m["title"] for m in v2_meetings)
    wanted_titles = Counter(m["title"] for m in v1_meetings)
    ledger_ids: set[str] = set()
    for path in ledgers:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            ledger_ids |= {
                r[0]
                for r in conn.execute(
                    "SELECT v2_id FROM entities WHERE kind IN ('meeting', 'participant') AND v2_id IS NOT NULL "
                    "AND action != 'gone'"
                )
            }
        finally:
            conn.close()
    return {
        "v1_meetings": len(v1_meetings),
        "v2_meetings": len(v2_meetings),
        "v1_participants": sum(wanted.values()),
        "v2_participants": sum(held.values()),
        "lost": sum((wanted - held).values()) + sum((wanted_titles - meeting_titles).values()),
        "duplicated": sum((held - wanted).values()) + sum((meeting_titles - wanted_titles).values()),
        "ledger_matches_v2": ledger_ids == v2_ids,
        "ledger_ids": len(ledger_ids),
        "v2_ids": len(v2_ids),
    }


def _split(sandbox: Sandbox, count: int, rate: float) -> dict[str, Any]:
    sandbox.reset()  # initial dataset, empty v2, zero counters, full rate-limit buckets
    roots = []
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = []
        for index in range(1, count + 1):
            with workspace(sandbox, f"n{count}-shard{index}") as ws:
                roots.append(ws)
                futures.append(
                    pool.submit(
                        ws.run,
                        "migrate",
                        "--shard",
                        f"{index}/{count}",
                        rate_limit=rate,
                        timeout=900,
                        env={"DYTE_MIGRATE_LOCAL_ADDRESS": f"127.0.0.{index + 1}"},
                    )
                )
        runs = [f.result() for f in futures]
    for index, run in enumerate(runs, 1):
        if run.exit_code != 0:
            raise RuntimeError(f"shard {index}/{count} exited {run.exit_code}: {run.stderr_tail}")
    merged = sandbox.workdir / f"n{count}-merged.sqlite"
    merge = subprocess.run(
        [sys.executable, "-m", "migrator", "ledger", "merge", *[str(ws.ledger) for ws in roots], "--output", str(merged)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if merge.returncode != 0:
        raise RuntimeError(f"ledger merge exited {merge.returncode}: {merge.stderr[-500:]}")
    shards = []
    for index, run in enumerate(runs, 1):
        calls = _answered(run)
        floor = calls / (rate / 60.0)
        shards.append(
            {
                "shard": f"{index}/{count}",
                "wall_s": round(run.wall, 2),
                "api_calls": calls,
                "throttled_429": int(((run.outcome or {}).get("requests") or {}).get("throttled", 0)),
                "floor_s": round(floor, 2),
                "efficiency": round(floor / run.wall, 3),
                "cpu_s": round(run.cpu_s, 2),
            }
        )
    return {
        "shards": count,
        "wall_s": max(s["wall_s"] for s in shards),
        "per_shard": shards,
        "count": count_copy(sandbox.credentials, [merged]),
    }


def run(
    meetings: int = MEETINGS,
    participants: int = PARTICIPANTS,
    latency_ms: float = LATENCY_MS,
    rate_per_minute: float = RATE_PER_MINUTE,
    shard_counts: tuple[int, ...] | int = SHARD_COUNTS,
    profile: str | None = None,
) -> dict[str, Any]:
    counts = (shard_counts,) if isinstance(shard_counts, int) else tuple(shard_counts)
    with scratch("shards") as directory:
        with Sandbox(
            directory, meetings=meetings, participants=participants, latency_ms=latency_ms, rate_limit=rate_per_minute
        ) as sandbox:
            splits = [_split(sandbox, n, rate_per_minute) for n in counts]
    one = next((s for s in splits if s["shards"] == 1), splits[0])
    for split in splits:
        split["time_ratio"] = round(split["wall_s"] / one["wall_s"], 3)
        split["goal_ratio"] = round(GOAL_TIME_FACTOR / split["shards"], 3)
    goals = {}
    for split in splits:
        n = split["shards"]
        if n > 1:
            goals[f"N={n}: time <= {GOAL_TIME_FACTOR}/{n} of one shard"] = split["time_ratio"] <= split["goal_ratio"]
        goals[f"N={n}: merged exact (0 lost, 0 duplicated, ledger = v2)"] = (
            split["count"]["lost"] == 0 and split["count"]["duplicated"] == 0 and split["count"]["ledger_matches_v2"]
        )
        goals[f"N={n}: every shard's efficiency >= {GOAL_EFFICIENCY}"] = all(
            s["efficiency"] >= GOAL_EFFICIENCY for s in split["per_shard"]
        )
    return {
        "scenario": "shards",
        "rate_limit_per_minute": rate_per_minute,
        "latency_ms": latency_ms,
        "org": {"meetings": meetings, "participants_per_meeting": participants},
        "splits": splits,
        "goals": goals,
    }


def table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    org = result["org"]
    rows = [
        (
            "org",
            f"{org['meetings']} meetings x {org['participants_per_meeting']} participants",
            f"sandbox latency {result['latency_ms']:g} ms, R = {result['rate_limit_per_minute']:g}/min per client address",
        )
    ]
    for split in result["splits"]:
        n, c = split["shards"], split["count"]
        rows.append(
            (
                f"N={n}: slowest shard wall",
                f"{split['wall_s']} s",
                f"ratio to one shard {split['time_ratio']} (goal <= {split['goal_ratio']})",
            )
        )
        for s in split["per_shard"]:
            rows.append(
                (
                    f"  shard {s['shard']}",
                    f"{s['wall_s']} s, efficiency {s['efficiency']}",
                    f"{s['api_calls']} calls, floor {s['floor_s']} s, 429s {s['throttled_429']}",
                )
            )
        rows.append(
            (
                f"  N={n}: merged, counted via the APIs",
                f"lost {c['lost']}, duplicated {c['duplicated']}",
                f"v1 {c['v1_meetings']} meetings / {c['v1_participants']} participants; v2 {c['v2_meetings']} / "
                f"{c['v2_participants']}; merged ledger ids = v2 ids: {c['ledger_matches_v2']}",
            )
        )
    for name, ok in result["goals"].items():
        rows.append(("goal: " + name, "PASS" if ok else "FAIL", ""))
    return rows
