"""`--create-app NAME`: a RealtimeKit app for a target that names none, made once per ledger.

Creating an app is not idempotent on Cloudflare's side (and apps cannot be deleted through
the API), so the app this tool made is recorded in the ledger's meta, before anything else
is written, and a later run with the same ledger and account reuses it instead of making
another.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from pathlib import Path

from migrator.client import DyteClient
from migrator.errors import CredentialError, MalformedResponse
from migrator.ledger import Ledger
from migrator.settings import Credentials

APP_META = "realtimekit_app"  # ledger meta: {"account_id", "app_id", "name"} of the app --create-app made


@dataclass(frozen=True)
class AppChoice:
    credentials: Credentials
    app_id: str
    created: bool  # False: reused the app an earlier run recorded


def _account(credentials: Credentials) -> str:
    return credentials.v2.org_id.partition("/")[0]


def recorded_app(ledger_path: Path, account_id: str) -> str | None:
    """The app an earlier `--create-app` recorded in this ledger for this account, if any."""
    if not ledger_path.exists():
        return None
    with Ledger.open(ledger_path, None, lock=False, create=False) as ledger:
        raw = ledger.meta(APP_META)
    recorded = json.loads(raw) if raw else {}
    return recorded.get("app_id") if recorded.get("account_id") == account_id else None


async def _post_app(credentials: Credentials, name: str, timeout: float) -> str:
    async with DyteClient(credentials, timeout=timeout) as client:
        body = await client.v2_account("POST", "/apps", json={"name": name})
    data = body.get("data")
    app = data.get("app") if isinstance(data, dict) else None
    app_id = app.get("id") if isinstance(app, dict) else None
    if not isinstance(app_id, str) or not app_id or "/" in app_id:
        raise MalformedResponse("realtimekit POST /apps: the answer has no data.app.id")
    return app_id


def ensure_app(credentials: Credentials, name: str, ledger_path: Path, timeout: float = 30.0) -> AppChoice:
    """Scope the target to a new app named `name` (or to the one this ledger recorded)."""
    if credentials.v2.profile.name != "realtimekit":
        raise CredentialError("--create-app needs --target realtimekit")
    if credentials.v2.app_id:
        return AppChoice(credentials, credentials.v2.app_id, created=False)
    account_id = _account(credentials)
    app_id = recorded_app(ledger_path, account_id)
    created = app_id is None
    if app_id is None:
        app_id = asyncio.run(_post_app(credentials, name, timeout))
    scoped = replace(credentials, v2=credentials.v2.with_app(app_id))
    with Ledger.open(ledger_path, scoped.pair) as ledger:
        ledger.set_meta(APP_META, json.dumps({"account_id": account_id, "app_id": app_id, "name": name}))
    return AppChoice(scoped, app_id, created)
