"""The options of `sandbox serve`, shared by the CLI, the Python API and the tests."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from migrator.sandbox import dataset
from migrator.sandbox.loader import build_orgs
from migrator.sandbox.store import OrgBuilder

DEFAULT_SEED = 7


@dataclass(frozen=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    dataset: str = "sample"  # "sample", "empty" or the path of a JSON dataset file
    meetings: int = 20
    participants: int = 5
    latency_ms: float = 0.0
    rate_limit: float = 2000.0  # requests per minute per client IP; 0 turns it off
    faults: str = ""
    fault_hang_seconds: float = 5.0
    random_seed: int = DEFAULT_SEED
    credentials_out: Path | None = None

    def org_builder(self) -> OrgBuilder:
        """How to (re)build both orgs from a seeded id source; a dataset file is read once, here."""
        if self.dataset == "empty":
            return lambda ids: build_orgs(dataset.EMPTY, ids)
        if self.dataset == "sample":
            meetings, participants = self.meetings, self.participants
            return lambda ids: build_orgs(dataset.sample(ids, meetings, participants), ids)
        document = dataset.read_file(Path(self.dataset))
        return lambda ids: build_orgs(document, ids)


def is_loopback(host: str) -> bool:
    """Only loopback addresses may serve: the sandbox has fixed, guessable credentials."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
