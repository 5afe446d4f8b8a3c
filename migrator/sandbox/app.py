"""The ASGI application: one pipeline every request goes through.

rate limit -> fault -> latency -> auth -> body parse and spec validation -> handler
(under the store lock) -> answer, counting each step in the stats. A plain ASGI
callable rather than a framework app, to keep a simple GET to a few dozen
microseconds of Python (the throughput goal is >= 3000 GETs/s on two cores).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from migrator.sandbox import routes_rtk, routes_v1, routes_v2
from migrator.sandbox.faults import FaultInjector, FaultPlan, drop_connection
from migrator.sandbox.options import ServeOptions
from migrator.sandbox.ratelimit import RateLimiter
from migrator.sandbox.routing import WRITE_METHODS, BodySchema, Match, Route, Router
from migrator.sandbox.specs import first_problem
from migrator.sandbox.stats import DROPPED, Stats
from migrator.sandbox.store import Store
from migrator.sandbox.wire import ApiError, Area, Call, Reply, encode_json, error_body

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 1 << 20
UNMATCHED = "<unmatched>"
API_AREAS = ("v1", "v2", "rtk")
JSON_HEADERS = ((b"content-type", b"application/json"),)
# RealtimeKit's documented limit is 250 requests per 10 seconds per account; the sandbox
# scales it by --rate-limit as it does Dyte's (the default 2000/minute gives exactly 250/10 s).
DYTE_DEFAULT_PER_MINUTE = 2000.0
RTK_REQUESTS, RTK_WINDOW_SECONDS = 250, 10.0
THROTTLE_HEADERS = ((b"x-envoy-ratelimited", b"true"),)
log = logging.getLogger("migrator.sandbox")


def rtk_per_minute(dyte_per_minute: float) -> float:
    """RealtimeKit's limit, scaled like Dyte's: 250 per 10 s at Dyte's default, 0 (off) when Dyte's is off."""
    return RTK_REQUESTS * (60.0 / RTK_WINDOW_SECONDS) * dyte_per_minute / DYTE_DEFAULT_PER_MINUTE


def _client_address(scope: Scope) -> str:
    """The address a request came from: what Dyte's limit (and the per-client stats) key on."""
    return str((scope.get("client") or ("?",))[0])


class ClientGone(Exception):
    """The client disconnected while its request body was being read."""


def area_of(path: str) -> Area | None:
    for prefix, area in (("/v1/", "v1"), ("/v2/", "v2"), ("/client/v4/", "rtk"), ("/s3/", "s3"), ("/_sandbox/", "sandbox")):
        if path.startswith(prefix):
            return area  # type: ignore[return-value]
    return None


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return ""


def _query(scope: Scope) -> dict[str, str]:
    """Query parameters; every parameter of these APIs is a scalar, so a repeated one is a 400."""
    raw = scope.get("query_string", b"")
    query: dict[str, str] = {}
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if name in query:
            raise ApiError(400, f"Query parameter {name!r} given more than once")
        query[name] = value
    return query


def _base_url(scope: Scope) -> str:
    host, port = scope.get("server") or ("127.0.0.1", 80)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, "Request body too large")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _parse_body(raw: bytes, schema: BodySchema) -> Any:
    if not raw.strip():
        if schema.required:
            raise ApiError(400, "A JSON request body is required")
        body: Any = {}
    else:
        try:
            body = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ApiError(400, f"Malformed JSON body: {exc}") from None
    problem = first_problem(schema.validator, body)
    if problem is not None:
        raise ApiError(400, f"Invalid request body {problem}")
    return body


class SandboxApp:
    def __init__(self, options: ServeOptions) -> None:
        self.store = Store(options.org_builder(), options.random_seed)
        self.stats = Stats()
        self.router = Router(routes_v1.routes() + routes_v2.routes() + routes_rtk.routes())
        self.set_conditions(options)

    def set_conditions(self, options: ServeOptions) -> None:
        """Serve with `options`' rate limit, faults and latency from now on; the data stays.

        So an org can be filled over a clean line (a Dyte v2 source seeded by a migration),
        then served through the faults a test is about.
        """
        self.options = options
        self.limiter = RateLimiter(options.rate_limit)
        self.rtk_limiter = RateLimiter(rtk_per_minute(options.rate_limit), window_seconds=RTK_WINDOW_SECONDS)
        self.faults = FaultInjector(FaultPlan.parse(options.faults), options.random_seed)
        self._latency = max(0.0, options.latency_ms) / 1000.0

    def reset(self) -> None:
        """Initial dataset, zero counters, fresh rate-limit buckets and fault sequence."""
        self.store.reset()
        self.stats.reset()
        self.limiter.reset()
        self.rtk_limiter.reset()
        self.faults = FaultInjector(self.faults.plan, self.options.random_seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        area = area_of(path)
        if area == "sandbox":
            await self._control(scope, path, send)
            return
        try:
            await self._serve(scope, receive, send, path, area)
        except ClientGone:
            return

    async def _serve(self, scope: Scope, receive: Receive, send: Send, path: str, area: Area | None) -> None:
        method, client = scope["method"], _client_address(scope)
        match = self.router.match(method, path)
        route_name = match.route.template if isinstance(match, Match) else UNMATCHED
        if area is None:
            await self._answer(send, Reply(404, error_body("sandbox", 404, f"No route {path}")))
            return
        if area in API_AREAS:
            wait = self._rate_limit(client, path, area)
            if wait:
                self.stats.count_throttled()
                await self._finish(send, client, method, route_name, area, self._throttled(area, wait))
                return
        if not isinstance(match, Match):
            status, message = (405, f"Method {method} not allowed on {path}") if match else (404, f"No route {path}")
            await self._finish(send, client, method, route_name, area, Reply(status, error_body(area, status, message)))
            return
        fault = self.faults.draw(method in WRITE_METHODS) if area in API_AREAS else None
        if fault is not None:
            self.stats.count_fault(fault)
            if fault != "commit-then-drop":
                await self._inject(send, client, method, route_name, area, fault)
                return
        if self._latency:
            await asyncio.sleep(self._latency)
        if area in ("v2", "rtk") and method in WRITE_METHODS:
            self.stats.count_write(area)
        reply = await self._handle(scope, receive, match)
        if fault == "commit-then-drop":
            self.stats.record(method, route_name, DROPPED, area)
            await drop_connection(send)
            return
        await self._finish(send, client, method, route_name, area, reply)

    async def _handle(self, scope: Scope, receive: Receive, match: Match) -> Reply:
        route = match.route
        try:
            self._authenticate(scope, route, match.params)
            body = _parse_body(await _read_body(receive), route.body) if route.body is not None else None
            query = _query(scope)
            if route.query is not None:
                route.query.check(query)
            with self.store.lock:
                org = route.scope(self.store, match.params) if route.scope else None
                call = Call(scope["method"], match.params, query, body, _base_url(scope), org, route.spec)
                return route.handler(self.store, call)
        except ApiError as error:
            return Reply(error.status, error_body(route.area, error.status, error.message))
        except ClientGone:
            raise
        except Exception:  # a sandbox bug must still answer in the API's shape, never kill the server
            log.exception("sandbox handler failed: %s %s", scope["method"], route.template)
            return Reply(500, error_body(route.area, 500, "Internal sandbox error"))

    def _authenticate(self, scope: Scope, route: Route, params: dict[str, str]) -> None:
        orgs = self.store.orgs
        if route.area == "v1":
            key = _header(scope, b"authorization")
            if not (hmac.compare_digest(key.encode(), orgs.v1.api_key.encode()) and params.get("organizationId") == orgs.v1.id):
                raise ApiError(401, "Unauthorized")
        elif route.area == "v2":
            scheme, _, encoded = _header(scope, b"authorization").partition(" ")
            try:
                supplied = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                supplied = ""
            expected = f"{orgs.v2.id}:{orgs.v2.api_key}"
            if scheme.lower() != "basic" or not hmac.compare_digest(supplied.encode(), expected.encode()):
                raise ApiError(401, "Unauthorized")
        elif route.area == "rtk":
            account = orgs.rtk
            scheme, _, token = _header(scope, b"authorization").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), account.api_token.encode()):
                raise ApiError(401, "Unauthorized")
            if params.get("account_id") != account.id:
                raise ApiError(403, "The API token has no access to this account")

    def _rate_limit(self, client: str, path: str, area: Area) -> int:
        """Dyte: one bucket per client IP across v1 and v2; RealtimeKit: one per account."""
        if area == "rtk":
            parts = path.split("/")  # /client/v4/accounts/{account_id}/...
            return self.rtk_limiter.acquire(parts[4] if len(parts) > 4 else "")
        return self.limiter.acquire(client)

    def _throttled(self, area: Area, wait: int) -> Reply:
        return Reply(429, error_body(area, 429, "Too many requests"), ((b"retry-after", str(wait).encode()), *THROTTLE_HEADERS))

    async def _inject(self, send: Send, client: str, method: str, route_name: str, area: Area, fault: str) -> None:
        if fault in ("503", "500"):
            status = int(fault)
            message = "Service unavailable" if status == 503 else "Internal server error"
            await self._finish(send, client, method, route_name, area, Reply(status, error_body(area, status, message)))
        elif fault == "429":
            await self._finish(send, client, method, route_name, area, self._throttled(area, 1))
        else:  # reset, timeout: nothing applied, no answer
            if fault == "timeout":
                await asyncio.sleep(self.options.fault_hang_seconds)
            self.stats.record(method, route_name, DROPPED, area)
            await drop_connection(send)

    async def _finish(self, send: Send, client: str, method: str, route_name: str, area: Area, reply: Reply) -> None:
        self.stats.record(method, route_name, reply.status, area)
        if area in API_AREAS:  # documents are not API calls
            self.stats.record_client(client, reply.status)
        await self._answer(send, reply)

    @staticmethod
    async def _answer(send: Send, reply: Reply) -> None:
        body = encode_json(reply.body)
        headers = [*JSON_HEADERS, (b"content-length", str(len(body)).encode()), *reply.headers]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _control(self, scope: Scope, path: str, send: Send) -> None:
        """`GET /_sandbox/stats` and `POST /_sandbox/reset`: not counted, not limited."""
        method = scope["method"]
        if path == "/_sandbox/stats" and method == "GET":
            reply = Reply(200, self.stats.snapshot())
        elif path == "/_sandbox/reset" and method == "POST":
            await asyncio.to_thread(self.reset)
            reply = Reply(200, {"reset": True})
        else:
            reply = Reply(404, error_body("sandbox", 404, f"No route {method} {path}"))
        await self._answer(send, reply)
