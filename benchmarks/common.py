"""Shared plumbing for the benchmarks: a sandbox subprocess, the real CLI as a subprocess, counting.

Everything runs on 127.0.0.1; every process started here is bounded in time and stopped
(terminate, then kill) when its context ends. The migrate process and the sandbox are
separate processes, so they do not share a GIL, as when a user runs the tool.
"""

from __future__ import annotations

import json
import math
import os
import re
import selectors
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from migrator.cli import read_outcome

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_START_TIMEOUT = 180.0  # 100k participants take a while to generate
PAGE = 100  # the extractor's page size (both APIs clamp to 100)


def v1_pages(n: int, page: int = PAGE) -> int:
    """Requests an offset/limit walk needs for n items: a full page is not the last one."""
    return n // page + 1


def v2_pages(n: int, page: int = PAGE) -> int:
    """Requests a page_no/per_page walk needs: v2 answers `paging.total_count`, so no trailing empty page."""
    return max(1, math.ceil(n / page))


# --------------------------------------------------------------------------- sandbox
class Sandbox:
    """`python -m migrator.sandbox serve` as a subprocess; `stats()`, `reset()`; stopped on exit."""

    def __init__(
        self, workdir: Path, *, meetings: int, participants: int, latency_ms: float = 0.0, rate_limit: float = 0.0
    ) -> None:
        self.workdir = workdir
        self.meetings, self.participants = meetings, participants
        self.latency_ms, self.rate_limit = latency_ms, rate_limit
        self.credentials = workdir / "credentials.json"
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""
        self._http: httpx.Client | None = None

    def __enter__(self) -> Sandbox:
        log = open(self.workdir / "sandbox.stderr", "w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "migrator.sandbox",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                "0",
                "--dataset",
                "sample",
                "--meetings",
                str(self.meetings),
                "--participants",
                str(self.participants),
                "--latency-ms",
                str(self.latency_ms),
                "--rate-limit",
                str(self.rate_limit),
                "--credentials-out",
                str(self.credentials),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            cwd=self.workdir,
        )
        log.close()
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        if not selector.select(timeout=SANDBOX_START_TIMEOUT):
            self.stop()
            raise RuntimeError(f"the sandbox did not start within {SANDBOX_START_TIMEOUT:.0f} s")
        line = self.process.stdout.readline().strip()  # type: ignore[union-attr]
        match = re.fullmatch(r"sandbox listening on (\S+)", line)
        if match is None:
            self.stop()
            raise RuntimeError(f"unexpected sandbox output: {line!r} (see {self.workdir / 'sandbox.stderr'})")
        self.base_url = match.group(1)
        self._http = httpx.Client(base_url=self.base_url, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        if process.stdout is not None:
            process.stdout.close()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stats(self) -> dict[str, Any]:
        assert self._http is not None
        response = self._http.get("/_sandbox/stats")
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        assert self._http is not None
        self._http.post("/_sandbox/reset").raise_for_status()

    def v2_credentials(self) -> dict[str, str]:
        return json.loads(self.credentials.read_text())["v2"]


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """What happened between two `/_sandbox/stats` snapshots: per method+route (and status), and totals."""

    def table(snapshot: dict[str, Any]) -> Counter[tuple[str, str, int]]:
        return Counter({(r["method"], r["route"], r["status"]): r["count"] for r in snapshot["requests"]})

    rows = table(after)
    rows.subtract(table(before))
    by_route: Counter[str] = Counter()
    throttled_by_route: Counter[str] = Counter()
    for (method, route, status), n in rows.items():
        if n <= 0:
            continue
        if status == 429:
            throttled_by_route[f"{method} {route}"] += n
        else:
            by_route[f"{method} {route}"] += n
    totals = {
        k: after["totals"][k] - before["totals"].get(k, 0) for k in ("all", "v1", "v2", "v2_writes", "documents", "throttled")
    }
    api_answered = sum(n for key, n in by_route.items() if key.split(" ", 1)[1].startswith(("/v1/", "/v2/")))
    documents = sum(n for key, n in by_route.items() if key.split(" ", 1)[1].startswith("/s3/"))
    return {
        "by_route": dict(sorted(by_route.items())),
        "throttled_by_route": dict(throttled_by_route),
        "totals": totals,
        "api_calls": api_answered,
        "documents": documents,
    }


# --------------------------------------------------------------------------- the CLI
@dataclass
class CliRun:
    argv: list[str]
    exit_code: int
    wall: float
    peak_rss_mb: float  # kernel ru_maxrss of the process (exact peak, not sampled)
    cpu_s: float  # user + system CPU of the process
    outcome: dict[str, Any] | None
    stderr_tail: str
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (t, rss MB) samples
    started: float = 0.0  # time.monotonic() when the process was started (the sandbox's stats use that clock)
    runqueue_wait_s: float | None = None  # time it was runnable but not running, waiting for a CPU (Linux)


@dataclass
class Workspace:
    """A folder with credentials, ledger and reports, like a user's."""

    root: Path
    credentials: Path

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def argv(self, *command: str, rate_limit: float = 0) -> list[str]:
        return [
            sys.executable,
            "-m",
            "migrator",
            "--credentials",
            str(self.credentials),
            "--ledger",
            str(self.ledger),
            "--reports-dir",
            str(self.reports),
            "--rate-limit",
            f"{rate_limit:g}",
            "--no-progress",
            "--json",
            *command,
        ]

    def run(
        self,
        *command: str,
        rate_limit: float = 0,
        timeout: float = 600,
        wrap: list[str] | None = None,
        sample_rss: bool = False,
        env: dict[str, str] | None = None,
    ) -> CliRun:
        return run_process(
            (wrap or []) + self.argv(*command, rate_limit=rate_limit), self.root, timeout, sample_rss=sample_rss, env=env
        )


def run_process(
    argv: list[str], cwd: Path, timeout: float, *, sample_rss: bool = False, env: dict[str, str] | None = None
) -> CliRun:
    """Run one process to its end (killed after `timeout`): wall time, exact peak RSS and CPU via wait4."""
    out_path, err_path = cwd / ".bench.stdout", cwd / ".bench.stderr"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        started, started_monotonic = time.perf_counter(), time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err, cwd=cwd, text=True, env={**os.environ, **env} if env else None)
    timeline: list[tuple[float, float]] = []
    status, usage = 0, None
    ps = None
    if sample_rss:  # a timeline of RSS (psutil, from the test extras); the peak itself comes from wait4
        try:
            import psutil

            ps = psutil.Process(process.pid)
        except Exception:  # noqa: BLE001 - no psutil, or the process is already gone
            ps = None
    runqueue_wait: float | None = None
    try:
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            runqueue_wait = _runqueue_wait(process.pid, runqueue_wait)
            elapsed = time.perf_counter() - started
            if elapsed > timeout:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                break
            if ps is not None:
                try:
                    timeline.append((round(elapsed, 2), ps.memory_info().rss / 2**20))
                except Exception:
                    ps = None
            time.sleep(0.02)
    finally:
        if process.returncode is None and usage is None:  # interrupted: do not leave it running
            process.kill()
            os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    stdout, stderr = out_path.read_text(), err_path.read_text()
    return CliRun(
        argv,
        process.returncode,
        wall,
        usage.ru_maxrss / 1024 if usage else 0.0,
        (usage.ru_utime + usage.ru_stime) if usage else 0.0,
        read_outcome(stdout),
        stderr[-2000:],
        timeline,
        started_monotonic,
        runqueue_wait,
    )


def _runqueue_wait(pid: int, last: float | None) -> float | None:
    """Seconds the process has waited on a run queue so far (/proc/PID/schedstat), else the last value read."""
    try:
        with open(f"/proc/{pid}/schedstat") as file:
            return int(file.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return last


def cpu_seconds(pid: int) -> float:
    """CPU seconds a process has used so far (psutil, from the test extras; 0 without it)."""
    try:
        import psutil
    except ImportError:
        return 0.0
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


class MachineLoad:
    """What the whole machine did during a block: busy share of all CPUs, load average, the top CPU users.

    Benchmarks here share two cores with other people's work: this says how much of the
    machine a figure had. `others` are the processes alive at both ends, outside `ours`
    (short-lived ones, e.g. someone's test subprocesses, show only in `busy_share`).
    """

    def __init__(self, ours: set[int] | None = None) -> None:
        self.ours = ours if ours is not None else set()
        self.result: dict[str, Any] = {}
        self._cpu: tuple[int, int] = (0, 0)
        self._processes: dict[int, tuple[str, float]] = {}

    @staticmethod
    def _stat() -> tuple[int, int]:
        try:
            with open("/proc/stat") as file:
                ticks = [int(v) for v in file.readline().split()[1:]]
        except (OSError, ValueError):
            return (0, 0)
        return sum(ticks), ticks[3] + ticks[4]  # all, idle + iowait

    @staticmethod
    def _process_cpu() -> dict[int, tuple[str, float]]:
        try:
            import psutil
        except ImportError:
            return {}
        seen: dict[int, tuple[str, float]] = {}
        for proc in psutil.process_iter(["pid", "name", "cmdline", "cpu_times"]):
            info = proc.info
            times = info.get("cpu_times")
            if times is None:
                continue
            command = " ".join(info.get("cmdline") or [info.get("name") or "?"])
            seen[info["pid"]] = (command[:80], times.user + times.system)
        return seen

    def __enter__(self) -> MachineLoad:
        self._cpu, self._processes = self._stat(), self._process_cpu()
        return self

    def __exit__(self, *exc: object) -> None:
        (total, idle), (total0, idle0) = self._stat(), self._cpu
        used: list[tuple[float, str]] = []
        for pid, (command, cpu) in self._process_cpu().items():
            if pid not in self.ours and pid != os.getpid():
                used.append((cpu - self._processes.get(pid, (command, 0.0))[1], command))
        used.sort(reverse=True)
        self.result = {
            "cpus": os.cpu_count(),
            "busy_share": round(1 - (idle - idle0) / (total - total0), 3) if total > total0 else None,
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "others_cpu_s": round(sum(cpu for cpu, _ in used), 1),
            "others_top": [f"{cpu:.1f} s {command}" for cpu, command in used[:4] if cpu >= 0.5],
        }


@contextmanager
def workspace(sandbox: Sandbox, name: str) -> Iterator[Workspace]:
    root = sandbox.workdir / name
    root.mkdir(parents=True, exist_ok=True)
    yield Workspace(root, sandbox.credentials)


@contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temporary folder, also the state folder (XDG_STATE_HOME) of every process started meanwhile.

    The sandbox's seeded orgs have the same ids everywhere, and the tool locks an org pair
    in the user's state folder: without this, someone else's run against another sandbox
    on the same machine would hold "our" pair's lock (exit 4).
    """
    directory = Path(tempfile.mkdtemp(prefix=f"dyte-bench-{prefix}-"))
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(directory / "state")
    try:
        yield directory
    finally:
        if saved is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = saved
        if not keep:
            shutil.rmtree(directory, ignore_errors=True)


# --------------------------------------------------------------------------- the org's minimum
V1 = "/v1/organizations/{organizationId}"
ROUTE_LABELS = {
    "GET /v2/presets": "v2 presets listing (auth probe + reconcile by name)",
    f"GET {V1}/presets": "v1 presets pages",
    f"GET {V1}/preset-roles": "v1 roles pages",
    f"GET {V1}/webhooks": "v1 webhooks (unpaged)",
    f"GET {V1}/meetings": "v1 meetings pages (+1: the v1 preflight probe)",
    f"GET {V1}/meetings/{{meetingId}}/participants": "v1 participants pages",
    f"GET {V1}/recordings": "v1 recording stats pages",
    f"GET {V1}/meetings/{{meetingId}}/recordings": "v1 recordings pages (recorded meetings)",
    "GET /v2/webhooks": "v2 webhooks listing (reconcile by url+name)",
    "POST /v2/presets": "v2 preset creates (with variants)",
    "POST /v2/meetings": "v2 meeting creates",
    "PATCH /v2/meetings/{meeting_id}": "v2 meeting PATCH to INACTIVE (v1 CLOSED)",
    "POST /v2/meetings/{meeting_id}/participants": "v2 participant creates",
    "POST /v2/webhooks": "v2 webhook creates",
}


def minimum_calls(ledger_path: Path) -> dict[str, Any]:
    """The fewest API calls this org needs, per route, computed from what the ledger saw of it.

    Reads: every v1 list page (presets, roles, webhooks, meetings, the participants of each
    meeting, recording stats, the recordings of each recorded meeting: the tool lists
    recordings in the plan and `export-ids`), one v2 auth probe (GET /v2/presets, 1 item,
    before the extract so bad v2 credentials fail fast), and the v2 listings a first run
    needs to reconcile (presets by name, webhooks by url+name: one page each, v2 starts
    empty). Writes: one create per v2 entity, plus one PATCH per meeting whose v1 status
    is CLOSED (v2 creates meetings ACTIVE). Preset/role documents (`/s3/...`) are not API
    calls (not rate limited): counted apart. A v1 offset/limit walk needs n // 100 + 1
    requests (a full page is not the last one); per-meeting listings one each.
    """
    conn = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        snap = dict(conn.execute("SELECT kind, count(*) FROM snapshot GROUP BY kind").fetchall())
        per_meeting = [n for (n,) in conn.execute("SELECT count(*) FROM snapshot WHERE kind = 'participant' GROUP BY parent_id")]
        recordings_per_meeting = [
            n for (n,) in conn.execute("SELECT count(*) FROM snapshot WHERE kind = 'recording' GROUP BY parent_id")
        ]
        created = dict(
            conn.execute(
                "SELECT kind, count(*) FROM entities WHERE v2_id IS NOT NULL AND action != 'gone' GROUP BY kind"
            ).fetchall()
        )
        closed = conn.execute(
            "SELECT count(*) FROM snapshot WHERE kind = 'meeting' AND json_extract(data, '$.status') = 'CLOSED'"
        ).fetchone()[0]
        role_documents = conn.execute(
            "SELECT count(*) FROM snapshot WHERE kind = 'role' AND json_extract(data, '$.document') IS NOT NULL"
        ).fetchone()[0]
    finally:
        conn.close()
    meetings = snap.get("meeting", 0)
    by_route = {
        "GET /v2/presets": 1 + 1,
        f"GET {V1}/presets": v1_pages(snap.get("preset", 0)),
        f"GET {V1}/preset-roles": v1_pages(snap.get("role", 0)),
        f"GET {V1}/webhooks": 1,
        f"GET {V1}/meetings": v1_pages(meetings),
        f"GET {V1}/meetings/{{meetingId}}/participants": sum(v1_pages(n) for n in per_meeting) + meetings - len(per_meeting),
        f"GET {V1}/recordings": v1_pages(snap.get("recording", 0)),
        f"GET {V1}/meetings/{{meetingId}}/recordings": sum(v1_pages(n) for n in recordings_per_meeting),
        "GET /v2/webhooks": 1,
        "POST /v2/presets": created.get("preset", 0),
        "POST /v2/meetings": created.get("meeting", 0),
        "PATCH /v2/meetings/{meeting_id}": closed,
        "POST /v2/meetings/{meeting_id}/participants": created.get("participant", 0),
        "POST /v2/webhooks": created.get("webhook", 0),
    }
    return {
        "by_route": by_route,
        "total": sum(by_route.values()),
        "reads": sum(n for r, n in by_route.items() if r.startswith("GET")),
        "writes": sum(n for r, n in by_route.items() if not r.startswith("GET")),
        "documents": snap.get("preset", 0) + role_documents,
        "org": {
            "meetings": meetings,
            "participants": snap.get("participant", 0),
            "v1_presets": snap.get("preset", 0),
            "v1_roles": snap.get("role", 0),
            "webhooks": snap.get("webhook", 0),
            "recordings": snap.get("recording", 0),
            "closed_meetings": closed,
            "v2_presets_with_variants": created.get("preset", 0),
        },
    }


def route_table(actual: dict[str, int], minimum: dict[str, int]) -> list[dict[str, Any]]:
    """Actual vs minimum calls per route (API routes only; documents apart)."""
    rows = []
    for route in sorted(set(actual) | set(minimum), key=lambda r: (list(ROUTE_LABELS).index(r) if r in ROUTE_LABELS else 99, r)):
        if "/s3/" in route:
            continue
        rows.append(
            {
                "route": route,
                "what": ROUTE_LABELS.get(route, "(not in the minimum)"),
                "calls": actual.get(route, 0),
                "minimum": minimum.get(route, 0),
            }
        )
    return rows


# --------------------------------------------------------------------------- timeline
class StatsSampler:
    """Polls `/_sandbox/stats` in a thread (every `period` s) to see, from the server, when calls happened.

    Gives the phases of a run without instrumenting it: first API call (start-up cost),
    first v2 write (extract + plan done), last call (load done), and the idle gaps between.
    """

    def __init__(self, base_url: str, period: float = 0.1) -> None:
        import threading

        self.base_url, self.period = base_url, period
        self.samples: list[tuple[float, int, int, int]] = []  # (t, api calls, v2 writes, throttled)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self.started = 0.0

    def _loop(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=5) as http:
            while not self._stop.is_set():
                try:
                    totals = http.get("/_sandbox/stats").json()["totals"]
                    self.samples.append(
                        (
                            time.perf_counter() - self.started,
                            totals["v1"] + totals["v2"],
                            totals["v2_writes"],
                            totals["throttled"],
                        )
                    )
                except (httpx.HTTPError, ValueError, KeyError):
                    pass
                self._stop.wait(self.period)

    def __enter__(self) -> StatsSampler:
        self.started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def phases(self) -> dict[str, float | None]:
        if not self.samples:
            return {}
        base_calls, base_writes = self.samples[0][1], self.samples[0][2]
        first_call = next((t for t, c, _, _ in self.samples if c > base_calls), None)
        first_write = next((t for t, _, w, _ in self.samples if w > base_writes), None)
        final_calls = self.samples[-1][1]
        last_call = next((t for t, c, _, _ in self.samples if c >= final_calls), None)
        return {"first_call_s": first_call, "first_v2_write_s": first_write, "last_call_s": last_call}
