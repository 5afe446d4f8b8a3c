"""Each kind of object, declared once: where it lives in v2, how to find it, what v2 cannot change.

Stages loop over `KINDS` (dependency order) and ask the declaration; none of them knows a
v2 path or a kind by name. A new kind or target is one more declaration here.

Finding an object in v2 by its natural key serves two purposes: adopting what already
exists (plan), and settling a write whose answer was lost (load). v2 has no idempotency
key, so each kind says what identifies it: presets by name, webhooks by url and name,
participants by custom_participant_id within their meeting, meetings by title, creation
time and settings (v2 meetings have no other key).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from migrator.client import ApiSide, DyteClient
from migrator.errors import ApiError
from migrator.model import Entity, Kind

# How far a v2 server's clock may run behind ours: a write whose answer was lost can only have
# created an object stamped after its intent, less this much.
CLOCK_SKEW = dt.timedelta(minutes=2)
JsonObject = dict[str, Any]


class Lookup(enum.Enum):
    """How v2 lists a kind: the whole org at once, per parent, or by a title search since a time."""

    ORG = "org"
    PER_PARENT = "per-parent"
    TITLE_SINCE = "title-since"


class Undo(enum.Enum):
    """What rollback does to an object this tool created."""

    DELETE = "delete"
    DEACTIVATE = "deactivate"  # v2 cannot delete meetings: set them INACTIVE


@dataclass(frozen=True)
class KindSpec:
    kind: Kind
    label: str  # what a person calls it, plural
    parent: Kind | None
    collection: str  # v2 path; `{parent}` is the parent's v2 id
    natural_key: Callable[[JsonObject], str | None]
    lookup: Lookup
    listing_is_whole: bool  # a listing item holds the whole object (else GET each to compare)
    paged: bool  # the v2 listing takes page_no/per_page (GET /webhooks does not, as in the spec)
    immutable: tuple[str, ...] = ()  # v2 cannot change these on an existing object: a change is a conflict
    after_create: tuple[str, ...] = ()  # a create cannot set these: the create is followed by a PATCH
    created_defaults: tuple[tuple[str, Any], ...] = ()  # what v2 sets for `after_create` fields on create
    match_fields: tuple[str, ...] = ()  # beside the natural key, what a found object must hold to be ours
    undo: Undo = Undo.DELETE
    requires: tuple[tuple[Kind, str], ...] = ()  # (kind, field of the body naming it) that must exist in v2 first
    keyed_by_v1: bool = True  # False: derived from v1 (presets and their variants), keyed by v2 name
    reattach: bool = False  # a v1 object deleted and re-added with the same natural key keeps its v2 object
    unique_in_v2: bool = False  # v2 refuses (409) a second object with the same natural key

    # ---------------------------------------------------------------- paths
    def collection_path(self, parent_v2: str | None = None) -> str:
        return self.collection.format(parent=parent_v2 or "")

    def item_path(self, v2_id: str, parent_v2: str | None = None) -> str:
        return f"{self.collection_path(parent_v2)}/{v2_id}"

    # ---------------------------------------------------------------- writes
    def create_request(self, desired: JsonObject) -> tuple[JsonObject, JsonObject]:
        """(body to POST, what v2 holds after it): fields a create cannot set wait for the follow-up PATCH."""
        body = {k: v for k, v in desired.items() if k not in self.after_create}
        held = dict(body)
        for name, value in self.created_defaults:
            if name in desired:
                held[name] = value
        return body, held

    def patch_body(self, desired: JsonObject, written: JsonObject) -> JsonObject:
        """The fields to PATCH: what changed, less what v2 cannot change."""
        return {k: v for k, v in desired.items() if written.get(k) != v and k not in self.immutable}

    def immutable_changes(self, desired: JsonObject, written: JsonObject) -> list[str]:
        return [f for f in self.immutable if written.get(f) != desired.get(f)]

    def holds_after_reconcile(self, desired: JsonObject, found: JsonObject) -> JsonObject:
        """What a create whose answer was lost left in v2, as far as our writes are concerned."""
        body, held = self.create_request(desired)
        return {**held, **{k: found.get(k, held.get(k)) for k in self.after_create if k in desired}}

    def matches(self, desired: JsonObject, found: JsonObject) -> bool:
        return all(found.get(f) == desired[f] for f in self.match_fields if f in desired)

    def could_be_ours(self, found: JsonObject, intent_at: str | None) -> bool:
        """Whether a write sent at `intent_at` can have created `found`: not if v2 stamped it earlier."""
        created = found.get("created_at")
        if not intent_at or not isinstance(created, str):
            return True
        try:
            return _parse_time(created) >= _parse_time(intent_at) - CLOCK_SKEW
        except ValueError:
            return True

    # ---------------------------------------------------------------- reads
    # Reads go to the target unless `side` says otherwise (`client.source`: a Dyte v2 source org).
    async def fetch(
        self, client: DyteClient, v2_id: str, parent_v2: str | None = None, *, side: ApiSide | None = None
    ) -> JsonObject | None:
        """One v2 object, or None when v2 no longer has it."""
        try:
            body = await (side or client.target)("GET", self.item_path(v2_id, parent_v2))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        data = body.get("data")
        return data if isinstance(data, dict) else None

    async def pages(
        self, side: ApiSide, parent_v2: str | None = None, params: dict[str, Any] | None = None
    ) -> AsyncIterator[list[JsonObject]]:
        """The listing of this kind (of one parent), page by page; items without an id are skipped."""
        path = self.collection_path(parent_v2)
        if not self.paged:
            data = (await side("GET", path)).get("data")
            yield [o for o in data if isinstance(o, dict) and o.get("id")] if isinstance(data, list) else []
            return
        async for page in side.pages(path, params=params):
            yield [o for o in page if isinstance(o, dict) and o.get("id")]

    async def listing(
        self,
        client: DyteClient,
        parent_v2: str | None = None,
        *,
        title: str | None = None,
        since: str | None = None,
        side: ApiSide | None = None,
    ) -> list[JsonObject]:
        """The v2 objects of this kind (of one parent; with a title created since a time), oldest first."""
        params: dict[str, Any] = {}
        if self.lookup is Lookup.TITLE_SINCE:
            if title:
                params["search"] = title
            if since:
                params["start_time"] = (_parse_time(since) - CLOCK_SKEW).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        found: list[JsonObject] = []
        async for page in self.pages(side or client.target, parent_v2, params):
            found.extend(page)
        if title is not None:  # the search matches parts of titles: keep the exact ones
            found = [o for o in found if (o.get("title") or "") == title]
            found.sort(key=lambda o: o.get("created_at") or "")
        return found

    async def whole(
        self, client: DyteClient, found: JsonObject, parent_v2: str | None = None, *, side: ApiSide | None = None
    ) -> JsonObject:
        """A listed object in full (a preset listing carries only names and ids)."""
        if self.listing_is_whole:
            return found
        return await self.fetch(client, found["id"], parent_v2, side=side) or {}


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _webhook_key(payload: JsonObject) -> str:
    """A webhook is its URL: a second v2 webhook to the same URL, under any name, doubles every event."""
    return str(payload.get("url"))


KINDS: tuple[KindSpec, ...] = (
    KindSpec(
        Kind.PRESET,
        "presets",
        None,
        "/presets",
        lambda p: p.get("name"),
        Lookup.ORG,
        listing_is_whole=False,
        paged=True,
        keyed_by_v1=False,
        unique_in_v2=True,
    ),
    KindSpec(
        Kind.MEETING,
        "meetings",
        None,
        "/meetings",
        lambda p: p.get("title") or "",
        Lookup.TITLE_SINCE,
        listing_is_whole=True,
        paged=True,
        after_create=("status",),
        created_defaults=(("status", "ACTIVE"),),
        match_fields=("record_on_start", "live_stream_on_start"),
        undo=Undo.DEACTIVATE,
    ),
    KindSpec(
        Kind.PARTICIPANT,
        "participants",
        Kind.MEETING,
        "/meetings/{parent}/participants",
        lambda p: p.get("custom_participant_id"),
        Lookup.PER_PARENT,
        listing_is_whole=True,
        paged=True,
        immutable=("custom_participant_id",),
        requires=((Kind.PRESET, "preset_name"),),
        reattach=True,
    ),
    KindSpec(
        Kind.WEBHOOK, "webhooks", None, "/webhooks", _webhook_key, Lookup.ORG, listing_is_whole=True, paged=False, reattach=True
    ),
)
SPECS: dict[Kind, KindSpec] = {spec.kind: spec for spec in KINDS}
# The v2 recordings listing (org-wide, each item names its meeting): read from a Dyte v2 source
# as an inventory only, since recordings do not move.
RECORDINGS = "/recordings"
# Rollback undoes children before what they depend on.
ROLLBACK_ORDER: tuple[KindSpec, ...] = (SPECS[Kind.PARTICIPANT], SPECS[Kind.WEBHOOK], SPECS[Kind.MEETING], SPECS[Kind.PRESET])
# The status a deactivated meeting holds.
INACTIVE = {"status": "INACTIVE"}


def spec(kind: Kind) -> KindSpec:
    return SPECS[kind]


def label(entity: Entity) -> str | None:
    """What a person calls the entity: a meeting's title, a participant's or webhook's name."""
    desired, extra = entity.desired or {}, entity.extra or {}
    if entity.kind is Kind.MEETING:
        return extra.get("title") or desired.get("title")
    if entity.kind is Kind.PARTICIPANT:
        return desired.get("name") or extra.get("name") or extra.get("clientSpecificId")
    if entity.kind is Kind.WEBHOOK:
        return desired.get("name") or desired.get("url")
    return entity.key


def required_name(entity: Entity, kind: Kind) -> str | None:
    """The name of the object of `kind` this entity needs in v2 (a participant's preset), if any."""
    for required, field in SPECS[entity.kind].requires:
        if required is kind:
            return (entity.desired or {}).get(field)
    return None


def id_fields(entity: Entity) -> dict[str, Any]:
    """The kind-specific columns of an exported id map: a meeting's title, the v2 preset a participant got."""
    if entity.kind is Kind.MEETING:
        return {"title": entity.extra.get("title")}
    if entity.kind is Kind.PRESET:
        return {"preset_name": entity.key}
    return {"preset_name": required_name(entity, Kind.PRESET)}


async def probe(client: DyteClient) -> JsonObject:
    """The cheapest authenticated v2 read, for preflight."""
    return await client.v2("GET", SPECS[Kind.PRESET].collection_path(), params={"page_no": 1, "per_page": 1})
