"""A hostile v1/v2 host: a loopback proxy in front of a real sandbox that can break answers.

The sandbox's dataset file cannot express a truncated JSON body, an HTML page with
status 200, a list envelope of the wrong type or an id repeated across pages. This
proxy forwards every request to a sandbox and lets a *rule* answer instead, or rewrite
the sandbox's answer on the way back:

    def html_page(req, upstream):             # upstream: the sandbox's answer (or None)
        return Answer(200, b"<html>502</html>", "text/html")

    with HostileProxy(sandbox, [Rule("GET", r"/v1/.*/meetings$", after=html_page)]).running() as proxy:
        proxy.credentials                      # base URLs point at the proxy
        proxy.hits                             # how often each rule fired

`before=` rules answer without forwarding (return None to forward after all);
`after=` rules get the forwarded answer and return a replacement (or None to keep it).
Preset documents (`s3URL`) are not proxied: they point at the sandbox itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import uvicorn


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, status: int, value: Any) -> Answer:
        return cls(status, json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def json(self) -> Any:
        return json.loads(self.body)


Forward = Callable[[Request], Awaitable[Answer]]
Before = Callable[[Request, Forward], Awaitable[Answer | None]]
After = Callable[[Request, Answer], Answer | None]


@dataclass
class Rule:
    method: str
    path: str  # a regular expression, matched with re.search against the path
    after: After | None = None
    before: Before | None = None
    times: int | None = None  # fire at most this many times (None: always)
    name: str = ""

    def matches(self, req: Request) -> bool:
        return req.method == self.method and re.search(self.path, req.path) is not None


class _App:
    def __init__(self, upstream: str, rules: list[Rule]) -> None:
        self.upstream = upstream
        self.rules = rules
        self.hits: dict[str, int] = {}
        self._client: httpx.AsyncClient | None = None
        self._lock = threading.Lock()

    async def forward(self, req: Request) -> Answer:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=30)
        url = self.upstream + req.path + ("?" + urlencode(req.query) if req.query else "")
        headers = {k: v for k, v in req.headers.items() if k in ("authorization", "content-type")}
        for attempt in range(10):  # the sandbox behind may itself inject faults; keep proxying honest
            try:
                response = await self._client.request(req.method, url, content=req.body or None, headers=headers)
                break
            except httpx.TransportError:
                if req.method != "GET" or attempt == 9:
                    raise
                await asyncio.sleep(0.02)
        extra = {k: v for k, v in response.headers.items() if k in ("retry-after", "x-envoy-ratelimited")}
        return Answer(response.status_code, response.content, response.headers.get("content-type", ""), extra)

    def _rule_for(self, req: Request) -> Rule | None:
        with self._lock:
            for index, rule in enumerate(self.rules):
                key = rule.name or f"rule{index}"
                if rule.matches(req) and (rule.times is None or self.hits.get(key, 0) < rule.times):
                    self.hits[key] = self.hits.get(key, 0) + 1
                    return rule
        return None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        req = Request(
            scope["method"],
            scope["path"],
            dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)),
            {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
            b"".join(chunks),
        )
        rule = self._rule_for(req)
        try:
            answer = None
            if rule is not None and rule.before is not None:
                answer = await rule.before(req, self.forward)
            if answer is None:
                answer = await self.forward(req)
                if rule is not None and rule.after is not None:
                    answer = rule.after(req, answer) or answer
        except httpx.TransportError:  # the sandbox dropped a write: drop ours too
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                transport.abort()
            return
        headers = [(b"content-type", answer.content_type.encode()), (b"content-length", str(len(answer.body)).encode())]
        headers += [(k.encode(), v.encode()) for k, v in answer.headers.items()]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})


class HostileProxy:
    """The proxy on a daemon thread; `credentials` is the sandbox's, re-pointed at the proxy."""

    def __init__(self, upstream: Any, rules: list[Rule]) -> None:
        self.sandbox = upstream
        self.app = _App(upstream.base_url, rules)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(128)
        self._sock.setblocking(False)
        self.port = int(self._sock.getsockname()[1])
        config = uvicorn.Config(self.app, lifespan="off", access_log=False, log_config=None, log_level="critical")
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def hits(self) -> dict[str, int]:
        return dict(self.app.hits)

    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        creds = self.sandbox.credentials
        return {side: {**creds[side], "base_url": f"{self.base_url}/{side}"} for side in ("v1", "v2")}

    def start(self) -> HostileProxy:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, name=f"hostile:{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the hostile proxy did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._sock.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[HostileProxy]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


# --------------------------------------------------------------------------- rewriters
def v1_list_key(path: str) -> str | None:
    """The `data.<key>` of a v1 listing path, or None."""
    for suffix, key in (
        ("/meetings", "meetings"),
        ("/participants", "participants"),
        ("/presets", "presets"),
        ("/preset-roles", "roles"),
        ("/webhooks", "webhooks"),
        ("/recordings", "recordings"),
    ):
        if path.endswith(suffix):
            return key
    return None


def rewrite_items(change: Callable[[list[Any]], Any]) -> After:
    """An `after` rule replacing a v1 listing's `data.<key>` with `change(items)`."""

    def after(req: Request, answer: Answer) -> Answer | None:
        if answer.status != 200:
            return None
        body = answer.json()
        key = v1_list_key(req.path)
        body["data"][key] = change(body["data"][key])
        return Answer.of_json(200, body)

    return after


def replace_body(status: int, body: bytes, content_type: str = "application/json") -> After:
    def after(req: Request, answer: Answer) -> Answer:
        return Answer(status, body, content_type)

    return after


def truncate_body(req: Request, answer: Answer) -> Answer:
    return Answer(answer.status, answer.body[: max(1, len(answer.body) // 2)], answer.content_type)


def shifted_pages(shift: int = 1) -> Before:
    """Each page after the first starts `shift` items early, as when an object is inserted
    at the head between two page reads: the last ids of a page come again on the next."""

    async def before(req: Request, forward: Forward) -> Answer | None:
        offset = int(req.query.get("offset", "0") or 0)
        if offset == 0:
            return None
        return await forward(
            Request(req.method, req.path, {**req.query, "offset": str(max(0, offset - shift))}, req.headers, req.body)
        )

    return before
