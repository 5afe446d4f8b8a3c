"""The fixture tree and a CLI runner for the scan tests (no network, no sandbox)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from migrator.cli import cli

FIXTURES = Path(__file__).parent / "fixtures" / "app"
# Values written into the fixtures as hard-coded keys: no output may ever contain them.
SECRETS = ("k3y-51f0c2a9d8e7", "a8f3e2d1c0b9a7f6", "b7c6d5e4f3a2b1c0", "live_9c1f5e7a3b2d")


@pytest.fixture
def run_scan(monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """`dyte-migrate scan ARGS` from FIXTURES' parent, so reported paths start with `app/`."""
    monkeypatch.chdir(FIXTURES.parent)

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, ["scan", *args], catch_exceptions=False)

    return run
