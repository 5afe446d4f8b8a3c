"""The one HTTP client for the source (Dyte v1 or Dyte v2), the target (Dyte v2 or RealtimeKit)
and the public preset documents.

Everything that touches the network goes through here so that auth, pacing against each
API's rate limit, retries, secret hygiene and request counting are decided once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from migrator.errors import (
    ApiError,
    AuthError,
    MalformedResponse,
    MigratorError,
    TransportError,
    WriteOutcomeUnknown,
    register_secret,
    scrub,
)
from migrator.pacing import TokenBucket, backoff_delay, parse_retry_after
from migrator.settings import ApiCredentials, Credentials

log = logging.getLogger("migrator.client")

JsonObject = dict[str, Any]
Params = Mapping[str, str | int | float | bool]

MAX_MESSAGE = 500  # characters of an API error message kept (after scrubbing)
# The source address to send from (e.g. 127.0.0.2): servers that limit per client address
# give each address its own budget, as separate CI runners have.
LOCAL_ADDRESS_ENV = "DYTE_MIGRATE_LOCAL_ADDRESS"
MAX_PAGE_SIZE = 100  # both APIs clamp larger pages to 100; a clamped page must not look short
SECRET_KEYS = frozenset({"token", "authToken"})
# httpx errors raised before any byte of the request could reach the server.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})


@dataclass(slots=True)
class RequestCounters:
    """Requests sent (every attempt), retries and 429s, for the `--json` outcome; `v1` counts the source
    (Dyte v1, or Dyte v2 as a source), `v2` the target."""

    v1: int = 0
    v2: int = 0
    documents: int = 0
    retries: int = 0
    throttled: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class _Target:
    """Where and how one API is called; headers are built once, never shown."""

    name: str
    url_prefix: str
    headers: Mapping[str, str] = field(repr=False)
    bucket: TokenBucket | None  # None: not paced


def _auth_headers(creds: ApiCredentials) -> dict[str, str]:
    scheme = creds.profile.auth
    if scheme == "raw-key":
        value = creds.api_key
    elif scheme == "basic":
        value = "Basic " + base64.b64encode(f"{creds.org_id}:{creds.api_key}".encode()).decode("ascii")
    elif scheme == "bearer":
        value = f"Bearer {creds.api_key}"
    else:  # pragma: no cover - Profile.auth is a closed Literal
        raise ValueError(f"unknown auth scheme {scheme!r}")
    register_secret(value)  # the encoded Basic form is as secret as the key itself
    return {"Authorization": value}


def _target(name: str, creds: ApiCredentials, bucket: TokenBucket, prefix: str | None = None) -> _Target:
    if prefix is None:
        prefix = creds.base_url + (f"/organizations/{creds.org_id}" if creds.profile.org_in_path else "")
    return _Target(name, prefix, _auth_headers(creds), bucket)


_DOCUMENTS = _Target("document", "", {}, None)


def strip_secrets(value: Any) -> Any:
    """Remove participant tokens (recursively, in place) so they never leave the client."""
    if isinstance(value, dict):
        for key in SECRET_KEYS.intersection(value):
            del value[key]
        for item in value.values():
            strip_secrets(item)
    elif isinstance(value, list):
        for item in value:
            strip_secrets(item)
    return value


def _may_hold_secret(raw: bytes) -> bool:
    # Cheap pre-check: both key names end in "oken"; \u escapes could spell them otherwise.
    return b"oken" in raw or b"\\u" in raw


def _utf8_safe(value: Any) -> bool:
    """False when a string holds a lone surrogate (JSON `\\ud800`): it could not be stored or hashed as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (UnicodeEncodeError, RecursionError):
        return False
    return True


def _api_message(response: httpx.Response) -> str:
    """The API's own error message (v1 `message`, v2 `error.message`), else the status phrase,
    scrubbed and then cut to MAX_MESSAGE characters.

    Scrubbed here, not only in `str(error)`: a server may echo the key, and the message
    also lives in the error's `args`, `repr` and `api_message`. Scrubbed before the cut:
    a key cut in two is no longer recognisable, and its first half would survive.
    """
    try:
        body = json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        body = None
    message = None
    if isinstance(body, dict):
        error = body.get("error")
        for candidate in (error.get("message") if isinstance(error, dict) else error, body.get("message")):
            if isinstance(candidate, str) and candidate.strip():
                message = candidate.strip()
                break
    if message is None:
        message = response.reason_phrase or f"HTTP {response.status_code}"  # a body that is not JSON is not shown
    message = scrub(message)
    return message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "…"


class _Retryable(Exception):
    """One failed attempt that another attempt may fix."""

    def __init__(self, error: MigratorError, *, maybe_applied: bool, retry_after: float | None = None) -> None:
        super().__init__()
        self.error = error
        self.maybe_applied = maybe_applied
        self.retry_after = retry_after


class _Throttled(_Retryable):
    """A 429: the server did not apply the request; wait as told, then try again."""


@dataclass(frozen=True, slots=True)
class Paging:
    """How one API walks a listing: v1 by offset/limit with the items at `data.<key>`,
    v2 (and RealtimeKit) by page_no/per_page with the items at `data` and a `paging` block."""

    by_offset: bool

    def params(self, pages_read: int, items_read: int, size: int) -> dict[str, int]:
        if self.by_offset:
            return {"offset": items_read, "limit": size}
        return {"page_no": pages_read + 1, "per_page": size}

    def items(self, body: JsonObject, key: str | None) -> Any:
        data = body.get("data")
        if self.by_offset:
            return data.get(key) if isinstance(data, dict) and key else None
        return data

    def done(self, body: JsonObject, received: int, size: int) -> bool:
        """A short page is the last; v2 also ends at its total (an answer without `paging` is the only page)."""
        if self.by_offset or received < size:
            return received < size
        paging = body.get("paging")
        return not isinstance(paging, dict) or _v2_walk_done(paging, received, size)


PAGINGS = {"offset": Paging(by_offset=True), "page": Paging(by_offset=False)}


class ApiSide:
    """One side of a migration (the source or the target) as its profile speaks it: calls and listings."""

    def __init__(self, client: DyteClient, target: _Target, paging: Paging) -> None:
        self._client, self._target, self.paging = client, target, paging

    @property
    def name(self) -> str:
        """The profile's display name ("Dyte v2", "RealtimeKit"), for messages about this side."""
        return self._target.name

    async def __call__(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> JsonObject:
        return await self._client._request(self._target, method, path, params, json)

    async def pages(
        self, path: str, *, key: str | None = None, params: Params | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[list[Any]]:
        """Walk a listing, yielding each non-empty page; `key` names v1's list (`data.<key>`)."""
        size = _page_limit(page_size)
        pages_read = items_read = 0
        while True:
            body = await self("GET", path, params={**(params or {}), **self.paging.params(pages_read, items_read, size)})
            items = self.paging.items(body, key)
            if not isinstance(items, list):
                where = f"data.{key}" if self.paging.by_offset else "data"
                raise MalformedResponse(f"{self._target.name} GET {path}: answer has no list at {where}")
            if items:
                yield items
            if self.paging.done(body, len(items), size):
                return
            pages_read += 1
            items_read += len(items)

    async def first(self, path: str, *, key: str | None = None) -> list[Any]:
        """The first item of a listing (or none): the cheapest authenticated read, for preflight."""
        body = await self("GET", path, params=self.paging.params(0, 0, 1))
        items = self.paging.items(body, key)
        return items if isinstance(items, list) else []


class DyteClient:
    """Async client for both Dyte APIs: `async with DyteClient(creds) as client: ...`.

    `rate_per_minute` is Dyte's limit, shared by v1 and v2 (0 = no pacing); a target of
    another rate domain (RealtimeKit) is paced by its own bucket, at `target_rate_per_minute`
    (None: the profile's documented limit). The client paces slightly under each. At most `concurrency` requests are in flight.
    Errors are `migrator.errors` types; a POST whose outcome is unknown raises
    `WriteOutcomeUnknown` at once so that the caller reconciles instead of duplicating.
    429s do not use up `max_attempts` (they have `max_throttled_retries`); `backoff_*`
    and `retry_after_cap` exist so tests (and impatient callers) can shrink the waits.
    """

    def __init__(
        self,
        creds: Credentials,
        *,
        rate_per_minute: float = 2000,
        target_rate_per_minute: float | None = None,
        concurrency: int = 8,
        timeout: float = 30.0,
        max_attempts: int = 6,
        transport: httpx.AsyncBaseTransport | None = None,
        max_throttled_retries: int = 20,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        retry_after_cap: float = 60.0,
    ) -> None:
        if concurrency < 1 or max_attempts < 1 or rate_per_minute < 0:
            raise ValueError("concurrency and max_attempts must be >= 1, rate_per_minute >= 0")
        source_bucket = TokenBucket.for_server_limit(rate_per_minute)
        target_profile = creds.v2.profile
        if target_profile.rate_domain == creds.v1.profile.rate_domain:
            target_bucket = source_bucket  # Dyte counts v1 and v2 against one bucket
        else:
            target_rate = target_profile.rate_per_minute if target_rate_per_minute is None else target_rate_per_minute
            target_bucket = TokenBucket.for_server_limit(target_rate)
        # Named for errors by their profiles: "Dyte v1 GET /meetings -> 500", "RealtimeKit POST ...".
        self._v1 = _target(creds.v1.profile.title, creds.v1, source_bucket)
        self._v2 = _target(creds.v2.profile.title, creds.v2, target_bucket)
        self.source = ApiSide(self, self._v1, PAGINGS[creds.v1.profile.paging])
        self.target = ApiSide(self, self._v2, PAGINGS[creds.v2.profile.paging])
        # The target's account level (RealtimeKit: `.../realtime/kit`, where apps are), beside the app-scoped base.
        self.account = (
            ApiSide(
                self,
                _target(creds.v2.profile.title, creds.v2, target_bucket, creds.v2.account_url),
                PAGINGS[creds.v2.profile.paging],
            )
            if creds.v2.account_url
            else None
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._max_attempts = max_attempts
        self._max_throttled_retries = max_throttled_retries
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._retry_after_cap = retry_after_cap
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        local_address = os.environ.get(LOCAL_ADDRESS_ENV)
        if transport is None and local_address:  # a runner with several addresses: each shard its own rate budget
            transport = httpx.AsyncHTTPTransport(local_address=local_address, limits=limits)
        self._http = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(timeout), limits=limits)
        self.counters = RequestCounters()

    async def __aenter__(self) -> DyteClient:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def v1(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> JsonObject:
        """Call the source (Dyte v1: `path` is below /organizations/{orgId}; or Dyte v2). Returns the parsed body."""
        return await self._request(self._v1, method, path, params, json)

    async def v2(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> JsonObject:
        """Call the target (Dyte v2 or RealtimeKit); `path` is below its base URL. Returns the parsed body."""
        return await self._request(self._v2, method, path, params, json)

    async def document(self, url: str) -> JsonObject:
        """GET a public JSON document (a preset/role `s3URL`): no credentials, not paced."""
        return await self._request(_DOCUMENTS, "GET", url, None, None)

    async def v1_pages(
        self, path: str, key: str, *, params: Params | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[list[Any]]:
        """Walk a source listing (paged as the source profile says), yielding each non-empty page."""
        async for page in self.source.pages(path, key=key, params=params, page_size=page_size):
            yield page

    async def v2_pages(
        self, path: str, *, params: Params | None = None, page_size: int = MAX_PAGE_SIZE
    ) -> AsyncIterator[list[Any]]:
        """Walk a target listing (page_no/per_page), yielding each non-empty `data`."""
        async for page in self.target.pages(path, params=params, page_size=page_size):
            yield page

    async def _request(self, target: _Target, method: str, path: str, params: Params | None, body: Any) -> JsonObject:
        """Send with retries: 429 after `retry-after`; transient failures with backoff unless a write may have landed."""
        method = method.upper()
        failures = throttles = 0
        while True:
            try:
                return await self._attempt(target, method, path, params, body)
            except _Throttled as throttled:
                throttles += 1
                if throttles > self._max_throttled_retries:
                    raise throttled.error from None
                delay = throttled.retry_after
                if delay is None:
                    delay = backoff_delay(throttles, self._backoff_base, self._backoff_cap)
                if target.bucket is not None:
                    target.bucket.pause(delay)  # the next attempt's acquire() waits it out
                else:
                    await asyncio.sleep(delay)
            except _Retryable as failed:
                failures += 1
                if failed.maybe_applied and method not in IDEMPOTENT_METHODS:
                    raise WriteOutcomeUnknown(f"{failed.error} (it may have been applied: reconcile before retrying)") from None
                if failures >= self._max_attempts:
                    raise failed.error from None
                await asyncio.sleep(backoff_delay(failures, self._backoff_base, self._backoff_cap))
            self.counters.retries += 1

    async def _attempt(self, target: _Target, method: str, path: str, params: Params | None, body: Any) -> JsonObject:
        if target.bucket is not None:
            await target.bucket.wait_unpaused()  # don't hold a concurrency slot through a 429 pause
        async with self._slots:
            if target.bucket is not None:
                await target.bucket.acquire()
            self._count(target)
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    method, target.url_prefix + path, params=params, json=body, headers=target.headers
                )
            except httpx.TransportError as exc:
                self._log(target, method, path, type(exc).__name__, started)
                error = TransportError(scrub(f"{target.name} {method} {_shown(path)}: {type(exc).__name__}: {exc}"))
                raise _Retryable(error, maybe_applied=not isinstance(exc, NOT_SENT_ERRORS)) from None
        self._log(target, method, path, response.status_code, started)
        return self._parse(target, method, path, response)

    def _parse(self, target: _Target, method: str, path: str, response: httpx.Response) -> JsonObject:
        status = response.status_code
        if 200 <= status < 300:
            raw = response.content
            try:
                parsed = json.loads(raw)
            except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
                parsed = None
            if not isinstance(parsed, dict):
                error = MalformedResponse(f"{target.name} {method} {_shown(path)} -> {status}: the body is not a JSON object")
                raise _Retryable(error, maybe_applied=True)
            if b"\\u" in raw and not _utf8_safe(parsed):
                error = MalformedResponse(
                    f"{target.name} {method} {_shown(path)} -> {status}: "
                    "the body holds an invalid \\u escape (a lone UTF-16 surrogate)"
                )
                raise _Retryable(error, maybe_applied=True)
            return strip_secrets(parsed) if _may_hold_secret(raw) else parsed
        shown = _shown(path)  # only for errors: a success needs no display path
        error_type = AuthError if status in (401, 403) else ApiError
        api_error = error_type(target.name, method, shown, status, _api_message(response))
        if status == 429:
            self.counters.throttled += 1
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._retry_after_cap)
            raise _Throttled(api_error, maybe_applied=False, retry_after=retry_after)
        if status >= 500:
            raise _Retryable(api_error, maybe_applied=True)
        raise api_error

    def _count(self, target: _Target) -> None:
        if target is self._v1:
            self.counters.v1 += 1
        elif target is _DOCUMENTS:
            self.counters.documents += 1
        else:  # the target, app-scoped or at its account level
            self.counters.v2 += 1

    @staticmethod
    def _log(target: _Target, method: str, path: str, outcome: int | str, started: float) -> None:
        if log.isEnabledFor(logging.DEBUG):
            elapsed_ms = (time.perf_counter() - started) * 1000
            log.debug("%s %s %s -> %s in %.1f ms", target.name, method, _shown(path), outcome, elapsed_ms)


def _page_limit(page_size: int) -> int:
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    return min(page_size, MAX_PAGE_SIZE)


def _v2_walk_done(paging: Mapping[str, Any], received: int, per_page: int) -> bool:
    """v2 `paging` offsets are 1-based and inclusive: the walk ends at total_count (or a short page)."""
    total, end = paging.get("total_count"), paging.get("end_offset")
    reached_total = isinstance(total, int) and isinstance(end, int) and end >= total
    return reached_total or received < per_page


def _shown(path: str) -> str:
    """A path or URL safe to show: no query string (presigned document URLs carry signatures)."""
    parts = urlsplit(path)
    return parts._replace(query="", fragment="").geturl()
