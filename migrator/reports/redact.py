"""Secret removal for everything a report shows, applied value by value.

Scrubbing each string before it is serialised (instead of the finished JSON or HTML
text) keeps the output well-formed: masking `token=...` inside an already escaped JSON
string could cut the string open. Values under credential-like keys are masked whole,
so an `accessToken` that a v1 object carries never reaches a report.
"""

from __future__ import annotations

import json
import re
from typing import Any

from migrator.errors import scrub
from migrator.reports.model import RowStream

MASK = "***"
# Keys whose value is a credential: ...token (not design_tokens), api keys, auth headers.
_SECRET_KEY = re.compile(r"(?i)(token|api[_-]?key|authorization|secret|password)$")
# Every word that `scrub`'s pattern or `_SECRET_KEY` looks for, lower-cased: a row without
# any of them (and without a registered secret) has nothing to redact.
_CREDENTIAL_WORDS = ("token", "apikey", "api_key", "api-key", "authorization", "secret", "password")


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


class Redactor:
    """Redacts values for one report; remembers scrubbed strings, as keys and reasons repeat row after row."""

    MEMO_ENTRIES = 20_000
    MEMO_CHARS = 2_000  # longer strings are scrubbed every time rather than kept

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def text(self, text: str) -> str:
        done = self._memo.get(text)
        if done is None:
            done = scrub(text)
            if len(text) <= self.MEMO_CHARS:
                if len(self._memo) >= self.MEMO_ENTRIES:
                    self._memo.clear()
                self._memo[text] = done
        return done

    def value(self, value: Any) -> Any:
        """A copy of a JSON-able value with every string scrubbed and credential-like keys masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {
                self.text(str(k)): (MASK if v is not None and is_secret_key(str(k)) else self.value(v)) for k, v in value.items()
            }
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def row(self, row: dict[str, Any]) -> dict[str, Any]:
        """`value(row)`, with a fast path for the common row that holds nothing to redact.

        One look at the row's JSON text is far cheaper than scrubbing each of its strings
        (100,000 participant rows). Registered secrets are API keys and auth headers, which
        JSON writes verbatim, so a secret in any string shows in the text.
        """
        text = json.dumps(row, ensure_ascii=False, default=str)
        lowered = text.lower()
        if not any(word in lowered for word in _CREDENTIAL_WORDS) and scrub(text) == text:
            return row
        masked: dict[str, Any] = self.value(row)
        return masked


def redacted(value: Any) -> Any:
    return Redactor().value(value)


def redacted_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A report document whose every value, streamed rows included, has been redacted."""
    redactor = Redactor()
    return {key: value.map(redactor.row) if isinstance(value, RowStream) else redactor.value(value) for key, value in doc.items()}
