"""The two organizations' data, in memory, indexed so that every request is O(1) or O(page).

Objects are stored in their wire shape and replaced (never mutated) on update, so a
handler can hand a stored dict straight to the JSON encoder.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from migrator.sandbox.idgen import IdSource

Obj = dict[str, Any]


class Table:
    """Objects by key, in insertion order, so a page is a list slice."""

    def __init__(self) -> None:
        self._by_key: dict[str, Obj] = {}
        self._order: list[str] = []

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, key: str) -> bool:
        return key in self._by_key

    def __iter__(self) -> Iterator[Obj]:
        return (self._by_key[key] for key in self._order)

    def get(self, key: str) -> Obj | None:
        return self._by_key.get(key)

    def put(self, key: str, item: Obj) -> None:
        """Insert at the end, or replace in place when the key exists."""
        if key not in self._by_key:
            self._order.append(key)
        self._by_key[key] = item

    def remove(self, key: str) -> Obj | None:
        item = self._by_key.pop(key, None)
        if item is not None:
            self._order.remove(key)
        return item

    def page(self, offset: int, limit: int) -> list[Obj]:
        return [self._by_key[key] for key in self._order[offset : offset + limit]]


@dataclass
class V1Org:
    id: str
    api_key: str
    organization: Obj
    roles_route: bool
    roles: Table = field(default_factory=Table)  # by name: {id, name, description, role, createdAt}
    presets: Table = field(default_factory=Table)  # by name: {id, name, description, preset, createdAt}
    meetings: Table = field(default_factory=Table)  # by id, wire shape
    participants: dict[str, Table] = field(default_factory=dict)  # meeting id -> participants by id
    recordings: dict[str, Table] = field(default_factory=dict)  # meeting id -> recordings by id
    webhooks: Table = field(default_factory=Table)

    def participants_of(self, meeting_id: str) -> Table:
        return self.participants.setdefault(meeting_id, Table())

    def recordings_of(self, meeting_id: str) -> Table:
        return self.recordings.setdefault(meeting_id, Table())


@dataclass
class V2Org:
    id: str
    api_key: str
    presets: Table = field(default_factory=Table)  # by id, full Preset document + id, created_at, updated_at
    preset_ids_by_name: dict[str, str] = field(default_factory=dict)
    meetings: Table = field(default_factory=Table)
    participants: dict[str, Table] = field(default_factory=dict)  # meeting id -> participants by id
    tokens: dict[str, str] = field(default_factory=dict)  # participant id -> auth token (never listed)
    recordings: Table = field(default_factory=Table)  # by id, each with its meeting id under "_meeting_id"
    webhooks: Table = field(default_factory=Table)

    def participants_of(self, meeting_id: str) -> Table:
        return self.participants.setdefault(meeting_id, Table())


@dataclass
class RtkAccount:
    """A Cloudflare account's RealtimeKit side: apps, each holding the v2 resources."""

    id: str
    api_token: str
    apps: Table = field(default_factory=Table)  # by id: {id, name, created_at}
    app_orgs: dict[str, V2Org] = field(default_factory=dict)  # app id -> its presets, meetings, webhooks

    def add_app(self, app: Obj) -> V2Org:
        self.apps.put(app["id"], app)
        org = self.app_orgs[app["id"]] = V2Org(app["id"], self.api_token)
        return org


@dataclass
class Orgs:
    v1: V1Org
    v2: V2Org
    rtk: RtkAccount


OrgBuilder = Callable[[IdSource], Orgs]


class Store:
    """The live data plus what `reset` needs to rebuild it; `lock` guards both orgs."""

    def __init__(self, build: OrgBuilder, seed: int) -> None:
        self.lock = threading.Lock()
        self._build = build
        self._seed = seed
        self.ids = IdSource(seed ^ 0x5A17)
        self.orgs = build(IdSource(seed))

    def reset(self) -> None:
        """Back to the initial dataset, with the same ids the first start produced.

        The rebuild happens outside the lock so requests are not stalled while it runs.
        """
        orgs = self._build(IdSource(self._seed))
        with self.lock:
            self.ids = IdSource(self._seed ^ 0x5A17)
            self.orgs = orgs
