"""Progress on a terminal: counts per kind and an ETA; silent elsewhere.

The API reports `ProgressEvent`s; this listener draws them with rich when stderr is a terminal.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # rich is imported when a bar is first drawn: start-up does not pay for it
    from rich.progress import Progress, TaskID

    from migrator.api import ProgressEvent


class ProgressDisplay:
    """A `ProgressListener`: one bar per kind during a stage; a no-op when disabled."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: ProgressEvent) -> None:
        if not self.enabled:
            return
        if event.event == "start":
            self._start(event)
        elif event.event == "end":
            self._stop()
        elif self._progress is not None and event.kind is not None:
            if event.kind not in self._tasks:
                self._tasks[event.kind] = self._progress.add_task(event.kind, total=None)
            self._progress.advance(self._tasks[event.kind], event.n)

    def _start(self, event: ProgressEvent) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

        self._stop()
        columns = [
            SpinnerColumn(),
            TextColumn(f"{event.stage} {{task.description}}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ]
        self._progress = Progress(*columns, console=Console(stderr=True), transient=False)
        self._progress.start()
        self._tasks = {kind: self._progress.add_task(kind, total=n or None) for kind, n in (event.totals or {}).items()}

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks = {}
