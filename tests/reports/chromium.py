"""Headless Chromium driven over the DevTools protocol, enough to check a report page.

Opens a page, waits for the report script to mark `data-ready`, and records console
errors, uncaught exceptions, browser log errors (CSP violations) and JavaScript dialogs
(an `alert` means injected script ran). Loopback only: the page is a local file.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> str | None:
    return next((path for path in map(shutil.which, CANDIDATES) if path), None)


@dataclass
class PageProblems:
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


class Chromium:
    """One headless browser process with one page; use as a context manager."""

    def __init__(self, binary: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        # Chromium's helper processes (crashpad, zygote) can still write to the profile
        # after the browser exits: they run in the browser's own session so close() can
        # stop them all, and a file they write at the last moment does not fail a test.
        self._profile = tempfile.TemporaryDirectory(prefix="report-chromium-", ignore_cleanup_errors=True)
        self._process = subprocess.Popen(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={self._profile.name}",
                "--remote-debugging-port=0",
                "--window-size=1280,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._ids = itertools.count(1)
        self._socket = connect(self._browser_url(), max_size=None, open_timeout=timeout)
        self.problems = PageProblems()
        target = self._call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self._session = self._call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page"):
            self._call(f"{domain}.enable", session=True)

    def _browser_url(self) -> str:
        """Chromium writes its DevTools port and path to DevToolsActivePort once it listens."""
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            lines = port_file.read_text().split("\n") if port_file.exists() else []
            if len(lines) >= 2 and lines[1]:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.05)
        raise RuntimeError("chromium did not start its DevTools endpoint")

    # ---------------------------------------------------------------- protocol
    def _call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = False) -> dict[str, Any]:
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self._session
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._receive(deadline)
            if reply.get("id") == message_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def _receive(self, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("chromium did not answer in time")
        message = json.loads(self._socket.recv(timeout=remaining))
        self._observe(message)
        return message

    def _observe(self, message: dict[str, Any]) -> None:
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            self.problems.console_errors.append(" ".join(str(a.get("value", a.get("description"))) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            self.problems.console_errors.append(details.get("exception", {}).get("description") or details.get("text", ""))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            self.problems.console_errors.append(params["entry"].get("text", ""))
        elif method == "Page.javascriptDialogOpening":
            self.problems.dialogs.append(params.get("message", ""))
            self._socket.send(
                json.dumps(
                    {
                        "id": next(self._ids),
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": True},
                        "sessionId": self._session,
                    }
                )
            )

    # ---------------------------------------------------------------- page
    def evaluate(self, expression: str) -> Any:
        result = self._call("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, path: Path) -> float:
        """Load a page and wait until its script is done; returns seconds from navigation to ready."""
        started = time.monotonic()
        self._call("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        deadline = started + self.timeout
        while time.monotonic() < deadline:
            if self.evaluate("document.readyState === 'complete' && document.documentElement.hasAttribute('data-ready')"):
                return time.monotonic() - started
            time.sleep(0.05)
        raise TimeoutError(f"{path} did not become ready within {self.timeout} s")

    def drain(self, seconds: float = 0.3) -> None:
        """Let late events (errors, dialogs) arrive."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self._receive(deadline)
        except TimeoutError:
            pass

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self._signal_group(signal.SIGTERM)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            self._signal_group(signal.SIGKILL)
            self._process.wait()
            self._profile.cleanup()

    def _signal_group(self, signum: signal.Signals) -> None:
        try:
            os.killpg(self._process.pid, signum)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
