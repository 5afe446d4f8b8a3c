"""Scenario `ceiling`: how close a migration runs to the rate limit, and how few calls it makes.

Sandbox with 30 ms latency and a rate limit R (6000/minute: Dyte's 2000/minute scaled up
3x so the run lasts ~16 s), sample org of 150 meetings x 8 participants. The real CLI
migrates it at `--concurrency 8` (the default) and, after a sandbox reset, at
`--concurrency 1`, the naive baseline (one request at a time, waiting for each answer).

efficiency = (calls / R) / wall, where calls are the API calls the sandbox answered
(429s excluded: they are counted apart) and wall is the whole migrate process, start-up
and reports included. 1.0 means the run took exactly as long as the limit forces.
"""

from __future__ import annotations

import os
from typing import Any

from benchmarks.common import Sandbox, StatsSampler, minimum_calls, route_table, scratch, stats_delta, workspace

MEETINGS, PARTICIPANTS, LATENCY_MS, RATE_PER_MINUTE = 150, 8, 30.0, 6000.0
CONCURRENCIES = (8, 1, 2, 4, 16)  # the default, the naive baseline, then a sweep around the default
GOAL_EFFICIENCY, GOAL_THROTTLED, GOAL_CALLS_OVER_MIN = 0.9, 0.01, 1.05
GOAL_FIRST_CALL_S = 0.4  # process start to the first API call the sandbox sees (issue 15)


def _migrate(sandbox: Sandbox, concurrency: int, rate: float, profile: str | None) -> dict[str, Any]:
    sandbox.reset()  # initial dataset, empty v2, zero counters, full rate-limit bucket
    with workspace(sandbox, f"c{concurrency}") as ws:
        before = sandbox.stats()
        wrap = ["py-spy", "record", "-r", "200", "--format", "raw", "-o", f"{profile}-c{concurrency}", "--"] if profile else None
        with StatsSampler(sandbox.base_url, period=0.02) as sampler:
            run = ws.run("migrate", "--concurrency", str(concurrency), rate_limit=rate, timeout=600, wrap=wrap)
        delta = stats_delta(before, sandbox.stats())
        if run.exit_code != 0:
            raise RuntimeError(f"migrate --concurrency {concurrency} exited {run.exit_code}: {run.stderr_tail}")
        minimum = minimum_calls(ws.ledger)
    calls, throttled = delta["api_calls"], delta["totals"]["throttled"]
    floor_s = calls / (rate / 60.0)
    phases = sampler.phases()
    pipe_s = (phases["last_call_s"] - phases["first_call_s"]) if phases.get("first_call_s") is not None else None
    return {
        "concurrency": concurrency,
        "wall_s": round(run.wall, 2),
        "cpu_s": round(run.cpu_s, 2),
        "api_calls": calls,
        "minimum_calls": minimum["total"],
        "calls_over_minimum": round(calls / minimum["total"], 4),
        "throttled_429": throttled,
        "throttled_share": round(throttled / max(calls, 1), 4),
        "documents": delta["documents"],
        "floor_s": round(floor_s, 2),
        "efficiency": round(floor_s / run.wall, 3),
        "efficiency_while_calling": round(floor_s / pipe_s, 3) if pipe_s else None,
        "time_to_first_call_s": round(phases["first_call_s"], 2) if phases.get("first_call_s") is not None else None,
        "phases_s": {k: round(v, 2) if v is not None else None for k, v in phases.items()},
        "client_requests": (run.outcome or {}).get("requests"),
        "routes": route_table(delta["by_route"], minimum["by_route"]),
        "minimum": {k: minimum[k] for k in ("reads", "writes", "total", "documents")},
        "org": minimum["org"],
    }


def run(
    meetings: int = MEETINGS,
    participants: int = PARTICIPANTS,
    latency_ms: float = LATENCY_MS,
    rate_per_minute: float = RATE_PER_MINUTE,
    concurrencies: tuple[int, ...] = CONCURRENCIES,
    profile: str | None = None,
) -> dict[str, Any]:
    loadavg = os.getloadavg()[0]
    runs = []
    with scratch("ceiling") as directory:
        with Sandbox(
            directory, meetings=meetings, participants=participants, latency_ms=latency_ms, rate_limit=rate_per_minute
        ) as sandbox:
            for concurrency in concurrencies:
                runs.append(_migrate(sandbox, concurrency, rate_per_minute, profile))
    main = runs[0]
    return {
        "scenario": "ceiling",
        "rate_limit_per_minute": rate_per_minute,
        "latency_ms": latency_ms,
        "loadavg_1m_at_start": round(loadavg, 2),
        "org": main["org"],
        "runs": runs,
        "speedup_vs_naive": {f"c{r['concurrency']}": round(r["wall_s"] / main["wall_s"], 2) for r in runs[1:]},
        "at_2000_per_minute": {
            "floor_s": round(main["minimum_calls"] / (2000 / 60), 1),
            "note": "the same org against Dyte's real limit: calls / 2000 per minute",
        },
        "goals": {
            "efficiency >= 0.9": main["efficiency"] >= GOAL_EFFICIENCY,
            "429s <= 1% of calls": main["throttled_share"] <= GOAL_THROTTLED,
            "calls <= 1.05 x minimum": main["calls_over_minimum"] <= GOAL_CALLS_OVER_MIN,
            "time to first call <= 0.4 s": (main["time_to_first_call_s"] or 99) <= GOAL_FIRST_CALL_S,
        },
    }


def table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    org = result["org"]
    rows.append(
        (
            "org",
            f"{org['meetings']} meetings, {org['participants']} participants, "
            f"{org['v2_presets_with_variants']} v2 presets, {org['webhooks']} webhooks, "
            f"{org['closed_meetings']} CLOSED",
            f"sandbox latency {result['latency_ms']:g} ms, R = {result['rate_limit_per_minute']:g}/min",
        )
    )
    main = result["runs"][0]
    rows.append(
        (
            f"c={main['concurrency']} (default): wall / floor",
            f"{main['wall_s']} s / {main['floor_s']} s",
            f"cpu {main['cpu_s']} s; phases {main['phases_s']}",
        )
    )
    rows.append(
        (
            "  time to first call (goal <= 0.4 s)",
            f"{main['time_to_first_call_s']} s",
            "process start to the first API call the sandbox answered (sampled every 20 ms)",
        )
    )
    rows.append(
        (
            "  efficiency (goal >= 0.9)",
            f"{main['efficiency']}",
            f"while calling (first to last call): {main['efficiency_while_calling']}",
        )
    )
    rows.append(
        (
            "  calls / minimum (goal <= 1.05)",
            f"{main['api_calls']} / {main['minimum_calls']} = {main['calls_over_minimum']}",
            f"429s {main['throttled_429']} ({main['throttled_share']:.2%}, goal <= 1%); "
            f"documents {main['documents']} (not API calls)",
        )
    )
    for route in main["routes"]:
        rows.append((f"    {route['what']}", f"{route['calls']}", f"minimum {route['minimum']}"))
    for r in result["runs"][1:]:
        tag = f"c={r['concurrency']}" + (" (naive baseline)" if r["concurrency"] == 1 else "")
        rows.append(
            (
                tag,
                f"{r['wall_s']} s, efficiency {r['efficiency']}",
                f"calls {r['api_calls']}, 429s {r['throttled_429']}, cpu {r['cpu_s']} s",
            )
        )
    for name, ok in result["goals"].items():
        rows.append(("goal: " + name, "PASS" if ok else "FAIL", ""))
    rows.append(("speed-up vs naive", str(result["speedup_vs_naive"]), f"load average at start {result['loadavg_1m_at_start']}"))
    return rows
