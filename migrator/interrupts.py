"""SIGINT and SIGTERM during a command's work: one line and exit 3, never a traceback or a silent death.

Before the work starts, `migrator.launch` has its own handlers (exit 130/143 at once). Once a
command starts, both signals raise `Stopped`, which the CLI turns into one line and exit 3
(stopped early, resumable); the Python API's async stages replace these handlers with a
graceful stop of their own while they run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from migrator.launch import before_work

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """A SIGINT or SIGTERM during a command's work, outside the API's own graceful handling."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signal_name = signal.Signals(signum).name


def _during_work(signum: int, _frame: FrameType | None) -> None:
    raise Stopped(signum)


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """The outcome is decided and being printed: a late signal changes nothing."""


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
        for number, handler in previous.items():  # once work has begun, "before any work" is never true again
            signal.signal(number, _ignore if handler is before_work else handler)


def settle() -> None:
    """From here on the outcome is printed and the process exits; later signals are ignored."""
    if threading.current_thread() is threading.main_thread():
        for sig in SIGNALS:
            signal.signal(sig, _ignore)
