"""The official cloudflare SDK drives the sandbox's RealtimeKit surface: every call must be served."""

from __future__ import annotations

import cloudflare
import pytest

from migrator.sandbox.server import SandboxServer
from tests.conftest import SandboxFactory

from .sdk import rtk_preset, sdk_client


@pytest.fixture
def rtk(sandbox_factory: SandboxFactory) -> tuple[SandboxServer, str, str]:
    server = sandbox_factory(dataset="empty", rate_limit=0)
    creds = server.credentials["realtimekit"]
    return server, creds["account_id"], creds["app_id"]


def test_presets_meetings_participants_webhooks_round_trip(rtk: tuple[SandboxServer, str, str]) -> None:
    server, account, app = rtk
    kit = sdk_client(server).realtime_kit
    body = rtk_preset("host")
    preset = kit.presets.create(app, account_id=account, **body).data
    assert preset is not None and preset.name == "host"
    assert preset.config.media.video.quality == "fhd" and preset.config.view_type == "LIVESTREAM"
    listed = kit.presets.get(app, account_id=account, page_no=1, per_page=10)
    assert [p.name for p in listed.data or []] == ["host"]
    updated = kit.presets.update(preset.id, account_id=account, app_id=app, name="host-2").data
    assert updated is not None and updated.name == "host-2"
    replaced = kit.presets.replace_preset_by_id(preset.id, account_id=account, app_id=app, **{**body, "name": "host-3"})
    assert replaced.data is not None and replaced.data.name == "host-3"
    assert kit.presets.get_preset_by_id(preset.id, account_id=account, app_id=app).data.name == "host-3"  # type: ignore[union-attr]

    meeting = kit.meetings.create(
        app, account_id=account, title="standup", record_on_start=False, session_keep_alive_time_in_secs=120
    ).data
    assert meeting is not None and meeting.title == "standup" and meeting.session_keep_alive_time_in_secs == 120
    meetings = kit.meetings.get(app, account_id=account, page_no=1, per_page=10, status="ACTIVE")
    assert [m.id for m in meetings.data] == [meeting.id]
    assert meetings.paging.total_count == 1
    kit.meetings.update_meeting_by_id(meeting.id, account_id=account, app_id=app, status="INACTIVE")
    got = kit.meetings.get_meeting_by_id(meeting.id, account_id=account, app_id=app).data
    assert got is not None and got.status == "INACTIVE"
    kit.meetings.replace_meeting_by_id(meeting.id, account_id=account, app_id=app, title="retitled")

    person = kit.meetings.add_participant(
        meeting.id, account_id=account, app_id=app, custom_participant_id="u-1", preset_name="host-3", name="Ada"
    ).data
    assert person is not None and person.token and person.preset_name == "host-3"
    people = kit.meetings.get_meeting_participants(meeting.id, account_id=account, app_id=app, page_no=1, per_page=5)
    assert [p.custom_participant_id for p in people.data] == ["u-1"]
    edited = kit.meetings.edit_participant(person.id, account_id=account, app_id=app, meeting_id=meeting.id, name="Ada L.")
    assert edited.data is not None and edited.data.name == "Ada L."
    token = kit.meetings.refresh_participant_token(person.id, account_id=account, app_id=app, meeting_id=meeting.id)
    assert token.data.token and token.data.token != person.token
    one = kit.meetings.get_meeting_participant(person.id, account_id=account, app_id=app, meeting_id=meeting.id)
    assert one.data is not None and one.data.name == "Ada L."
    kit.meetings.delete_meeting_participant(person.id, account_id=account, app_id=app, meeting_id=meeting.id)
    with pytest.raises(cloudflare.NotFoundError):
        kit.meetings.get_meeting_participant(person.id, account_id=account, app_id=app, meeting_id=meeting.id)

    hook = kit.webhooks.create_webhook(
        app,
        account_id=account,
        name="all",
        url="https://hooks.example.invalid/rtk",
        events=["meeting.started", "meeting.summary"],
    ).data
    assert hook is not None and hook.enabled is True
    assert [h.id for h in kit.webhooks.get_webhooks(app, account_id=account).data] == [hook.id]
    kit.webhooks.edit_webhook(hook.id, account_id=account, app_id=app, enabled=False)
    kit.webhooks.replace_webhook(
        hook.id, account_id=account, app_id=app, name="r", url="https://hooks.example.invalid/r", events=["meeting.ended"]
    )
    assert kit.webhooks.get_webhook_by_id(hook.id, account_id=account, app_id=app).data.name == "r"
    kit.webhooks.delete_webhook(hook.id, account_id=account, app_id=app)
    kit.presets.delete(preset.id, account_id=account, app_id=app)
    assert kit.presets.get(app, account_id=account).data == []

    totals = server.stats()["totals"]
    assert totals["rtk"] == totals["all"] and totals["v2"] == 0


def test_apps_are_created_and_listed_and_scope_everything(rtk: tuple[SandboxServer, str, str]) -> None:
    server, account, app = rtk
    kit = sdk_client(server).realtime_kit
    made = kit.apps.post(account_id=account, name="production").data
    assert made is not None and made.app is not None and made.app.name == "production"
    apps = kit.apps.get(account_id=account, sort_order="ASC")
    assert [a.id for a in apps.data] == [app, made.app.id]
    assert [a.name for a in kit.apps.get(account_id=account, search="prod").data] == ["production"]
    # Apps made through the API start empty, and one app does not see another's objects.
    kit.presets.create(made.app.id, account_id=account, **rtk_preset("only-here"))
    assert kit.presets.get(made.app.id, account_id=account).data[0].name == "only-here"
    assert kit.presets.get(app, account_id=account).data == []
    with pytest.raises(cloudflare.NotFoundError):
        kit.meetings.get("0" * 32, account_id=account)


def test_auth_validation_and_errors_reach_the_sdk_as_its_exceptions(rtk: tuple[SandboxServer, str, str]) -> None:
    server, account, app = rtk
    client = sdk_client(server)
    kit = client.realtime_kit
    body = rtk_preset("no-permissions")
    del body["permissions"]  # required in RealtimeKit (optional in Dyte v2): the SDK's raw post sends it anyway
    with pytest.raises(cloudflare.BadRequestError) as missing_permissions:
        client.post(f"/accounts/{account}/realtime/kit/{app}/presets", body=body, cast_to=object)
    assert "permissions" in str(missing_permissions.value)
    with pytest.raises(cloudflare.BadRequestError):
        kit.meetings.create(app, account_id=account, title="x", extra_body={"preferred_region": "ap-south-1"})
    with pytest.raises(cloudflare.PermissionDeniedError):
        kit.meetings.get(app, account_id="f" * 32)
    wrong = cloudflare.Cloudflare(api_token="not-the-token", base_url=f"{server.base_url}/client/v4", max_retries=0)
    with pytest.raises(cloudflare.AuthenticationError):
        wrong.realtime_kit.meetings.get(app, account_id=account)
    kit.presets.create(app, account_id=account, **rtk_preset("dup"))
    with pytest.raises(cloudflare.ConflictError):
        kit.presets.create(app, account_id=account, **rtk_preset("dup"))


def test_realtimekit_has_its_own_rate_limit(sandbox_factory: SandboxFactory) -> None:
    """250 per 10 s at the default scale; here scaled down to 6 per 10 s (rate_limit 48/minute)."""
    server = sandbox_factory(dataset="empty", rate_limit=48)
    creds = server.credentials["realtimekit"]
    kit = sdk_client(server).realtime_kit
    for _ in range(6):
        kit.presets.get(creds["app_id"], account_id=creds["account_id"])
    with pytest.raises(cloudflare.RateLimitError) as throttled:
        kit.presets.get(creds["app_id"], account_id=creds["account_id"])
    assert int(throttled.value.response.headers["retry-after"]) >= 1
