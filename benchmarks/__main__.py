"""`python -m benchmarks SCENARIO [--json] [--profile DIR]`: run a benchmark, print a table.

SCENARIO is ceiling | overhead | scale | rerun | shards | sandbox | scan | all. With `--json` the last
line of stdout is one JSON object with every figure (for `all`: one key per scenario).
`--profile DIR` records the migrate processes with py-spy (collapsed stacks) in DIR.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SCENARIOS = ("ceiling", "overhead", "scale", "rerun", "shards", "sandbox", "scan")


def _sandbox(profile: str | None = None) -> dict[str, Any]:
    from benchmarks import sandbox_throughput

    return sandbox_throughput.run()


def _sandbox_table(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        ("endpoint", str(result["endpoint"]), f"wrk -t{result['threads']} -c{result['connections']} -d{result['duration_s']}s"),
        (
            "requests/s",
            str(result["requests_per_second"]),
            f"goal >= {result['goal_requests_per_second']}: {'PASS' if result['meets_goal'] else 'FAIL'}",
        ),
        ("latency p50/p90/p99 (ms)", f"{result['latency_p50_ms']} / {result['latency_p90_ms']} / {result['latency_p99_ms']}", ""),
        ("non-2xx, socket errors", f"{result['non_2xx']}, {result['socket_errors']}", ""),
    ]


def _scenario(name: str) -> tuple[Callable[..., dict[str, Any]], Callable[[dict[str, Any]], list[tuple[str, str, str]]]]:
    if name == "sandbox":
        return _sandbox, _sandbox_table
    module = importlib.import_module(f"benchmarks.{name}")
    return module.run, module.table


def _print_table(name: str, rows: list[tuple[str, str, str]], seconds: float) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # pragma: no cover - rich is a dependency
        print(f"== {name} ({seconds:.0f} s)")
        for row in rows:
            print("  " + " | ".join(row))
        return
    table = Table(title=f"{name} ({seconds:.0f} s)", show_lines=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    table.add_column("notes / goal")
    for row in rows:
        table.add_row(*row)
    Console(width=160).print(table)


def _override(item: str) -> tuple[str, Any]:
    key, _, raw = item.partition("=")

    def number(text: str) -> int | float:
        return float(text) if "." in text else int(text)

    if "," in raw:
        return key.strip(), tuple(number(part) for part in raw.split(",") if part)
    try:
        return key.strip(), number(raw)
    except ValueError:
        return key.strip(), raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("scenario", choices=(*SCENARIOS, "all"))
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    parser.add_argument("--profile", metavar="DIR", help="record migrate runs with py-spy into DIR")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a scenario parameter, e.g. --set concurrencies=8,4,2,1 --set meetings=300",
    )
    args = parser.parse_args(argv)
    names = SCENARIOS if args.scenario == "all" else (args.scenario,)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    for name in names:
        run, table = _scenario(name)
        t0 = time.perf_counter()
        kwargs: dict[str, Any] = dict(_override(item) for item in args.set) if args.scenario != "all" else {}
        if args.profile and name != "sandbox":
            Path(args.profile).mkdir(parents=True, exist_ok=True)
            kwargs["profile"] = str(Path(args.profile).resolve() / name)
        try:
            result = run(**kwargs)
        except Exception as exc:  # one scenario failing must not hide the others' figures
            result = {"scenario": name, "error": f"{type(exc).__name__}: {exc}"}
            print(f"{name}: failed: {result['error']}", file=sys.stderr)
            results[name] = result
            continue
        results[name] = result
        _print_table(name, table(result), time.perf_counter() - t0)
    meta = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "duration_s": round(time.perf_counter() - started, 1),
        "command": "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    output = {"meta": meta, **results} if args.scenario == "all" else {"meta": meta, **results[names[0]]}
    if args.json:
        print(json.dumps(output, ensure_ascii=False, default=str))
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
