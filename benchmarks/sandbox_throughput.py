"""Sandbox throughput: simple v2 GETs per second, measured by `wrk` (not the project's own client).

Starts `sandbox serve` as a subprocess (sample data, no latency, no rate limit),
creates one v2 meeting, then runs `wrk -t2 -c32 -d10s` against
`GET /v2/meetings/{id}` with HTTP Basic auth. Goal: >= 3000 requests/s on 2 cores.

    python benchmarks/sandbox_throughput.py [--duration 10] [--connections 32] [--threads 2]
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

GOAL_REQUESTS_PER_SECOND = 3000
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _start_sandbox(credentials: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "migrator.sandbox",
            "serve",
            "--dataset",
            "sample",
            "--rate-limit",
            "0",
            "--latency-ms",
            "0",
            "--credentials-out",
            str(credentials),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    if not selector.select(timeout=60):
        process.kill()
        raise RuntimeError("the sandbox did not start within 60 s")
    line = process.stdout.readline().strip()  # type: ignore[union-attr]
    match = re.fullmatch(r"sandbox listening on (\S+)", line)
    if match is None:
        process.kill()
        raise RuntimeError(f"unexpected sandbox output: {line!r}")
    return process, match.group(1)


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * UNITS[unit]


def parse_wrk(output: str) -> dict[str, Any]:
    """Requests/sec, latency percentiles and error counts from `wrk --latency` output."""
    figures: dict[str, Any] = {"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    figures["requests"] = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    for percentile in ("50", "90", "99"):
        found = re.search(rf"^\s+{percentile}%\s+(\S+)", output, re.MULTILINE)
        figures[f"latency_p{percentile}_ms"] = round(_milliseconds(found.group(1)), 3) if found else None
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    figures["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["socket_errors"] = sum(map(int, socket_errors.groups())) if socket_errors else 0
    return figures


def run(duration: int = 10, threads: int = 2, connections: int = 32) -> dict[str, Any]:
    """Start the sandbox, measure with wrk, stop the sandbox; the figures as a dict."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    with tempfile.TemporaryDirectory() as directory:
        credentials_file = Path(directory) / "credentials.json"
        process, base_url = _start_sandbox(credentials_file)
        try:
            v2 = json.loads(credentials_file.read_text())["v2"]
            created = httpx.post(f"{v2['base_url']}/meetings", auth=(v2["org_id"], v2["api_key"]), json={"title": "bench"})
            created.raise_for_status()
            url = f"{v2['base_url']}/meetings/{created.json()['data']['id']}"
            token = base64.b64encode(f"{v2['org_id']}:{v2['api_key']}".encode()).decode()
            result = subprocess.run(
                [
                    wrk,
                    f"-t{threads}",
                    f"-c{connections}",
                    f"-d{duration}s",
                    "--latency",
                    "-H",
                    f"Authorization: Basic {token}",
                    url,
                ],
                capture_output=True,
                text=True,
                timeout=duration + 60,
                check=True,
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    figures = parse_wrk(result.stdout)
    return {
        "benchmark": "sandbox_throughput",
        **figures,
        "goal_requests_per_second": GOAL_REQUESTS_PER_SECOND,
        "meets_goal": figures["requests_per_second"] >= GOAL_REQUESTS_PER_SECOND and figures["non_2xx"] == 0,
        "duration_s": duration,
        "threads": threads,
        "connections": connections,
        "endpoint": "GET /v2/meetings/{id}",
        "base_url": base_url,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    arguments = parser.parse_args()
    figures = run(arguments.duration, arguments.threads, arguments.connections)
    print(f"{'endpoint':<22} {figures['endpoint']}")
    for key in (
        "requests_per_second",
        "requests",
        "latency_p50_ms",
        "latency_p90_ms",
        "latency_p99_ms",
        "non_2xx",
        "socket_errors",
        "goal_requests_per_second",
        "meets_goal",
    ):
        print(f"{key:<22} {figures[key]}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
