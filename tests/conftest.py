"""Shared fixtures: a real sandbox on a free loopback port.

    def test_something(sandbox):                      # sample data, default options
        sandbox.base_url, sandbox.credentials, sandbox.stats(), sandbox.reset()

    def test_other(sandbox_factory, tmp_path):        # any `sandbox serve` option
        sb = sandbox_factory(dataset="empty", rate_limit=0, credentials_out=tmp_path / "creds.json")

Each server runs uvicorn on a background thread of the test process and is stopped
when the test ends. `sandbox.credentials` is the --credentials-out document.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

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
