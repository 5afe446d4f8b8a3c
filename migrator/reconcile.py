"""Find in v2 what a write whose answer was lost may have created.

Each kind has a natural key v2 can be searched by (PRODUCT.md, "Exactly once"):
presets by name, webhooks by URL (a receiver must get each event once, whatever the
webhook is called), participants by custom_participant_id within
their meeting, meetings by title and creation time (v2 meetings have no other key).
The planner uses the same look-ups to adopt objects that already exist in v2.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from migrator.client import DyteClient

MEETING_CLOCK_SKEW = dt.timedelta(minutes=10)


def webhook_key(payload: dict[str, Any]) -> str:
    """A webhook is its URL: a second v2 webhook to the same URL, under any name, doubles every event."""
    return str(payload.get("url"))


def natural_key(kind: str, payload: dict[str, Any]) -> str | None:
    if kind == "preset":
        return payload.get("name")
    if kind == "webhook":
        return webhook_key(payload)
    if kind == "participant":
        return payload.get("custom_participant_id")
    if kind == "meeting":
        return payload.get("title") or ""
    return None


async def v2_presets(client: DyteClient) -> dict[str, str]:
    """v2 preset name -> id."""
    found: dict[str, str] = {}
    async for page in client.v2_pages("/presets"):
        for item in page:
            if isinstance(item, dict) and item.get("name") and item.get("id"):
                found[item["name"]] = item["id"]
    return found


async def v2_preset(client: DyteClient, preset_id: str) -> dict[str, Any]:
    body = await client.v2("GET", f"/presets/{preset_id}")
    return body.get("data") or {}


async def v2_webhook_list(client: DyteClient) -> list[dict[str, Any]]:
    """Every v2 webhook; the listing has no paging parameters (as in the spec)."""
    body = await client.v2("GET", "/webhooks")
    data = body.get("data")
    return [h for h in data if isinstance(h, dict)] if isinstance(data, list) else []


async def v2_webhooks(client: DyteClient) -> dict[str, dict[str, Any]]:
    """URL -> v2 webhook."""
    found: dict[str, dict[str, Any]] = {}
    for hook in await v2_webhook_list(client):
        found.setdefault(webhook_key(hook), hook)
    return found


async def v2_participants(client: DyteClient, meeting_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async for page in client.v2_pages(f"/meetings/{meeting_id}/participants"):
        out.extend(p for p in page if isinstance(p, dict))
    return out


async def v2_meetings_since(client: DyteClient, title: str | None, since: str | None) -> list[dict[str, Any]]:
    """v2 meetings with this title created after `since` (minus clock skew), oldest first."""
    params: dict[str, Any] = {}
    if title:
        params["search"] = title
    if since:
        start = dt.datetime.strptime(since, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc) - MEETING_CLOCK_SKEW
        params["start_time"] = start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    found: list[dict[str, Any]] = []
    async for page in client.v2_pages("/meetings", params=params):
        found.extend(m for m in page if isinstance(m, dict) and (m.get("title") or "") == (title or ""))
    return sorted(found, key=lambda m: m.get("created_at") or "")


def matches(desired: dict[str, Any], actual: dict[str, Any], fields: Iterable[str]) -> bool:
    """True when `actual` holds `desired`'s value for each of `fields` that desired sets."""
    return all(actual.get(f) == desired[f] for f in fields if f in desired)


def subset_diff(desired: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where `actual` does not hold what `desired` says (extra fields in actual are fine)."""
    if isinstance(desired, dict):
        if not isinstance(actual, dict):
            return [path or "."]
        out: list[str] = []
        for key, value in desired.items():
            out.extend(subset_diff(value, actual.get(key), f"{path}.{key}" if path else str(key)))
        return out
    return [] if desired == actual else [path or "."]
