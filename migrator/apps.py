"""`--create-app NAME`: a RealtimeKit app for a target that names none, made at most once.

Creating an app is not idempotent on Cloudflare's side, and apps cannot be deleted or
renamed through the API, so a lost answer must never lead to a second app. A name the
account already uses is refused (exit 2) before anything is made. Before the
POST the ledger records the intent (account, name, the time, to the second); after it,
the app id. A run whose POST answer is lost (reset, commit-then-drop, a 5xx), and a later
run that finds an intent without an app id (the process died), do not POST blindly: they
list the account's apps and adopt the one app of that name created at or after the intent.
Two such apps, or one of that name from before the intent, cannot be told apart: the run
refuses (exit 2) and names them, so the user chooses with REALTIMEKIT_APP_ID. Only when
a later run's listing shows no such app did the POST not land, and it is sent again.
(A server clock behind ours makes our app look older than the intent: a refusal, never a
second app.)
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from migrator.client import DyteClient
from migrator.errors import EXIT_PARTIAL, ConfigError, CredentialError, LedgerConflict, MalformedResponse, WriteOutcomeUnknown
from migrator.ledger import Ledger, now_iso
from migrator.settings import ApiCredentials, Credentials

APP_META = "realtimekit_app"  # ledger meta: {"account_id", "name", "intent_at", "app_id" once known}
APP_ID_HINT = "set REALTIMEKIT_APP_ID (or the credentials file's realtimekit.app_id)"


Outcome = Literal["created", "adopted", "reused"]  # adopted: made by a POST whose answer was lost


class AppNotVisibleYet(WriteOutcomeUnknown):
    """The POST's answer was lost and the listing shows no app of that name yet: run again."""

    exit_code = EXIT_PARTIAL


@dataclass(frozen=True)
class AppChoice:
    credentials: Credentials
    app_id: str
    outcome: Outcome


@dataclass(frozen=True)
class _Intent:
    """What the ledger holds about `--create-app`: the app asked for and, once known, its id."""

    account_id: str
    name: str
    intent_at: str  # ISO 8601 UTC, whole seconds, taken before the POST ("" in ledgers older than intents)
    app_id: str | None = None

    def dumps(self) -> str:
        return json.dumps({"account_id": self.account_id, "name": self.name, "intent_at": self.intent_at, "app_id": self.app_id})


def _account(side: ApiCredentials) -> str:
    return side.org_id.partition("/")[0]


def _read_intent(ledger: Ledger, account_id: str) -> _Intent | None:
    raw = ledger.meta(APP_META)
    recorded = json.loads(raw) if raw else {}
    if recorded.get("account_id") != account_id:
        return None
    return _Intent(account_id, str(recorded.get("name") or ""), str(recorded.get("intent_at") or ""), recorded.get("app_id"))


def _check_binding(ledger: Ledger, credentials: Credentials) -> None:
    """Refuse (exit 4) before any POST a ledger that belongs to another org pair or to an app it did not make."""
    v1_org, v2_org = ledger.meta("v1_org"), ledger.meta("v2_org")
    if v1_org is None and v2_org is None:
        return
    account_id = _account(credentials.v2)
    if v1_org != credentials.v1.org_id or not (v2_org or "").startswith(account_id + "/"):
        raise LedgerConflict(
            f"ledger {ledger.path} belongs to source org {v1_org} -> target {v2_org}, not {credentials.v1.org_id} -> {account_id}"
        )
    if _read_intent(ledger, account_id) is None:
        app_id = (v2_org or "").partition("/")[2]
        raise LedgerConflict(
            f"ledger {ledger.path} belongs to app {app_id}, which --create-app did not make: set REALTIMEKIT_APP_ID={app_id}"
        )


def _created_at(app: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(str(app.get("created_at")))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _describe(apps: list[dict[str, Any]]) -> str:
    return ", ".join(f"{app['id']} (created {app.get('created_at') or 'at an unknown time'})" for app in apps)


def _pick(apps: list[dict[str, Any]], intent: _Intent) -> str | None:
    """The one app the intent's POST made, None when none shows; refuse (exit 2) when it cannot be told."""
    named = [app for app in apps if app.get("name") == intent.name and isinstance(app.get("id"), str) and app["id"]]
    since = datetime.fromisoformat(intent.intent_at)
    made_since = [app for app in named if (_created_at(app) or since.min.replace(tzinfo=UTC)) >= since]
    older = [app for app in named if app not in made_since]  # or of unknown age
    if not older and len(made_since) <= 1:
        return made_since[0]["id"] if made_since else None
    found = [f"made since {intent.intent_at}: {_describe(made_since)}"] if made_since else []
    found += [f"from before: {_describe(older)}"] if older else []
    raise ConfigError(
        f"--create-app {intent.name}: the answer to creating it was lost and it cannot tell which app named "
        f"{intent.name!r} it made ({'; '.join(found)}); {APP_ID_HINT} to the one to use"
    )


def _refuse_taken(apps: list[dict[str, Any]], name: str) -> None:
    """Before a first POST: an app of that name already exists, so a second one would be told apart by id only."""
    taken = [app for app in apps if app.get("name") == name and app.get("id")]
    if taken:
        raise ConfigError(
            f"--create-app {name}: the account already has an app named {name!r} ({_describe(taken)}); "
            f"{APP_ID_HINT} to use it, or choose another name"
        )


async def _list_apps(client: DyteClient, path: str, name: str) -> list[dict[str, Any]]:
    assert client.account is not None  # ensure_app lets only a target with apps get here
    return [app async for page in client.account.pages(path, params={"search": name}) for app in page if isinstance(app, dict)]


async def _post_app(client: DyteClient, path: str, name: str) -> str:
    assert client.account is not None
    body = await client.account("POST", path, json={"name": name})
    data = body.get("data")
    app = data.get("app") if isinstance(data, dict) else None
    app_id = app.get("id") if isinstance(app, dict) else None
    if not isinstance(app_id, str) or not app_id or "/" in app_id:
        raise MalformedResponse(f"realtimekit POST {path}: the answer has no data.app.id")
    return app_id


async def _make_or_find(credentials: Credentials, intent: _Intent, ledger: Ledger, timeout: float) -> AppChoice:
    """Finish `intent`: adopt the app an earlier POST made (when `intent_at` says one was sent), else POST."""
    path = credentials.v2.profile.apps_path
    async with DyteClient(credentials, timeout=timeout) as client:
        listed = await _list_apps(client, path, intent.name)
        if not intent.intent_at:
            _refuse_taken(listed, intent.name)
        elif (adopted := _pick(listed, intent)) is not None:  # an earlier run's POST, its outcome never learned
            return _chosen(credentials, ledger, replace(intent, app_id=adopted), "adopted")
        intent = replace(intent, intent_at=intent.intent_at or now_iso())
        ledger.set_meta(APP_META, intent.dumps())  # committed before the POST is sent
        try:
            created = await _post_app(client, path, intent.name)
            return _chosen(credentials, ledger, replace(intent, app_id=created), "created")
        except (WriteOutcomeUnknown, MalformedResponse):
            adopted = _pick(await _list_apps(client, path, intent.name), intent)
    if adopted is None:
        raise AppNotVisibleYet(
            f"--create-app {intent.name}: the answer to creating it was lost and no app named {intent.name!r} "
            "shows yet; run the same command again (it adopts the app once it shows, and creates one only if none does)"
        )
    return _chosen(credentials, ledger, replace(intent, app_id=adopted), "adopted")


def _chosen(credentials: Credentials, ledger: Ledger, intent: _Intent, outcome: Outcome) -> AppChoice:
    """Record the app in the ledger and scope the target to it."""
    assert intent.app_id is not None
    ledger.set_meta(APP_META, intent.dumps())
    return AppChoice(replace(credentials, v2=credentials.v2.with_app(intent.app_id)), intent.app_id, outcome)


def ensure_app(credentials: Credentials, name: str, ledger_path: Path, timeout: float = 30.0) -> AppChoice:
    """Scope the target to a new app named `name`, or to the one this ledger made or is making."""
    target = credentials.v2
    if not target.profile.apps_path:
        raise CredentialError("--create-app needs --target realtimekit")
    if target.app_id:
        return AppChoice(credentials, target.app_id, "reused")
    account_id = _account(target)
    with Ledger.open(ledger_path, None) as ledger:  # its file lock: one --create-app per ledger at a time
        _check_binding(ledger, credentials)
        intent = _read_intent(ledger, account_id)
        if intent is not None and intent.app_id is not None:
            return AppChoice(replace(credentials, v2=target.with_app(intent.app_id)), intent.app_id, "reused")
        if intent is not None and intent.name != name:
            raise ConfigError(
                f"--create-app {name}: ledger {ledger_path} holds an unfinished --create-app {intent.name} "
                f"(its answer was lost); run with --create-app {intent.name} to finish it"
            )
        return asyncio.run(_make_or_find(credentials, intent or _Intent(account_id, name, ""), ledger, timeout))
