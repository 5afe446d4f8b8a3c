"""SIGINT and SIGTERM: one line and a documented exit code, never a traceback or a silent death.

Two phases. Before a command starts its work (the interpreter loads modules, click reads the
options) a signal ends the process at once with 130 (SIGINT) or 143 (SIGTERM): nothing was
done. Once the work starts, both signals raise `Stopped`, which the CLI turns into one line and
exit 3 (stopped early, resumable); the Python API's async stages replace these handlers with a
graceful stop of their own while they run. This module imports nothing heavy, so the first
phase is in place within milliseconds of start-up.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from contextlib import contextmanager
from types import FrameType
from typing import Any, Iterator

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A SIGINT or SIGTERM during a command's work, outside the API's own graceful handling."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


def _before_work(signum: int, _frame: FrameType | None) -> None:
    """Exit 128 + signal number with one line (and the JSON object under --json); nothing to undo."""
    name = signal.Signals(signum).name
    message = f"stopped by {name} before any work started; nothing was done"
    os.write(2, f"error: {message}\n".encode())
    if "--json" in sys.argv[1:]:
        outcome = {"command": None, "status": "failed", "exit_code": 128 + signum, "error": message,
                   "counts": {}, "requests": {}, "reports": []}
        os.write(1, (json.dumps(outcome) + "\n").encode())
    os._exit(128 + signum)


def _during_work(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """The outcome is decided and being printed: a late signal changes nothing."""


def install_startup_handlers() -> None:
    for sig in SIGNALS:
        signal.signal(sig, _before_work)


@contextmanager
def work_phase() -> Iterator[None]:
    """Signals raise `Stopped` inside the block; the previous handlers come back after it."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous: dict[int, Any] = {sig: signal.getsignal(sig) for sig in SIGNALS}
    for sig in SIGNALS:
        signal.signal(sig, _during_work)
    try:
        yield
    finally:
        for sig, handler in previous.items():  # once work has begun, "before any work" is never true again
            signal.signal(sig, _ignore if handler is _before_work else handler)


def settle() -> None:
    """From here on the outcome is printed and the process exits; later signals are ignored."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _ignore)
