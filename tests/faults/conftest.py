"""Fixtures of the robustness suite (its tally is written by hooks in tests/conftest.py)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .support import Org, start_org
from .tally import TALLY, Tally


@pytest.fixture
def tally() -> Tally:
    return TALLY


@pytest.fixture
def org_factory(tmp_path: Path) -> Iterator[Callable[..., Org]]:
    """Starts canary sandboxes (`start_org` keywords); stops them when the test ends."""
    started: list[Org] = []
    numbers = itertools.count(1)  # next() is atomic: tests start orgs from several threads

    def start(**options: Any) -> Org:
        org = start_org(tmp_path / f"org{next(numbers)}", **options)
        started.append(org)
        return org

    yield start
    for org in started:
        org.server.stop()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs only: the same retries, without seconds of backoff between them."""
    import migrator.client

    monkeypatch.setattr(migrator.client, "backoff_delay", lambda failures, base, cap: 0.01)
