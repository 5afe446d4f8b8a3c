"""The rules, applied to one source. Each yields findings without the file path.

Candidates are found with regular expressions over the whole text (fast, and the same in
every language); the source then says whether a candidate is code (not a comment), which
string expression it belongs to and which HTTP method the call around it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache

from migrator.scan._knowledge import FieldAdvice, Knowledge, Operation
from migrator.scan._source import Source

_ROUTE = re.compile(r"/organizations/[^/?#\s\"'`]+/[^?#\s\"'`]*")
_PLACEHOLDERS = re.compile(r"#\{[^}]*\}|\$\{[^}]*\}|\\\([^)]*\)|\{[^}]*\}|\$\w+|%[sdv]|(?<=/):\w+")
_METHOD = re.compile(
    r"(?<![A-Za-z])(get|post|put|patch|delete|GET|POST|PUT|PATCH|DELETE|Get|Post|Put|Patch|Delete)(?![A-Za-z])"
    r"|(?<=[a-z])(Get|Post|Put|Patch|Delete)(?![a-z])"
)
_AUTH_SET = re.compile(r"(?<![\w-])[Aa]uthorization[\"'`]?\]?\s*(?:=>|:(?!:)|,|=(?!=))|forHTTPHeaderField:\s*\"Authorization\"")
_SCHEME = re.compile(r"(?i)(?<![a-z])(basic|bearer)(?![a-z])")
_SECRET_NAME = r"[\w$.-]*(?:api[_-]?key|apikey|secret|password|passwd|auth[_-]?token|access[_-]?token|authorization)\w*"
_VALUE = r"(?P<quote>[\"'`])(?P<value>(?:(?:basic|bearer)\s+)?[^\"'`\s]{8,})(?P=quote)"
_CREDENTIALS = (
    # name = "value" (also :, => and :=)
    re.compile(rf"(?i)(?<![\w$.-])(?P<name>{_SECRET_NAME})[\"'`]?\]?\s*(?:=>|:=|:|=)\s*{_VALUE}"),
    # a quoted header name and its value as two arguments: .header("Authorization", "value")
    re.compile(rf"(?i)[\"'`](?P<name>{_SECRET_NAME})[\"'`]\s*,\s*{_VALUE}"),
)
_PLACEHOLDER_VALUE = re.compile(
    r"(?i:^(?:(?:basic|bearer)\s+)?(?:your|my|<|x{4,}|\*{3,}|\.{3}|change|replace|example|dummy|fake|test|sample"
    r"|placeholder|todo|redacted))|[{}$<>%]|^[A-Z][A-Z0-9_]+$"
)
CREDENTIAL_LINK = "https://cwe.mitre.org/data/definitions/798.html"


@dataclass(frozen=True)
class Hit:
    """A finding before it knows its file."""

    offset: int
    rule: str
    found: str
    replacement: str
    why: str
    link: str


@cache
def _base_url_pattern(bases: tuple[str, ...]) -> re.Pattern[str]:
    hosts = "|".join(re.escape(base.split("://", 1)[-1]) for base in bases)
    return re.compile(rf"(?:https?://)?(?:{hosts})(?![\w.])")


@cache
def _field_pattern(names: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w$])(?:{'|'.join(map(re.escape, names))})(?![\w$])")


def _method(source: Source, offset: int, methods: set[str]) -> str | None:
    """The first HTTP method of `methods` named in the nearest call (or lines) around `offset`."""
    for text in source.call_context(offset):
        named = [(m.start(), (m.group(1) or m.group(2)).upper()) for m in _METHOD.finditer(text)]
        chosen = [(at, method) for at, method in named if method in methods]
        if chosen:
            return min(chosen)[1]
    return None


def _v2(kb: Knowledge, operation: Operation) -> str:
    if operation.v2 is None:
        return f"no {kb.label} route: " + operation.why
    method, _, path = operation.v2.partition(" ")
    return f"{method} {kb.base_url}{path}"


def _route_hit(kb: Knowledge, source: Source, offset: int, route: str) -> Hit:
    """Name the v1 operation (by path, then by the method the call names) and its replacement."""
    route = route.rstrip("/")
    matches = [op for op in kb.operations if op.pattern.fullmatch(route)]
    if not matches and route.endswith("{}"):
        matches = [op for op in kb.operations if op.pattern.fullmatch(route[:-2].rstrip("/"))]
    if not matches:
        return Hit(
            offset,
            "dyte-v1-route",
            f"v1 route {route}",
            f"{kb.base_url}/... (no operation in mappings/endpoints.yaml matches this route)",
            "Every v1 route starts with /organizations/{orgId}/; v2 routes drop that prefix.",
            "mappings/endpoints.yaml",
        )
    method = _method(source, offset, {op.method for op in matches})
    chosen = [op for op in matches if op.method == method] or matches
    if len(chosen) == 1:
        op = chosen[0]
        return Hit(offset, "dyte-v1-route", f"{op.method} {op.v1_path}", _v2(kb, op), op.why, op.link)
    return Hit(
        offset,
        "dyte-v1-route",
        f"{chosen[0].v1_path} (the call does not say which method)",
        "; ".join(f"{op.method} -> {_v2(kb, op)}" for op in chosen),
        "This v1 route serves several operations; pick the one the call makes.",
        chosen[0].link,
    )


def routes(kb: Knowledge, source: Source) -> Iterator[Hit]:
    """v1 base URLs and routes, one finding per string expression (the route wins over the host)."""
    base = _base_url_pattern(kb.v1_base_urls)
    triggers = sorted([*base.finditer(source.text), *re.finditer("/organizations/", source.text)], key=lambda m: m.start())
    seen: set[tuple[int, int]] = set()
    for trigger in triggers:
        if source.in_comment(trigger.start()):
            continue
        span, text = source.expression(trigger.start())
        if span in seen:
            continue
        seen.add(span)
        text = _PLACEHOLDERS.sub("{}", text)
        route = _ROUTE.search(text)
        if route:
            yield _route_hit(kb, source, trigger.start(), route.group())
        elif (host := base.search(text)) is not None:
            yield Hit(
                trigger.start(),
                "dyte-v1-base-url",
                host.group(),
                kb.base_url,
                "The v1 API is being retired; v2 routes have no /organizations/{orgId} prefix.",
                kb.docs,
            )


def v2_hosts(kb: Knowledge, source: Source) -> Iterator[Hit]:
    """Dyte v2 base URLs, for a target that replaces them (RealtimeKit): the routes after them stay."""
    if not kb.v2_base_urls:
        return
    for match in _base_url_pattern(kb.v2_base_urls).finditer(source.text):
        if not source.in_comment(match.start()):
            why = f"{kb.label} serves the same v2 routes under its own base URL; only the host part changes."
            yield Hit(match.start(), "dyte-v2-base-url", match.group(), kb.base_url, why, kb.docs)


def auth(kb: Knowledge, source: Source) -> Iterator[Hit]:
    """A header set to the raw API key (no Basic or Bearer scheme), or to the v2 scheme the target replaces."""
    for match in _AUTH_SET.finditer(source.text):
        if source.in_comment(match.start()):
            continue
        scheme = _SCHEME.search(source.line(match.start()))
        if scheme is None:
            yield Hit(match.start(), "dyte-v1-auth", "Authorization: <raw API key>", kb.auth, kb.auth_reason, kb.docs)
        elif kb.v2_auth_scheme is not None and scheme.group().lower() == kb.v2_auth_scheme.lower():
            found = f"Authorization: {kb.v2_auth_scheme} <orgId:apiKey>"
            yield Hit(match.start(), "dyte-v2-auth", found, kb.auth, kb.auth_reason, kb.docs)


def _names(advice: dict[str, FieldAdvice], rule: str, source: Source) -> Iterator[Hit]:
    """Whole-word, case-sensitive names outside comments, each with its advice."""
    if not advice:
        return
    for match in _field_pattern(tuple(advice)).finditer(source.text):
        if not source.in_comment(match.start()):
            found = advice[match.group()]
            yield Hit(match.start(), rule, match.group(), found.replacement, found.why, found.link)


def fields(kb: Knowledge, source: Source) -> Iterator[Hit]:
    """v1 field names; the advice comes from the mapping rules."""
    yield from _names(kb.fields, "dyte-v1-field", source)


def target_names(kb: Knowledge, source: Source) -> Iterator[Hit]:
    """Names the target changes (RealtimeKit: webhook headers, meeting body fields), in v1 and v2 code alike."""
    yield from _names(kb.names, "dyte-target-name", source)


def credentials(kb: Knowledge, source: Source) -> Iterator[Hit]:
    """A literal key-like value given to a key-like name. Only the name is reported, never the value."""
    for match in (m for pattern in _CREDENTIALS for m in pattern.finditer(source.text)):
        value = match.group("value")
        if _PLACEHOLDER_VALUE.search(value) or source.in_comment(match.start("value")):
            continue
        yield Hit(
            match.start("value"),
            "dyte-hardcoded-credential",
            f"a {len(value)}-character literal given to {match.group('name')}",
            "read it from the environment or a secret store (e.g. DYTE_API_KEY), and rotate the key",
            "A key in the source reaches every clone, build and log of it.",
            CREDENTIAL_LINK,
        )


DETECTORS: tuple[Callable[[Knowledge, Source], Iterator[Hit]], ...] = (routes, v2_hosts, auth, fields, target_names, credentials)
