"""Drive the real CLI against a real sandbox, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from click.testing import CliRunner, Result

from migrator.cli import cli, read_outcome
from migrator.sandbox.routes_v2 import DYTE_V2, REALTIMEKIT


@dataclass
class Workspace:
    """One user's working folder: credentials file, ledger and reports."""

    root: Path
    credentials: Path
    target: str = "dyte-v2"
    source: str = "dyte-v1"

    @classmethod
    def for_sandbox(cls, root: Path, sandbox: Any, target: str = "dyte-v2", source: str = "dyte-v1") -> Workspace:
        creds = root / "credentials.json"
        creds.write_text(json.dumps(sandbox.credentials))
        return cls(root, creds, target, source)

    @property
    def ledger(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    def args(self, *command: str, json_out: bool = True) -> list[str]:
        base = [
            "--credentials",
            str(self.credentials),
            "--source",
            self.source,
            "--target",
            self.target,
            "--ledger",
            str(self.ledger),
            "--reports-dir",
            str(self.reports),
            "--rate-limit",
            "0",
            "--target-rate-limit",
            "0",
            "--timeout",
            "5",
            "--no-progress",
        ]
        return base + (["--json"] if json_out else []) + list(command)

    def run(self, *command: str) -> tuple[Result, dict[str, Any] | None]:
        """In-process run with CliRunner; returns the result and the --json outcome."""
        result = CliRunner().invoke(cli, self.args(*command), catch_exceptions=False)
        return result, read_outcome(result.stdout)

    def spawn(self, *command: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """The CLI as a separate process (for kills and signals)."""
        return subprocess.Popen(
            [sys.executable, "-m", "migrator", *self.args(*command)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
            cwd=self.root,
        )


def get_json(client: httpx.Client, path: str, params: dict[str, Any] | None = None, within: float = 60) -> dict[str, Any]:
    """GET through the sandbox's injected faults and rate limit: retry until a clean 200."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pause = 0.05
        try:
            response = client.get(path, params=params)
            if response.status_code == 200:
                return response.json()
            if response.status_code == 429:  # the limiter's bucket is shared with the tool's runs
                pause = min(float(response.headers.get("retry-after") or 1), 5.0)
        except (httpx.TransportError, json.JSONDecodeError):
            pass
        time.sleep(pause)
    raise AssertionError(f"GET {path} kept failing")


def v2_writes(sandbox: Any) -> int:
    """Writes that reached the target's handlers (a test uses one target: Dyte v2 or RealtimeKit)."""
    totals = sandbox.stats()["totals"]
    return int(totals["v2_writes"] + totals["rtk_writes"])


def v2_count(sandbox: Any, method: str, route: str) -> int:
    return sum(r["count"] for r in sandbox.stats()["requests"] if r["method"] == method and r["route"] == route)


def target_count(sandbox: Any, target: str, method: str, resource: str) -> int:
    """Requests `method resource` (a v2 resource template such as `/meetings/{meeting_id}`) that reached `target`."""
    surface = REALTIMEKIT if target == "realtimekit" else DYTE_V2
    return v2_count(sandbox, method, surface.route_prefix + surface.spec_prefix + resource)


class V2:
    """Read the target (the sandbox's v2 org, or its RealtimeKit app: the same resources and
    envelope) directly, to check the final state independently of the tool."""

    def __init__(self, sandbox: Any, target: str = "dyte-v2") -> None:
        if target == "realtimekit":
            rtk = sandbox.credentials["realtimekit"]
            self.client = httpx.Client(
                base_url=rtk["base_url"], headers={"Authorization": f"Bearer {rtk['api_token']}"}, timeout=10
            )
            return
        creds = sandbox.credentials["v2"]
        self.client = httpx.Client(base_url=creds["base_url"], auth=(creds["org_id"], creds["api_key"]), timeout=10)

    def all(self, path: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while True:
            body = get_json(self.client, path, {"page_no": page, "per_page": 100})
            out.extend(body["data"])
            paging = body.get("paging")
            if not paging or paging["end_offset"] >= paging["total_count"] or not body["data"]:
                return out
            page += 1

    def webhooks(self) -> list[dict[str, Any]]:
        return get_json(self.client, "/webhooks")["data"]  # no paging on this route

    def participants(self) -> list[dict[str, Any]]:
        return [p | {"meeting_id": m["id"]} for m in self.all("/meetings") for p in self.all(f"/meetings/{m['id']}/participants")]


class V1:
    def __init__(self, sandbox: Any) -> None:
        creds = sandbox.credentials["v1"]
        self.client = httpx.Client(
            base_url=f"{creds['base_url']}/organizations/{creds['org_id']}",
            headers={"Authorization": creds["api_key"]},
            timeout=10,
        )

    def all(self, path: str, key: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            page = get_json(self.client, path, {"offset": len(out), "limit": 100})["data"][key]
            out.extend(page)
            if len(page) < 100:
                return out

    def webhooks(self) -> list[dict[str, Any]]:
        return get_json(self.client, "/webhooks")["data"]["webhooks"]


@dataclass
class Inventory:
    """One side of a migration as its own API lists it: objects counted by their natural keys
    (what a migration keeps), and the id of every object."""

    meetings: Counter[Any] = field(default_factory=Counter)  # title
    participants: Counter[tuple[Any, Any]] = field(default_factory=Counter)  # (meeting title, custom participant id)
    webhooks: Counter[tuple[Any, Any]] = field(default_factory=Counter)  # (url, name)
    presets: Counter[Any] = field(default_factory=Counter)  # name (Dyte v2 and RealtimeKit)
    participant_presets: Counter[tuple[Any, Any, Any]] = field(default_factory=Counter)  # (title, custom id, preset name)
    ids: list[tuple[str, str]] = field(default_factory=list)  # (kind, id)


def inventory(sandbox: Any, side: str) -> Inventory:
    """Read `side` (`dyte-v1`, `dyte-v2` or `realtimekit`) of the sandbox through its API, with its auth."""
    out = Inventory()
    if side == "dyte-v1":
        v1 = V1(sandbox)
        for m in v1.all("/meetings", "meetings"):
            out.meetings[m.get("title")] += 1
            out.ids.append(("meeting", m["id"]))
            for p in v1.all(f"/meetings/{quote(m['id'], safe='')}/participants", "participants"):
                out.participants[(m.get("title"), p.get("clientSpecificId") or p["id"])] += 1
        hooks = v1.webhooks()
    else:
        v2 = V2(sandbox, side)
        for preset in v2.all("/presets"):
            out.presets[preset.get("name")] += 1
            out.ids.append(("preset", preset["id"]))
        for m in v2.all("/meetings"):
            out.meetings[m.get("title")] += 1
            out.ids.append(("meeting", m["id"]))
            for p in v2.all(f"/meetings/{quote(m['id'], safe='')}/participants"):
                out.participants[(m.get("title"), p.get("custom_participant_id"))] += 1
                out.participant_presets[(m.get("title"), p.get("custom_participant_id"), p.get("preset_name"))] += 1
                out.ids.append(("participant", p["id"]))
        hooks = v2.webhooks()
    for h in hooks:
        out.webhooks[(h.get("url"), h.get("name"))] += 1
        out.ids.append(("webhook", h["id"]))
    return out


# The (source, target) pairs a migration runs between; integration tests are parametrised over them.
PAIRS = [("dyte-v1", "dyte-v2"), ("dyte-v1", "realtimekit"), ("dyte-v2", "realtimekit")]
# What messages and reports call each side of a pair.
TITLES = {"dyte-v1": "Dyte v1", "dyte-v2": "Dyte v2", "realtimekit": "RealtimeKit"}


def seed_v2_org(root: Path, sandbox: Any, tries: int = 4) -> None:
    """Fill the sandbox's (empty) Dyte v2 org as a user would: migrate its v1 org there through the CLI."""
    seeding = root / "seed-v1-to-v2"
    seeding.mkdir()
    ws = Workspace.for_sandbox(seeding, sandbox)
    for _ in range(tries):  # the sandbox may be injecting faults
        proc = ws.spawn("migrate")
        _, err = proc.communicate(timeout=240)
        if proc.returncode == 0:
            return
    raise AssertionError(f"seeding the v2 org did not complete: {err[-500:]}")


def workspace_for_pair(root: Path, sandbox: Any, source: str, target: str) -> Workspace:
    """A workspace migrating `source` to `target`; a Dyte v2 source is seeded from the sandbox's v1 org first."""
    if source == "dyte-v2":
        seed_v2_org(root, sandbox)
    return Workspace.for_sandbox(root, sandbox, target, source)


def assert_exact_copy(org: Any, target: str = "dyte-v2", source: str = "dyte-v1") -> None:
    """Each source object has exactly one counterpart in the target (checked through both APIs, not via the tool)."""
    have, want = inventory(org, target), inventory(org, source)
    assert sum(have.meetings.values()) == sum(want.meetings.values())
    assert have.participants == want.participants
    assert {name for _, _, name in have.participant_presets} <= set(have.presets)
    assert sum(have.webhooks.values()) == sum(want.webhooks.values())
    if source == "dyte-v2":  # presets keep their names, participants their presets
        assert set(have.presets) == set(want.presets)
        assert have.participant_presets == want.participant_presets
