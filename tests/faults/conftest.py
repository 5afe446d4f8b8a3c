"""Fixtures of the robustness suite, and the hook that writes its tally.

At the end of any session that ran tests from this folder, the suite writes
`reports/robustness.json` and `reports/robustness.md` (override the folder with
`ROBUSTNESS_REPORT_DIR`) and prints the Markdown table: the README's robustness table
is pasted from there.
"""

from __future__ import annotations

import itertools
import os
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


def _report_dir(config: pytest.Config) -> Path:
    return Path(os.environ.get("ROBUSTNESS_REPORT_DIR") or config.rootpath / "reports")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if TALLY:
        try:
            session.config.stash[_written] = TALLY.write(_report_dir(session.config))
        except Exception as exc:  # the tally must never turn a green run red
            print(f"robustness tally not written: {type(exc).__name__}: {exc}")


_written = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not TALLY:
        return
    terminalreporter.section("robustness tally")
    try:
        terminalreporter.write(TALLY.markdown())
    except Exception as exc:
        terminalreporter.write_line(f"robustness tally failed: {type(exc).__name__}: {exc}")
    for path in config.stash.get(_written, []):
        terminalreporter.write_line(f"written: {path}")
