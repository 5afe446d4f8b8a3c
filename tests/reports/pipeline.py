"""Real reports from the real pipeline: a sandbox, the Python API, and a seeded dataset.

The dataset is the sandbox's sample with hostile additions: a meeting whose title is
markup and, on request, a participant naming a preset that does not exist (unmappable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from migrator.api import Migration, Options, Outcome
from migrator.sandbox import dataset
from migrator.sandbox.idgen import IdSource
from migrator.sandbox.options import DEFAULT_SEED, ServeOptions
from migrator.sandbox.server import SandboxServer
from migrator.settings import load_credentials

from .factory import HOSTILE_TITLE

MISSING_PRESET = "no-such-preset"


def hostile_dataset(path: Path, meetings: int, participants: int, unmappable: bool) -> Path:
    document = dataset.sample(IdSource(DEFAULT_SEED), meetings, participants)
    v1_meetings = document["v1"]["meetings"]
    v1_meetings[0]["title"] = HOSTILE_TITLE
    if unmappable:
        v1_meetings[1]["participants"][0]["presetName"] = MISSING_PRESET
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@dataclass
class Pipeline:
    """One sandbox and one ledger; each command writes its reports to its own folder."""

    server: SandboxServer
    workdir: Path

    @classmethod
    def start(cls, workdir: Path, meetings: int, participants: int, unmappable: bool = False) -> Pipeline:
        options = ServeOptions(
            dataset=str(hostile_dataset(workdir / "dataset.json", meetings, participants, unmappable)),
            rate_limit=0,
            credentials_out=workdir / "credentials.json",
        )
        return cls(SandboxServer(options).start(), workdir)

    def run(self, command: str, reports: str) -> tuple[Outcome, Path]:
        folder = self.workdir / reports
        options = Options(ledger=self.workdir / "ledger.sqlite", reports_dir=folder, rate_per_minute=0)
        migration = Migration(load_credentials(self.workdir / "credentials.json", env={}), options)
        return getattr(migration, command)(), folder

    def v1(self, method: str, path: str, body: dict[str, Any]) -> None:
        creds = self.server.credentials["v1"]
        url = f"{creds['base_url']}/organizations/{creds['org_id']}{path}"
        httpx.request(method, url, json=body, headers={"Authorization": creds["api_key"]}).raise_for_status()

    def v2(self, method: str, path: str, body: dict[str, Any]) -> None:
        creds = self.server.credentials["v2"]
        httpx.request(method, creds["base_url"] + path, json=body, auth=(creds["org_id"], creds["api_key"])).raise_for_status()

    def stop(self) -> None:
        self.server.stop()
