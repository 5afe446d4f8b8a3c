"""Which files a scan reads: source files under the given paths, minus what git and the user ignore.

Explicitly named files are read even when .gitignore lists them (as ripgrep does);
`--exclude` patterns apply to everything. Directories are never followed through symlinks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pathspec import GitIgnoreSpec

from migrator.scan._source import language_of

MAX_BYTES = 1_000_000  # larger files are generated or data, not application code
SKIP_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "bower_components",
        "__pycache__",
        ".tox",
        ".nox",
        ".venv",
        "venv",
        ".dart_tool",
        ".pub-cache",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
MINIFIED_SUFFIXES = (".min.js", ".min.mjs", ".bundle.js", ".min.css")


@dataclass(frozen=True)
class _Ignore:
    """One .gitignore (or the --exclude list), matched relative to the folder it applies to."""

    base: str  # a folder, with its trailing separator
    spec: GitIgnoreSpec

    def matches(self, path: str, is_dir: bool) -> bool:
        relative = path[len(self.base) :].replace(os.sep, "/")  # string slicing: Path.relative_to is the hot spot
        return self.spec.match_file(relative + "/" if is_dir else relative)


def _gitignore(folder: Path) -> _Ignore | None:
    try:
        lines = (folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return _Ignore(os.path.join(folder, ""), GitIgnoreSpec.from_lines(lines))


def _enclosing_ignores(root: Path) -> list[_Ignore]:
    """The .gitignore files above `root` inside its git work tree, outermost first."""
    found: list[_Ignore] = []
    for folder in root.parents:
        ignore = _gitignore(folder)
        if ignore is not None:
            found.insert(0, ignore)
        if (folder / ".git").exists():
            return found
    return []  # not inside a git work tree: folders above it are not the project's


def _wanted_file(name: str) -> bool:
    return language_of(name) is not None and not name.endswith(MINIFIED_SUFFIXES)


def iter_files(paths: Sequence[Path], exclude: Sequence[str] = ()) -> Iterator[Path]:
    """Every source file to scan, in a stable order, each once."""
    seen: set[Path] = set()
    for given in paths:
        root = given.resolve()
        excluded = _Ignore(os.path.join(root if root.is_dir() else root.parent, ""), GitIgnoreSpec.from_lines(exclude))
        if root.is_file():
            if not excluded.matches(str(root), False) and root not in seen:
                seen.add(root)
                yield root
            continue
        for path in _walk(root, [*_enclosing_ignores(root), excluded]):
            if path not in seen:
                seen.add(path)
                yield path


def _walk(root: Path, ignores: list[_Ignore]) -> Iterator[Path]:
    stack: list[tuple[Path, list[_Ignore]]] = [(root, ignores)]
    while stack:
        folder, active = stack.pop()
        own = _gitignore(folder)
        if own is not None:
            active = [*active, own]
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            continue
        subfolders: list[Path] = []
        for entry in entries:
            path = entry.path
            try:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name in SKIP_DIRS or os.path.exists(os.path.join(path, "pyvenv.cfg")):
                        continue
                    if not any(ignore.matches(path, True) for ignore in active):
                        subfolders.append(Path(path))
                elif (
                    entry.is_file()
                    and _wanted_file(entry.name)
                    and entry.stat().st_size <= MAX_BYTES
                    and not any(ignore.matches(path, False) for ignore in active)
                ):
                    yield Path(path)
            except OSError:
                continue
        stack.extend((sub, active) for sub in reversed(subfolders))
