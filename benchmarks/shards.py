"""Scenario `shards`: one migration split across N processes (`migrate --shard I/N`), then `ledger merge`.

Sandbox with 30 ms latency and Dyte's per-client-address limit scaled to R = 600/minute;
sample org of 300 meetings x 10 participants. For each N in (1, 2, 4) the sandbox is reset
and N shard processes start at once, each sending from its own loopback address
(DYTE_MIGRATE_LOCAL_ADDRESS = 127.0.0.2, 127.0.0.3, ...), as separate CI runners have
separate IPs and so separate rate budgets. Then the ledgers are merged, and the copy is
counted independently through the APIs: every v1 meeting and participant against what v2
holds (lost, duplicated), and the merged ledger's v2 ids against the v2 ids the API lists.

R is low so that the floor is the calls, not the CPU: the N shards and the sandbox share
this machine's cores, whereas separate runners each have their own. At 6000/minute four
shards need about 400 calls/s between them, which two shared cores cannot serve (measured:
each shard spent most of its wall waiting for a CPU); at 600/minute they need 40/s.

Per shard, from the sandbox's per-address stats: API calls (429s apart), the first and last
call; from the kernel: CPU seconds and the time spent runnable but waiting for a CPU.
floor = calls / R; efficiency = floor / wall, start-up included (goal >= 0.95); efficiency
while calling = floor / (last call - first call): the pacer's share, start-up and reports
excluded. time ratio = wall of the slowest shard at N / wall of the one-shard run (goal <=
1.15 / N); largest share = the slowest shard's calls / the one-shard run's calls, the ratio
a perfectly paced split would reach (a split by hash of the meeting id is only as even as
the hash makes it). The machine's busy share, load and other processes' CPU are recorded.
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

from benchmarks.common import CliRun, MachineLoad, Sandbox, cpu_seconds, scratch, workspace
from migrator.client import LOCAL_ADDRESS_ENV

MEETINGS, PARTICIPANTS, LATENCY_MS, RATE_PER_MINUTE = 300, 10, 30.0, 600.0
SHARD_COUNTS = (1, 2, 4)
GOAL_TIME_FACTOR, GOAL_EFFICIENCY = 1.15, 0.95
COUNTER_ADDRESSES = ("127.0.0.250", "127.0.0.251")  # the independent count (v1, v2 side) has its own rate budgets


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


def _v1_copy(creds: dict[str, Any]) -> tuple[list[dict[str, Any]], Counter[tuple[str, str]]]:
    """Every v1 meeting, and each participant as (meeting title, clientSpecificId or id)."""
    with httpx.Client(
        base_url=f"{creds['v1']['base_url']}/organizations/{creds['v1']['org_id']}",
        headers={"Authorization": creds["v1"]["api_key"]},
        timeout=30,
        transport=httpx.HTTPTransport(local_address=COUNTER_ADDRESSES[0]),
    ) as v1:
        meetings = _pages(v1, "/meetings", v1_key="meetings")
        wanted: Counter[tuple[str, str]] = Counter()
        for m in meetings:
            for p in _pages(v1, f"/meetings/{m['id']}/participants", v1_key="participants"):
                wanted[(m["title"], p.get("clientSpecificId") or p["id"])] += 1
    return meetings, wanted


def _v2_copy(creds: dict[str, Any]) -> tuple[list[dict[str, Any]], Counter[tuple[str, str]], set[str]]:
    """Every v2 meeting, each participant as (meeting title, custom_participant_id), and every v2 id seen."""
    with httpx.Client(
        base_url=creds["v2"]["base_url"],
        auth=(creds["v2"]["org_id"], creds["v2"]["api_key"]),
        timeout=30,
        transport=httpx.HTTPTransport(local_address=COUNTER_ADDRESSES[1]),
    ) as v2:
        meetings = _pages(v2, "/meetings")
        held: Counter[tuple[str, str]] = Counter()
        ids = {m["id"] for m in meetings}
        for m in meetings:
            for p in _pages(v2, f"/meetings/{m['id']}/participants"):
                held[(m["title"], p["custom_participant_id"])] += 1
                ids.add(p["id"])
    return meetings, held, ids


def count_copy(credentials: Path, ledgers: list[Path]) -> dict[str, Any]:
    """v1 against v2 through the APIs (by meeting title and participant id), and the merged ledger's v2 ids.

    The two sides are read at once, each from its own address (its own rate budget).
    """
    creds = json.loads(credentials.read_text())
    with ThreadPoolExecutor(max_workers=2) as pool:
        v1_side, v2_side = pool.submit(_v1_copy, creds), pool.submit(_v2_copy, creds)
        (v1_meetings, wanted), (v2_meetings, held, v2_ids) = v1_side.result(), v2_side.result()
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


def _shard_figures(index: int, count: int, run: CliRun, seen: dict[str, Any], rate: float) -> dict[str, Any]:
    """One shard's figures: calls and times as the sandbox saw its address, CPU and run-queue wait from the kernel."""
    calls = int(seen.get("api_calls", 0))
    floor = calls / (rate / 60.0)
    first, last = seen.get("first_call"), seen.get("last_call")
    calling = (last - first) if first is not None and last is not None else None
    return {
        "shard": f"{index}/{count}",
        "address": _address(index),
        "wall_s": round(run.wall, 2),
        "api_calls": calls,
        "client_counted_calls": _answered(run),  # the CLI's own counters: a cross-check
        "throttled_429": int(seen.get("throttled", 0)),
        "floor_s": round(floor, 2),
        "efficiency": round(floor / run.wall, 3),
        "first_call_s": round(first - run.started, 2) if first is not None else None,
        "calling_s": round(calling, 2) if calling is not None else None,
        "after_last_call_s": round(run.started + run.wall - last, 2) if last is not None else None,
        "efficiency_while_calling": round(floor / calling, 3) if calling else None,
        "cpu_s": round(run.cpu_s, 2),
        "runqueue_wait_s": round(run.runqueue_wait_s, 2) if run.runqueue_wait_s is not None else None,
    }


def _address(index: int) -> str:
    return f"127.0.0.{index + 1}"


def _split(sandbox: Sandbox, count: int, rate: float) -> dict[str, Any]:
    sandbox.reset()  # initial dataset, empty v2, zero counters, full rate-limit buckets
    roots = []
    with MachineLoad({sandbox.pid}) as machine:
        sandbox_cpu = cpu_seconds(sandbox.pid)
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
                            timeout=1800,
                            env={LOCAL_ADDRESS_ENV: _address(index)},
                        )
                    )
            runs = [f.result() for f in futures]
        sandbox_cpu = cpu_seconds(sandbox.pid) - sandbox_cpu
    for index, run in enumerate(runs, 1):
        if run.exit_code != 0:
            raise RuntimeError(f"shard {index}/{count} exited {run.exit_code}: {run.stderr_tail}")
    clients = sandbox.stats()["clients"]
    merged = sandbox.workdir / f"n{count}-merged.sqlite"
    merge_started = time.perf_counter()
    merge = subprocess.run(
        [sys.executable, "-m", "migrator", "ledger", "merge", *[str(ws.ledger) for ws in roots], "--output", str(merged)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if merge.returncode != 0:
        raise RuntimeError(f"ledger merge exited {merge.returncode}: {merge.stderr[-500:]}")
    merge_s = time.perf_counter() - merge_started
    shards = [_shard_figures(i, count, run, clients.get(_address(i), {}), rate) for i, run in enumerate(runs, 1)]
    return {
        "shards": count,
        "wall_s": max(s["wall_s"] for s in shards),
        "api_calls": sum(s["api_calls"] for s in shards),
        "per_shard": shards,
        "merge_s": round(merge_s, 2),
        "sandbox_cpu_s": round(sandbox_cpu, 2),
        "machine": machine.result,
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
        # the slowest shard's calls over the whole migration's: the ratio a perfectly paced split would reach
        split["largest_share"] = round(max(s["api_calls"] for s in split["per_shard"]) / one["api_calls"], 3)
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
        n, c, m = split["shards"], split["count"], split["machine"]
        rows.append(
            (
                f"N={n}: slowest shard wall",
                f"{split['wall_s']} s",
                f"ratio to one shard {split['time_ratio']} (goal <= {split['goal_ratio']}); largest shard's share of "
                f"the calls {split['largest_share']} (the ratio a perfectly paced split would reach)",
            )
        )
        rows.append(
            (
                "  CPU",
                f"sandbox {split['sandbox_cpu_s']} s",
                f"machine {m.get('busy_share')} busy of {m.get('cpus')} CPUs, load {m.get('loadavg_1m')}; other processes "
                f"{m.get('others_cpu_s')} CPU-s, most: {'; '.join(m.get('others_top') or []) or '-'}",
            )
        )
        for s in split["per_shard"]:
            rows.append(
                (
                    f"  shard {s['shard']} ({s['address']})",
                    f"{s['wall_s']} s, efficiency {s['efficiency']}",
                    f"{s['api_calls']} calls, floor {s['floor_s']} s, 429s {s['throttled_429']}; first call at "
                    f"{s['first_call_s']} s, calling {s['calling_s']} s (efficiency {s['efficiency_while_calling']}), "
                    f"{s['after_last_call_s']} s after; cpu {s['cpu_s']} s, waited for a CPU {s['runqueue_wait_s']} s",
                )
            )
        rows.append(
            (
                f"  N={n}: merged ({split['merge_s']} s), counted via the APIs",
                f"lost {c['lost']}, duplicated {c['duplicated']}",
                f"v1 {c['v1_meetings']} meetings / {c['v1_participants']} participants; v2 {c['v2_meetings']} / "
                f"{c['v2_participants']}; merged ledger ids = v2 ids: {c['ledger_matches_v2']}",
            )
        )
    for name, ok in result["goals"].items():
        rows.append(("goal: " + name, "PASS" if ok else "FAIL", ""))
    return rows
