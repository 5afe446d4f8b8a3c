"""Shared fixtures: a real sandbox on a free loopback port.

    def test_something(sandbox):                      # sample data, default options
        sandbox.base_url, sandbox.credentials, sandbox.stats(), sandbox.reset()

    def test_other(sandbox_factory, tmp_path):        # any `sandbox serve` option
        sb = sandbox_factory(dataset="empty", rate_limit=0, credentials_out=tmp_path / "creds.json")

Each server runs uvicorn on a background thread of the test process and is stopped
when the test ends. `sandbox.credentials` is the --credentials-out document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faults.tally import TALLY  # tests/ is on sys.path (rootdir conftest); the suite imports it as faults.tally

from migrator.sandbox.options import ServeOptions
from migrator.sandbox.server import SandboxServer

SandboxFactory = Callable[..., SandboxServer]


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Default ledgers and org-pair locks go to the user's state directory, the parsed v2 spec
    to the user's cache directory: in tests, private ones (CLI subprocesses inherit them), never
    the real home's."""
    names = ("XDG_STATE_HOME", "XDG_CACHE_HOME")
    saved = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ[name] = str(tmp_path_factory.mktemp(name.split("_")[1].lower()))
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def sandbox_factory() -> Iterator[SandboxFactory]:
    """Starts sandboxes with `ServeOptions` fields as keywords; stops them all afterwards."""
    started: list[SandboxServer] = []

    def start(**options: Any) -> SandboxServer:
        server = SandboxServer(ServeOptions(**options)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(sandbox_factory: SandboxFactory) -> SandboxServer:
    """A sandbox with the `sandbox serve` defaults: seeded sample data, 2000/minute rate limit."""
    return sandbox_factory()


# ---------------------------------------------------------------- the robustness tally
# At the end of any session that ran the robustness suite (tests/faults), the tally is
# written to `reports/robustness.json` and `.md` (folder: `ROBUSTNESS_REPORT_DIR`) and its
# Markdown table printed: the README's robustness table is pasted from there. Under
# pytest-xdist each worker sends its records to the controller, which writes them all.
def _report_dir(config: pytest.Config) -> Path:
    return Path(os.environ.get("ROBUSTNESS_REPORT_DIR") or config.rootpath / "reports")


_written = pytest.StashKey[list]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller writes the tally
        workeroutput["robustness"] = json.dumps(TALLY.records(), default=str)
        return
    if TALLY:
        try:
            session.config.stash[_written] = TALLY.write(_report_dir(session.config))
        except Exception as exc:  # the tally must never turn a green run red
            print(f"robustness tally not written: {type(exc).__name__}: {exc}")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: take in a finished worker's records."""
    records = getattr(node, "workeroutput", {}).get("robustness")
    if records:
        TALLY.absorb(json.loads(records))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if not TALLY or getattr(config, "workeroutput", None) is not None:
        return
    terminalreporter.section("robustness tally")
    try:
        terminalreporter.write(TALLY.markdown())
    except Exception as exc:
        terminalreporter.write_line(f"robustness tally failed: {type(exc).__name__}: {exc}")
    for path in config.stash.get(_written, []):
        terminalreporter.write_line(f"written: {path}")
