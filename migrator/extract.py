"""Extract: walk the whole source org (Dyte v1, or Dyte v2) into the ledger's snapshot, page by page.

Each page is written as it arrives, so memory does not grow with the org. Preset
settings live only in the document behind each v1 preset's `s3URL`, so those documents
are fetched too; role documents only for roles no preset document already embeds.
Recordings are read per meeting only for meetings the org-wide recording stats name.
A shard (`owns`) keeps only its own meetings and webhooks: the participants and
recordings of other shards' meetings are never read.

The listings are read side by side (within the client's concurrency and pace), and each
meeting's participants as soon as its listing page arrives: against a remote API, a walk
that read the org-level listings and then every meeting page one after another left the
rate budget unused for a round trip per page.

A Dyte v2 org is stored under the same kinds: presets are whole objects (GET each),
participants are read per meeting, and the org-wide recordings listing is an inventory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from migrator import kinds
from migrator.client import DyteClient
from migrator.errors import ApiError, MalformedResponse
from migrator.ledger import Ledger
from migrator.model import ExtractSummary, Kind
from migrator.reports.redact import is_secret_key
from migrator.side_by_side import each_listed, together

PAGE = 100
SECRET_REMOVED = "(secret: not stored)"
Progress = Callable[[str, int], None]


def _without_query(url: str) -> str:
    """A document URL as the ledger keeps it: a presigned query (a credential) is dropped."""
    return urlsplit(url)._replace(query="", fragment="").geturl()


def without_secrets(value: Any, declared: frozenset[str], path: str = "") -> Any:
    """A copy of a v1 object whose credentials are replaced by SECRET_REMOVED.

    Credentials are the paths the mapping files declare `secret: true` (wherever they
    appear) and any key that looks like one. The plan still shows the field as dropped.
    """
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            # a credential is a string: v1 meetings' `authorization` object ({waitingRoom, closed}) is not one
            secret = item is not None and (where in declared or (isinstance(item, str) and is_secret_key(str(key))))
            out[key] = SECRET_REMOVED if secret else without_secrets(item, declared, where)
        return out
    if isinstance(value, list):
        return [without_secrets(item, declared, path) for item in value]
    return value


def _require_id(kind: str, obj: Any, source: str = "v1") -> str:
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise MalformedResponse(f"{source} answered a {kind} without a usable id")
    return str(obj["id"])


class SnapshotWriter:
    """What every extractor shares: pages into the ledger's snapshot, then the counts per kind."""

    kinds: tuple[str, ...] = ()  # the snapshot kinds this source fills

    def __init__(
        self,
        client: DyteClient,
        ledger: Ledger,
        run_id: int,
        *,
        concurrency: int = 8,
        progress: Progress | None = None,
        secret_fields: frozenset[str] = frozenset(),
        owns: Callable[[str], bool] | None = None,
    ) -> None:
        self.client, self.ledger, self.run_id = client, ledger, run_id
        self.secret_fields = secret_fields
        self.owns = owns or (lambda v1_id: True)
        self.concurrency = concurrency
        self.progress = progress or (lambda kind, n: None)
        self.summary = ExtractSummary()

    def _store(self, kind: str, rows: Sequence[tuple[str, str | None, dict[str, Any]]]) -> None:
        seen: set[str] = set()
        unique = []
        for row in rows:  # an id repeated across pages is one object
            if row[0] not in seen:
                seen.add(row[0])
                unique.append((row[0], row[1], without_secrets(row[2], self.secret_fields)))
        self.progress(kind, self.ledger.put_snapshot(self.run_id, kind, unique))

    async def run(self) -> ExtractSummary:
        await self.walk()
        self.summary.removed = self.ledger.finish_snapshot(self.run_id)
        for kind in self.kinds:
            self.summary.counts[kind] = self.ledger.snapshot_count(kind)
        return self.summary

    async def walk(self) -> None:
        raise NotImplementedError


class Extractor(SnapshotWriter):
    """A Dyte v1 org: presets with their documents, roles, webhooks, meetings, participants, recordings."""

    kinds = ("preset", "role", "meeting", "participant", "webhook", "recording")

    async def walk(self) -> None:
        """The org-level listings and the meetings at once; each meeting's participants and
        recordings as soon as its listing page arrives. Only a role's document waits (on the
        preset documents, which may embed it)."""
        recorded_rooms = asyncio.ensure_future(self._recorded_rooms())

        async def participants_and_recordings(meeting: dict[str, Any]) -> None:
            await self._participants(meeting)
            if meeting.get("roomName") in await asyncio.shield(recorded_rooms):
                await self._recordings(meeting)

        try:
            await together(
                self._presets_and_roles(),
                self._webhooks(),
                each_listed(self._meetings(), self.concurrency, participants_and_recordings),
                recorded_rooms,
            )
        finally:
            recorded_rooms.cancel()

    async def _presets_and_roles(self) -> None:
        embedded_roles: set[str] = set()

        async def with_document(preset: dict[str, Any]) -> tuple[str, None, dict[str, Any]]:
            pid = _require_id("preset", preset)
            url = preset.get("s3URL")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise MalformedResponse(f"v1 preset {preset.get('name')!r} has no usable s3URL")
            document = await self.client.document(url)
            role = document.get("role") if isinstance(document, dict) else None
            if isinstance(role, dict) and isinstance(role.get("name"), str):
                embedded_roles.add(role["name"])
            return pid, None, {**preset, "s3URL": _without_query(url), "document": document}

        async def presets() -> None:
            async for page in self.client.v1_pages("/presets", "presets", page_size=PAGE):
                self._store("preset", await together(*(with_document(p) for p in page)))

        roles: list[dict[str, Any]] = []

        async def role_listing() -> None:
            try:
                async for page in self.client.v1_pages("/preset-roles", "roles", page_size=PAGE):
                    roles.extend(page)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                self.summary.roles_route = False
                self.summary.warnings.append("the v1 org has no roles route (404): roles come from preset documents only")

        await together(presets(), role_listing())  # a role's document waits for the presets' (they may embed it)

        async def with_role_document(role: dict[str, Any]) -> tuple[str, None, dict[str, Any]]:
            rid = _require_id("role", role)
            url = role.get("s3URL")
            document = None
            if role.get("name") not in embedded_roles and isinstance(url, str) and url.startswith(("http://", "https://")):
                document = await self.client.document(url)
            return rid, None, {**role, "s3URL": _without_query(url) if isinstance(url, str) else url, "document": document}

        if roles:
            self._store("role", await together(*(with_role_document(r) for r in roles)))

    async def _webhooks(self) -> None:
        body = await self.client.v1("GET", "/webhooks")
        hooks = (body.get("data") or {}).get("webhooks") if isinstance(body.get("data"), dict) else None
        if not isinstance(hooks, list):
            raise MalformedResponse("v1 GET /webhooks answered without data.webhooks")
        self._store("webhook", [(hid, None, h) for hid, h in ((_require_id("webhook", h), h) for h in hooks) if self.owns(hid)])

    async def _meetings(self) -> AsyncIterator[list[dict[str, Any]]]:
        """Store meetings page by page; yield only what later steps need (id, roomName)."""
        seen: set[str] = set()
        async for page in self.client.v1_pages("/meetings", "meetings", page_size=PAGE):
            rows: list[tuple[str, str | None, dict[str, Any]]] = [
                (mid, None, m) for mid, m in ((_require_id("meeting", m), m) for m in page) if self.owns(mid)
            ]
            self._store("meeting", rows)
            fresh: list[dict[str, Any]] = []
            for mid, _, m in rows:  # an id repeated across pages is one meeting
                if mid not in seen:
                    seen.add(mid)
                    fresh.append({"id": mid, "roomName": m.get("roomName")})
            yield fresh

    async def _participants(self, meeting: dict[str, Any]) -> None:
        mid = meeting["id"]
        async for page in self.client.v1_pages(f"/meetings/{mid}/participants", "participants", page_size=PAGE):
            self._store("participant", [(_require_id("participant", p), mid, {**p, "meetingId": mid}) for p in page])

    async def _recorded_rooms(self) -> set[str]:
        """The rooms the org-wide recording stats name: only their meetings' recordings are read."""
        rooms: set[str] = set()
        async for page in self.client.v1_pages("/recordings", "recordingStats", page_size=PAGE):
            rooms.update(r["roomName"] for r in page if isinstance(r, dict) and isinstance(r.get("roomName"), str))
        return rooms

    async def _recordings(self, meeting: dict[str, Any]) -> None:
        mid = meeting["id"]
        async for page in self.client.v1_pages(f"/meetings/{mid}/recordings", "recordings", page_size=PAGE):
            self._store(
                "recording",
                [(_require_id("recording", r), mid, {**r, "meetingId": mid, "roomName": meeting.get("roomName")}) for r in page],
            )


# A v2 recording as the inventory (plan report, export-ids) reads it: under v1's names.
V2_RECORDING_FIELDS = {
    "downloadUrl": "download_url",
    "downloadUrlExpiry": "download_url_expiry",
    "outputFileName": "output_file_name",
}


class V2SourceExtractor(SnapshotWriter):
    """A Dyte v2 org, read through the client's source side: its objects already are v2 objects."""

    kinds = ("preset", "meeting", "participant", "webhook", "recording")

    async def walk(self) -> None:
        """Every listing at once; each meeting's participants as soon as its listing page arrives."""
        await together(
            self._presets(),
            self._drain(self._top_level(Kind.WEBHOOK)),
            each_listed(self._top_level(Kind.MEETING), self.concurrency, self._participants),
            self._recordings(),
        )

    @staticmethod
    async def _drain(listing: AsyncIterator[list[str]]) -> None:
        async for _ in listing:
            pass

    async def _presets(self) -> None:
        """The listing holds names and ids only: each preset is read whole."""
        spec = kinds.spec(Kind.PRESET)

        async def whole(listed: dict[str, Any]) -> tuple[str, None, dict[str, Any]]:
            pid = _require_id("preset", listed, "v2")
            preset = await spec.whole(self.client, listed, side=self.client.source)
            if not preset:
                raise MalformedResponse(f"v2 listed preset {listed.get('name')!r} but GET /presets/{{id}} found none")
            return pid, None, preset

        async for page in spec.pages(self.client.source):
            self._store("preset", await together(*(whole(p) for p in page)))

    async def _top_level(self, kind: Kind) -> AsyncIterator[list[str]]:
        """Store a kind whose listing holds whole objects page by page; yield their ids."""
        async for page in kinds.spec(kind).pages(self.client.source):
            rows = [(oid, None, o) for o in page if self.owns(oid := _require_id(kind.value, o, "v2"))]  # a shard: its own
            self._store(kind.value, rows)
            yield [oid for oid, _, _ in rows]

    async def _participants(self, mid: str) -> None:
        async for page in kinds.spec(Kind.PARTICIPANT).pages(self.client.source, mid):
            self._store("participant", [(_require_id("participant", p, "v2"), mid, {**p, "meetingId": mid}) for p in page])

    async def _recordings(self) -> None:
        """One org-wide walk; each item names its meeting. An inventory: recordings do not move."""
        async for page in self.client.source.pages(kinds.RECORDINGS):
            rows = []
            for item in page:
                rid = _require_id("recording", item, "v2")
                meeting = item.get("meeting") if isinstance(item.get("meeting"), dict) else {}
                recording = {k: v for k, v in item.items() if k != "meeting"}
                renamed = {v1_name: recording.get(v2_name) for v1_name, v2_name in V2_RECORDING_FIELDS.items()}
                rows.append(
                    (
                        rid,
                        meeting.get("id"),
                        {**recording, **renamed, "meetingId": meeting.get("id"), "title": meeting.get("title")},
                    )
                )
            self._store("recording", rows)
