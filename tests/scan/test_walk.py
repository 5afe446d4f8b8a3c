"""Which files a scan reads: .gitignore, skipped folders, minified, binary and big files, and the
plain-text fallback for languages ast-grep lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrator.scan import _source, scan_paths
from migrator.scan._walk import MAX_BYTES, iter_files

V1 = 'const u = "https://api.dyte.io/v1";\n'


def _tree(root: Path, files: dict[str, str | bytes]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def _scanned(root: Path, **options: object) -> set[str]:
    return {f.path for f in scan_paths([root], base=root, **options).findings}  # type: ignore[arg-type]


def test_gitignore_and_skipped_folders(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "dist/\n*.gen.js\n!keep.gen.js\n",
            "src/app.js": V1,
            "src/.gitignore": "local.js\n",
            "src/local.js": V1,
            "dist/bundle.js": V1,
            "x.gen.js": V1,
            "keep.gen.js": V1,
            "node_modules/dyte/index.js": V1,
            ".git/hooks/pre-commit.js": V1,
            "env/pyvenv.cfg": "",
            "env/lib/site.py": 'U = "https://api.dyte.io/v1"\n',
            ".venv/lib/x.py": 'U = "https://api.dyte.io/v1"\n',
        },
    )
    assert _scanned(tmp_path) == {"src/app.js", "keep.gen.js"}


def test_gitignore_of_the_enclosing_repository_applies_to_a_subfolder(tmp_path: Path) -> None:
    _tree(tmp_path, {".git/HEAD": "", ".gitignore": "generated/\n", "web/generated/a.js": V1, "web/b.js": V1})
    assert _scanned(tmp_path / "web") == {"b.js"}


def test_a_named_file_is_read_even_when_ignored(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "secret.js\n", "secret.js": V1})
    assert {f.path for f in scan_paths([tmp_path / "secret.js"], base=tmp_path).findings} == {"secret.js"}


def test_minified_binary_big_and_unknown_files_are_skipped(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "a.min.js": V1,
            "packed.js": "var a=1;" * 2000 + V1,  # one long line: minified
            "blob.js": b"\0\1\2" + V1.encode(),
            "big.js": V1 + "// padding\n" * (MAX_BYTES // 10),
            "notes.md": V1,
            "image.png": V1,
            "ok.js": V1,
        },
    )
    assert _scanned(tmp_path) == {"ok.js"}


def test_files_come_in_a_stable_order(tmp_path: Path) -> None:
    _tree(tmp_path, {name: V1 for name in ("b/z.js", "a.js", "b/a.js", "c.py")})
    first = list(iter_files([tmp_path]))
    assert first == list(iter_files([tmp_path])) and len(first) == 4


def test_a_language_ast_grep_lacks_falls_back_to_text(tmp_path: Path) -> None:
    """ast-grep-py panics (pyo3 PanicException, a BaseException) on an unknown language."""
    assert not _source.has_grammar("groovy") and _source.has_grammar("dart")
    _tree(tmp_path, {"job.groovy": '// https://api.dyte.io/v1 in a comment\ndef u = "https://api.dyte.io/v1"\n'})
    (finding,) = scan_paths([tmp_path], base=tmp_path).findings
    assert (finding.path, finding.line, finding.rule) == ("job.groovy", 2, "dyte-v1-base-url")


def test_a_panic_while_parsing_falls_back_to_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(_source.LANGUAGES, ".js", "fortran")  # not a grammar ast-grep has: it panics
    _source.has_grammar.cache_clear()
    try:
        _tree(tmp_path, {"a.js": V1})
        assert type(_source.open_source(V1, "fortran")) is _source.Source
        assert _scanned(tmp_path) == {"a.js"}
    finally:
        _source.has_grammar.cache_clear()
