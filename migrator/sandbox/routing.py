"""Route table and matcher: templates such as `/v2/meetings/{meeting_id}` to handlers.

Hand-rolled rather than Starlette's router because every request passes one pipeline
(rate limit, faults, auth, stats by route template) and the matcher has to be cheap:
routes are bucketed by segment count and matched against the raw (still
percent-encoded) path, so a preset name containing `/` still finds its document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import jsonschema

from migrator.sandbox.query import QueryRules
from migrator.sandbox.wire import Area, Call, Reply

if TYPE_CHECKING:
    from migrator.sandbox.store import Store

Handler = Callable[["Store", Call], Reply]
Scope = Callable[["Store", Mapping[str, str]], Any]  # the org a route works on, from its path parameters
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class BodySchema:
    """How a route's JSON body is checked: the spec's validator and whether a body is required."""

    validator: jsonschema.Draft4Validator
    required: bool


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    area: Area
    body: BodySchema | None = None
    query: QueryRules | None = None  # None: any query accepted, unknown parameters ignored
    scope: Scope | None = None
    spec: str = ""
    pattern: re.Pattern[str] = field(init=False, compare=False)

    def __post_init__(self) -> None:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))

    @property
    def segments(self) -> int:
        return self.template.count("/")


@dataclass(frozen=True)
class Match:
    route: Route
    params: dict[str, str]


class Router:
    def __init__(self, routes: list[Route]) -> None:
        self._buckets: dict[int, list[Route]] = {}
        for route in routes:
            self._buckets.setdefault(route.segments, []).append(route)

    def match(self, method: str, raw_path: str) -> Match | list[str]:
        """The matching route, or the methods the path allows (empty: unknown path)."""
        allowed: list[str] = []
        for route in self._buckets.get(raw_path.count("/"), ()):
            found = route.pattern.match(raw_path)
            if found is None:
                continue
            if route.method == method:
                return Match(route, {key: unquote(value) for key, value in found.groupdict().items()})
            allowed.append(route.method)
        return allowed
