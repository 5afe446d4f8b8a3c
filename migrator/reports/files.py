"""Atomic file output: a reader never sees a half-written report or step summary."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomically(target: Path, chunks: Iterable[str]) -> None:
    """Write to a temporary file beside `target`, then rename it over `target`."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
        if target.exists():
            shutil.copymode(target, temporary)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_atomically(target: Path, text: str) -> None:
    """Append by rewriting: the old content plus `text`, swapped in with one rename."""
    existing = target.read_text(encoding="utf-8") if target.exists() else ""
    write_atomically(target, (existing, text))
