"""Reading files and running the rules over them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from migrator.mapping.folder import default_directory
from migrator.scan._detect import DETECTORS
from migrator.scan._knowledge import Knowledge, load
from migrator.scan._model import Finding, ScanResult
from migrator.scan._source import language_of, open_source
from migrator.scan._walk import MAX_BYTES, iter_files

_DYTE = re.compile(rb"(?i)dyte")
_SNIFF_BYTES = 8192
_MINIFIED_LINE = 500  # average characters per line above which a file is minified, not written


def _display(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return path.as_posix()


def _text(path: Path) -> str | None:
    """The file's text, or None for what is not hand-written source: binary, minified, too big, unreadable."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_BYTES or b"\0" in raw[:_SNIFF_BYTES] or not _DYTE.search(raw):
        return None
    if len(raw) > _SNIFF_BYTES and len(raw) / (raw.count(b"\n") + 1) > _MINIFIED_LINE:
        return None
    return raw.decode("utf-8", errors="replace")


def scan_file(path: Path, kb: Knowledge, display: str) -> list[Finding]:
    """Findings in one file. A file that never says "dyte" is not examined: the routes and field
    names the rules look for are common words in other APIs, the word is what makes them Dyte's."""
    text = _text(path)
    if text is None:
        return []
    source = open_source(text, language_of(path.name) or "text")
    found: dict[tuple[int, str], Finding] = {}
    for detector in DETECTORS:
        for hit in detector(kb, source):
            line, column = source.position(hit.offset)
            found.setdefault(
                (hit.offset, hit.rule), Finding(display, line, column, hit.rule, hit.found, hit.replacement, hit.why, hit.link)
            )
    return sorted(found.values())


def scan_paths(
    paths: Sequence[Path],
    target: str = "dyte-v2",
    *,
    exclude: Sequence[str] = (),
    mappings_dir: Path | None = None,
    base: Path | None = None,
) -> ScanResult:
    """Scan files and folders; paths in findings are relative to `base` (default: the working directory)."""
    kb = load(mappings_dir or default_directory(), target)
    base = (base or Path.cwd()).resolve()
    findings: list[Finding] = []
    files = 0
    for path in iter_files(paths, exclude):
        files += 1
        findings.extend(scan_file(path, kb, _display(path, base)))
    return ScanResult(sorted(findings), files, target)
