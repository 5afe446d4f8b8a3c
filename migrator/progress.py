"""Progress on a terminal: counts per kind and an ETA; silent elsewhere."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn, TaskID


class ProgressDisplay:
    """`advance(kind, n)` after work is done; a no-op when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    @contextmanager
    def stage(self, title: str, totals: dict[str, int] | None = None) -> Iterator["ProgressDisplay"]:
        if not self.enabled:
            yield self
            return
        columns = [SpinnerColumn(), TextColumn(f"{title} {{task.description}}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()]
        with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
            self._progress = progress
            self._tasks = {kind: progress.add_task(kind, total=n or None) for kind, n in (totals or {}).items()}
            try:
                yield self
            finally:
                self._progress = None
                self._tasks = {}

    def advance(self, kind: str, n: int) -> None:
        if self._progress is None:
            return
        if kind not in self._tasks:
            self._tasks[kind] = self._progress.add_task(kind, total=None)
        self._progress.advance(self._tasks[kind], n)
