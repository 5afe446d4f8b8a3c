"""One file's text, parsed by ast-grep where it knows the language, else read as plain lines.

The detectors ask the same three questions of either kind of source: is this offset in a
comment, which string expression (a literal, or literals joined with `+`) holds it, and
which calls around it might name the HTTP method.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator
from functools import cache

from ast_grep_py import SgNode, SgRoot

# File extension -> ast-grep language. Languages ast-grep-py lacks (it panics on them) are
# listed too: they are probed once and scanned as plain text, and parsed once it has them.
LANGUAGES: dict[str, str] = {
    **dict.fromkeys((".js", ".mjs", ".cjs", ".jsx"), "javascript"),
    **dict.fromkeys((".ts", ".mts", ".cts"), "typescript"),
    ".tsx": "tsx",
    ".py": "python",
    **dict.fromkeys((".rb", ".rake"), "ruby"),
    ".dart": "dart",
    ".java": "java",
    **dict.fromkeys((".kt", ".kts"), "kotlin"),
    ".swift": "swift",
    ".go": "go",
    ".rs": "rust",
    ".cs": "csharp",
    ".c": "c",
    **dict.fromkeys((".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp"), "cpp"),
    **dict.fromkeys((".ex", ".exs"), "elixir"),
    ".php": "php",
    ".scala": "scala",
    **dict.fromkeys((".sh", ".bash"), "bash"),
    ".json": "json",
    **dict.fromkeys((".yaml", ".yml"), "yaml"),
    # single-file components: the script inside is raw text to the html grammar, read by line
    **dict.fromkeys((".vue", ".svelte"), "html"),
    # no grammar in ast-grep-py 0.51: probed once, then read as text
    **dict.fromkeys((".groovy", ".gradle"), "groovy"),
    **dict.fromkeys((".m", ".mm"), "objc"),
    ".pl": "perl",
    ".erl": "erlang",
    # configuration files
    **dict.fromkeys((".env", ".properties", ".toml", ".ini", ".cfg", ".conf", ".xml"), "text"),
}
_CONCATENATION = re.compile(r"binary|additive|concat|infix")
_CALL = re.compile(r"call|invocation")
_QUOTES = re.compile(r"""^[A-Za-z@$]*(\"\"\"|'''|["'`])|(\"\"\"|'''|["'`])$""")
_PLAIN_COMMENT = re.compile(r"^\s*(//|#|/\*|\*|--|;|<!--)")
_PLAIN_JOIN = re.compile(r"""["'`]\s*(?:\+|<>|\.\.?)\s*[\w.\[\]()]+\s*(?:\+|<>|\.\.?)\s*["'`]""")
_CONTEXT_CHARS = 800
_CONTEXT_CALLS = 4


def language_of(name: str) -> str | None:
    """The language a file name implies, `text` for plain scanning, None to skip the file."""
    if name.startswith(".env"):
        return "text"
    return LANGUAGES.get(os.path.splitext(name)[1].lower())


def _parse(text: str, language: str) -> SgNode | None:
    """ast-grep's tree, or None where it panics: pyo3's PanicException derives from BaseException,
    so only the interpreter's own exits are let through."""
    try:
        return SgRoot(text, language).root()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # noqa: BLE001 - the panic has no importable class to name
        return None


@cache
def has_grammar(language: str) -> bool:
    """Whether ast-grep knows `language`. On one it lacks, its panic hook writes a Rust backtrace
    to fd 2, so the probe runs once per language with fd 2 pointed at /dev/null."""
    if language == "text":
        return False
    saved, sink = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(sink, 2)
    try:
        return _parse("", language) is not None
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(sink)


class Source:
    """Plain-text reading: comments by line prefix, string expressions by line."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and column of an offset."""
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def _line_span(self, offset: int, extra_lines: int = 0) -> tuple[int, int]:
        index = bisect.bisect_right(self._starts, offset) - 1
        end_index = index + 1 + extra_lines
        end = self._starts[end_index] - 1 if end_index < len(self._starts) else len(self.text)
        return self._starts[index], end

    def line(self, offset: int) -> str:
        start, end = self._line_span(offset)
        return self.text[start:end]

    def in_comment(self, offset: int) -> bool:
        return bool(_PLAIN_COMMENT.match(self.line(offset)))

    def expression(self, offset: int) -> tuple[tuple[int, int], str]:
        """The span and text of the string expression at `offset`, literals joined, operands as `{}`."""
        span = self._line_span(offset)
        return span, _PLAIN_JOIN.sub("{}", self.text[span[0] : span[1]])

    def call_context(self, offset: int) -> list[str]:
        """Texts that may name the HTTP method, nearest first."""
        start, end = self._line_span(offset, extra_lines=2)
        return [self.text[start:end]]


class ParsedSource(Source):
    """ast-grep's syntax tree answers the same questions by node kind, for any grammar it has."""

    def __init__(self, text: str, root: SgNode) -> None:
        super().__init__(text)
        self._root = root

    def _node_at(self, offset: int) -> SgNode:
        node = self._root
        while True:
            for child in node.children():
                span = child.range()
                if span.start.index <= offset < span.end.index:
                    node = child
                    break
            else:
                return node

    def in_comment(self, offset: int) -> bool:
        node = self._node_at(offset)
        return any("comment" in n.kind() for n in (node, *node.ancestors()))

    def expression(self, offset: int) -> tuple[tuple[int, int], str]:
        node = self._node_at(offset)
        chain = [node, *node.ancestors()]
        first = next((i for i, n in enumerate(chain) if "string" in n.kind()), None)
        if first is None:
            return super().expression(offset)
        top = first
        while top + 1 < len(chain) and "string" in chain[top + 1].kind():
            top += 1
        while top + 1 < len(chain) and _CONCATENATION.search(chain[top + 1].kind()):
            top += 1
        expr = chain[top]
        span = expr.range().start.index, expr.range().end.index
        pieces: list[str] = []
        cursor = span[0]
        for literal in _literals(expr):
            start, end = literal.range().start.index, literal.range().end.index
            pieces += ["{}" if re.search(r"\w", self.text[cursor:start]) else "", _QUOTES.sub("", literal.text())]
            cursor = end
        pieces.append("{}" if re.search(r"\w", self.text[cursor : span[1]]) else "")
        return span, "".join(pieces)

    def call_context(self, offset: int) -> list[str]:
        node = self._node_at(offset)
        calls = [n.text() for n in node.ancestors() if _CALL.search(n.kind()) and len(n.text()) <= _CONTEXT_CHARS]
        return calls[:_CONTEXT_CALLS] + super().call_context(offset)


def _literals(node: SgNode) -> Iterator[SgNode]:
    """The outermost string literals under `node`, in source order."""
    if "string" in node.kind():
        yield node
        return
    for child in node.children():
        yield from _literals(child)


def open_source(text: str, language: str) -> Source:
    """A parsed source where ast-grep has the grammar (and does not panic on the text), else a plain one."""
    root = _parse(text, language) if has_grammar(language) else None
    return Source(text) if root is None else ParsedSource(text, root)
