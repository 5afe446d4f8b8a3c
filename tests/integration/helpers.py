"""Drive the real CLI against a real sandbox, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from click.testing import CliRunner, Result

from migrator.cli import cli, read_outcome


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


def get_json(client: httpx.Client, path: str, params: dict[str, Any] | None = None, attempts: int = 20) -> dict[str, Any]:
    """GET through the sandbox's injected faults: retry until a clean 200."""
    for _ in range(attempts):
        try:
            response = client.get(path, params=params)
            if response.status_code == 200:
                return response.json()
        except (httpx.TransportError, json.JSONDecodeError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"GET {path} kept failing")


def v2_writes(sandbox: Any) -> int:
    """Writes that reached the target's handlers (a test uses one target: Dyte v2 or RealtimeKit)."""
    totals = sandbox.stats()["totals"]
    return int(totals["v2_writes"] + totals["rtk_writes"])


def v2_count(sandbox: Any, method: str, route: str) -> int:
    return sum(r["count"] for r in sandbox.stats()["requests"] if r["method"] == method and r["route"] == route)


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


# The (source, target) pairs a migration runs between; integration tests are parametrised over them.
PAIRS = [("dyte-v1", "dyte-v2"), ("dyte-v1", "realtimekit"), ("dyte-v2", "realtimekit")]


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


def _source_inventory(org: Any, source: str) -> tuple[int, Counter[tuple[str, str]], int]:
    """(meetings, participants by (meeting title, custom id), webhooks) read from the source's own API."""
    participants: Counter[tuple[str, str]] = Counter()
    if source == "dyte-v2":
        v2 = V2(org, "dyte-v2")
        meetings = v2.all("/meetings")
        titles = {m["id"]: m["title"] for m in meetings}
        participants.update((titles[p["meeting_id"]], p["custom_participant_id"]) for p in v2.participants())
        return len(meetings), participants, len(v2.webhooks())
    v1 = V1(org)
    meetings = v1.all("/meetings", "meetings")
    for m in meetings:
        for p in v1.all(f"/meetings/{m['id']}/participants", "participants"):
            participants[(m["title"], p.get("clientSpecificId") or p["id"])] += 1
    return len(meetings), participants, len(get_json(v1.client, "/webhooks")["data"]["webhooks"])


def assert_exact_copy(org, target: str = "dyte-v2", source: str = "dyte-v1"):
    """Each source object has exactly one counterpart in the target (checked on the sandbox, not via the tool)."""
    meetings, participants, webhooks = _source_inventory(org, source)
    v2 = V2(org, target)
    v2_meetings = v2.all("/meetings")
    assert len(v2_meetings) == meetings
    titles = {m["id"]: m["title"] for m in v2_meetings}
    v2_participants = Counter((titles[p["meeting_id"]], p["custom_participant_id"]) for p in v2.participants())
    assert v2_participants == participants
    presets = {p["name"] for p in v2.all("/presets")}
    assert all(p["preset_name"] in presets for p in v2.participants())
    assert len(v2.webhooks()) == webhooks
    if source == "dyte-v2":  # presets keep their names, participants their presets
        source_v2 = V2(org, "dyte-v2")
        assert presets == {p["name"] for p in source_v2.all("/presets")}
        assert Counter(
            (titles[p["meeting_id"]], p["custom_participant_id"], p["preset_name"]) for p in v2.participants()
        ) == Counter(
            (t["title"], p["custom_participant_id"], p["preset_name"])
            for t in source_v2.all("/meetings")
            for p in source_v2.all(f"/meetings/{t['id']}/participants")
        )
