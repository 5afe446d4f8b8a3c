"""Runs the sandbox app on uvicorn: in the foreground for the CLI, or on a thread for tests.

with SandboxServer(ServeOptions(dataset="empty")).running() as sandbox:
    sandbox.base_url, sandbox.credentials, sandbox.stats(), sandbox.reset()
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import uvicorn

from migrator.sandbox.app import SandboxApp
from migrator.sandbox.options import ServeOptions, is_loopback

STARTUP_TIMEOUT_SECONDS = 30.0


def _fastest(module: str, choice: str) -> str:
    """uvloop and httptools when installed (uvicorn[standard]), else the pure-Python ones."""
    try:
        __import__(module)
        return choice
    except ImportError:
        return "auto"


class _Uvicorn(uvicorn.Server):
    """A uvicorn server that reports when it listens and exits 0 on SIGINT/SIGTERM.

    Stock uvicorn re-raises the captured signal after shutting down, which turns a
    clean stop into death by signal.
    """

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_ready()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def write_credentials(path: Path, credentials: dict[str, Any]) -> None:
    """Atomically (temp file + rename), readable by the owner only: it holds API keys."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(credentials, file, indent=2)
            file.write("\n")
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


class SandboxServer:
    """One sandbox: its app (data, stats), its socket and, once started, its uvicorn."""

    def __init__(self, options: ServeOptions | None = None, **overrides: Any) -> None:
        self.options = replace(options or ServeOptions(), **overrides)
        if not is_loopback(self.options.host):
            raise ValueError(f"the sandbox only serves on loopback, not on {self.options.host!r}")
        self.app = SandboxApp(self.options)  # builds the dataset: a bad one fails before binding
        self._socket: socket.socket | None = None
        self._port: int | None = None
        self._uvicorn: _Uvicorn | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # --- where it is ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the sandbox is not bound yet")
        return self._port

    @property
    def base_url(self) -> str:
        host = self.options.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        """The --credentials-out document: base URL, org id and API key of each side; RealtimeKit's first app."""
        orgs = self.app.store.orgs
        app_id = next(iter(orgs.rtk.apps))["id"]
        return {
            "v1": {"base_url": f"{self.base_url}/v1", "org_id": orgs.v1.id, "api_key": orgs.v1.api_key},
            "v2": {"base_url": f"{self.base_url}/v2", "org_id": orgs.v2.id, "api_key": orgs.v2.api_key},
            "realtimekit": {
                "account_id": orgs.rtk.id,
                "app_id": app_id,
                "api_token": orgs.rtk.api_token,
                "base_url": f"{self.base_url}/client/v4/accounts/{orgs.rtk.id}/realtime/kit/{app_id}",
            },
        }

    def stats(self) -> dict[str, Any]:
        return self.app.stats.snapshot()

    def reset(self) -> None:
        self.app.reset()

    # --- running -------------------------------------------------------------------------

    def bind(self) -> None:
        family = socket.AF_INET6 if ":" in self.options.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.options.host, self.options.port))
        sock.listen(2048)
        sock.setblocking(False)
        self._socket = sock
        self._port = int(sock.getsockname()[1])

    def _config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            loop=_fastest("uvloop", "uvloop"),
            http=_fastest("httptools", "httptools"),
            lifespan="off",
            access_log=False,
            log_config=None,
            log_level="warning",
            server_header=False,
            date_header=False,
        )

    def _on_ready(self, announce: Callable[[], None] | None) -> None:
        if self.options.credentials_out is not None:
            write_credentials(self.options.credentials_out, self.credentials)
        if announce is not None:
            announce()
        self._ready.set()

    def serve_forever(self, announce: Callable[[], None] | None = None) -> None:
        """Foreground, until SIGINT/SIGTERM; `announce` runs once the port listens."""
        if self._socket is None:
            self.bind()
        assert self._socket is not None
        self._uvicorn = _Uvicorn(self._config(), lambda: self._on_ready(announce))
        try:
            self._uvicorn.run(sockets=[self._socket])
        finally:
            self._socket.close()

    def start(self) -> SandboxServer:
        """On a daemon thread; returns once the port listens."""
        self.bind()
        assert self._socket is not None
        self._uvicorn = _Uvicorn(self._config(), lambda: self._on_ready(None))
        self._thread = threading.Thread(
            target=self._uvicorn.run, kwargs={"sockets": [self._socket]}, name=f"sandbox:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._ready.wait(0.05):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox did not start")
        return self

    def stop(self) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._socket is not None:
            self._socket.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[SandboxServer]:
        self.start()
        try:
            yield self
        finally:
            self.stop()
