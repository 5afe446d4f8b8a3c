"""`--create-app` when the answer to POST /apps is lost: adopt the one app it made, or refuse; never a second POST blindly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from migrator.apps import APP_META, AppNotVisibleYet, ensure_app
from migrator.errors import EXIT_LOCKED, EXIT_PARTIAL, EXIT_USAGE, ConfigError, LedgerConflict
from migrator.ledger import Ledger
from migrator.settings import Credentials, load_credentials

APPS = "https://api.cloudflare.com/client/v4/accounts/acc/realtime/kit/apps"
ENV = {"DYTE_V1_ORG_ID": "org1", "DYTE_V1_API_KEY": "key1", "CLOUDFLARE_ACCOUNT_ID": "acc", "CLOUDFLARE_API_TOKEN": "tok"}
LONG_AGO = "2024-01-01T00:00:00.000Z"


def _soon() -> str:
    """A creation time after any intent this test records (the server stamps after the POST arrives)."""
    return (datetime.now(UTC) + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")


def _listing(*apps: dict[str, Any]) -> httpx.Response:
    paging = {"total_count": len(apps), "start_offset": 1, "end_offset": len(apps)}
    return httpx.Response(200, json={"success": True, "data": list(apps), "paging": paging})


@pytest.fixture
def credentials() -> Credentials:
    return load_credentials(env=ENV, target="realtimekit", app_optional=True)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


def _after_the_post(*apps: dict[str, Any]) -> Any:
    """A listing without the app before the POST, and with `apps` (creation times "soon": after the intent) after it."""
    answers = iter([_listing()])
    stamped = [{**app, "created_at": _soon()} if app["created_at"] == "soon" else app for app in apps]
    return lambda request: next(answers, None) or _listing(*stamped)


def test_a_lost_answer_adopts_the_one_app_made_since_the_intent(
    tmp_path: Path, credentials: Credentials, api: respx.MockRouter
) -> None:
    post = api.post(APPS).mock(side_effect=httpx.RemoteProtocolError("peer closed connection"))
    listed = api.get(APPS).mock(
        side_effect=_after_the_post(
            {"id": "other", "name": "staging", "created_at": LONG_AGO}, {"id": "made", "name": "production", "created_at": "soon"}
        )
    )
    ledger = tmp_path / "ledger.sqlite"

    choice = ensure_app(credentials, "production", ledger)
    assert (choice.app_id, choice.outcome) == ("made", "adopted")
    assert choice.credentials.v2.base_url == f"{APPS.removesuffix('/apps')}/made"
    assert json.loads(post.calls.last.request.content) == {"name": "production"}
    assert dict(listed.calls.last.request.url.params)["search"] == "production"

    again = ensure_app(credentials, "production", ledger)
    assert (again.app_id, again.outcome) == ("made", "reused")
    assert (post.call_count, listed.call_count) == (1, 2)  # one listing before the POST, one after


def test_a_name_the_account_already_uses_is_refused_before_the_post(
    tmp_path: Path, credentials: Credentials, api: respx.MockRouter
) -> None:
    post = api.post(APPS).mock(return_value=httpx.Response(201, json={"success": True, "data": {"app": {"id": "second"}}}))
    api.get(APPS).mock(return_value=_listing({"id": "theirs", "name": "production", "created_at": LONG_AGO}))
    with pytest.raises(ConfigError, match="already has an app named 'production' .theirs") as refused:
        ensure_app(credentials, "production", tmp_path / "ledger.sqlite")
    assert refused.value.exit_code == EXIT_USAGE and "REALTIMEKIT_APP_ID" in str(refused.value) and post.call_count == 0


@pytest.mark.parametrize(
    ("apps", "named"),
    [
        (
            [
                {"id": "one", "name": "production", "created_at": "soon"},
                {"id": "two", "name": "production", "created_at": "soon"},
            ],
            ["one", "two"],
        ),
        (
            [
                {"id": "old", "name": "production", "created_at": LONG_AGO},
                {"id": "new", "name": "production", "created_at": "soon"},
            ],
            ["old", "new"],
        ),
        ([{"id": "old", "name": "production", "created_at": LONG_AGO}], ["old"]),
    ],
    ids=["two-made-since", "one-from-before-and-one-since", "only-one-from-before"],
)
def test_a_lost_answer_with_apps_that_cannot_be_told_apart_refuses_and_names_them(
    tmp_path: Path, credentials: Credentials, api: respx.MockRouter, apps: list[dict[str, Any]], named: list[str]
) -> None:
    """Apps of that name that appear after the first listing: made concurrently, or stamped by a server clock behind ours."""
    post = api.post(APPS).mock(side_effect=httpx.RemoteProtocolError("peer closed connection"))
    api.get(APPS).mock(side_effect=_after_the_post(*apps))
    ledger = tmp_path / "ledger.sqlite"

    for _ in range(2):  # a retry refuses again: it does not POST a third app
        with pytest.raises(ConfigError) as refused:
            ensure_app(credentials, "production", ledger)
        message = str(refused.value)
        assert refused.value.exit_code == EXIT_USAGE and "\n" not in message
        assert "REALTIMEKIT_APP_ID" in message and all(app_id in message for app_id in named)
    assert post.call_count == 1


def test_a_run_that_died_after_the_intent_adopts_without_posting(
    tmp_path: Path, credentials: Credentials, api: respx.MockRouter
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    intent_at = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with Ledger.open(ledger, None) as opened:
        opened.set_meta(APP_META, json.dumps({"account_id": "acc", "name": "production", "intent_at": intent_at}))
    post = api.post(APPS).mock(return_value=httpx.Response(201, json={"success": True, "data": {"app": {"id": "second"}}}))
    api.get(APPS).mock(return_value=_listing({"id": "first", "name": "production", "created_at": _soon()}))

    choice = ensure_app(credentials, "production", ledger)
    assert (choice.app_id, choice.outcome, post.call_count) == ("first", "adopted", 0)

    with pytest.raises(ConfigError, match="unfinished --create-app production"):
        other = tmp_path / "other.sqlite"
        with Ledger.open(other, None) as opened:
            opened.set_meta(APP_META, json.dumps({"account_id": "acc", "name": "production", "intent_at": intent_at}))
        ensure_app(credentials, "staging", other)


def test_a_lost_answer_with_no_app_showing_stops_resumable_and_the_next_run_creates_it(
    tmp_path: Path, credentials: Credentials, api: respx.MockRouter
) -> None:
    created = httpx.Response(201, json={"success": True, "data": {"app": {"id": "made", "name": "production"}}})
    post = api.post(APPS).mock(side_effect=[httpx.ReadError("connection reset"), created])
    api.get(APPS).mock(return_value=_listing({"id": "other", "name": "production-eu", "created_at": _soon()}))
    ledger = tmp_path / "ledger.sqlite"

    with pytest.raises(AppNotVisibleYet) as stopped:
        ensure_app(credentials, "production", ledger)
    assert stopped.value.exit_code == EXIT_PARTIAL and "run the same command again" in str(stopped.value)

    choice = ensure_app(credentials, "production", ledger)
    assert (choice.app_id, choice.outcome, post.call_count) == ("made", "created", 2)


def test_a_ledger_bound_to_an_app_it_did_not_make_is_refused_before_any_request(
    tmp_path: Path, credentials: Credentials, api: respx.MockRouter
) -> None:
    ledger = tmp_path / "ledger.sqlite"
    Ledger.open(ledger, ("org1", "acc/theirs")).close()
    with pytest.raises(LedgerConflict, match="REALTIMEKIT_APP_ID=theirs") as refused:
        ensure_app(credentials, "production", ledger)
    assert refused.value.exit_code == EXIT_LOCKED and not api.calls
