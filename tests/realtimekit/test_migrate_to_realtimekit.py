"""v1 -> RealtimeKit through the real CLI against the real sandbox, read back with the official SDK."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from migrator.errors import EXIT_OK, EXIT_USAGE
from tests.conftest import SandboxFactory
from tests.integration.helpers import V1, Workspace

from .sdk import sdk_client


def _all(list_page: Any) -> list[Any]:
    """Every item of an SDK listing (the SDK has no auto-pagination for RealtimeKit)."""
    items: list[Any] = []
    page_no = 1
    while True:
        page = list_page(page_no)
        items.extend(page.data or [])
        if not page.data or page.paging.end_offset >= page.paging.total_count:
            return items
        page_no += 1


def test_migrated_meetings_and_participants_read_back_through_the_sdk_match_v1(
    tmp_path: Any, sandbox_factory: SandboxFactory
) -> None:
    org = sandbox_factory(rate_limit=0, meetings=9, participants=4)
    ws = Workspace.for_sandbox(tmp_path, org, "realtimekit")
    planned, _ = ws.run("plan")
    assert planned.exit_code == EXIT_OK, planned.output
    # The plan names the overlay it applied and tells webhook receivers what RealtimeKit changes.
    report = (ws.reports / "plan.md").read_text(encoding="utf-8")
    assert "with the overlay targets/realtimekit.yaml applied" in report
    changes = {c["field"]: c["change"] for c in json.loads((ws.reports / "plan.json").read_text())["webhook_payload_changes"]}
    assert (
        "rtk-signature" in changes["header: dyte-signature"] and "/.well-known/webhooks.json" in changes["header: dyte-signature"]
    )
    assert "rtk-uuid" in changes["header: dyte-uuid"] and "rtk-webhook-id" in changes["header: dyte-uuid"]
    assert "customParticipantId" in changes["participant.customParticipantId"]
    result, migrated = ws.run("migrate")
    assert result.exit_code == EXIT_OK, result.output
    assert migrated is not None and migrated["status"] == "complete"

    creds = org.credentials["realtimekit"]
    account, app = creds["account_id"], creds["app_id"]
    kit = sdk_client(org).realtime_kit
    v1 = V1(org)
    v1_meetings = v1.all("/meetings", "meetings")
    rtk_meetings = _all(lambda n: kit.meetings.get(app, account_id=account, page_no=n, per_page=4))
    # Titles and statuses: v1 CREATED/LIVE -> ACTIVE, CLOSED -> INACTIVE (mappings/meetings.yaml).
    status = {"CREATED": "ACTIVE", "LIVE": "ACTIVE", "CLOSED": "INACTIVE"}
    assert Counter((m["title"], status[m["status"]], bool(m.get("recordOnStart"))) for m in v1_meetings) == Counter(
        (m.title, m.status, bool(m.record_on_start)) for m in rtk_meetings
    )

    presets = {p.name for p in _all(lambda n: kit.presets.get(app, account_id=account, page_no=n, per_page=10))}
    by_title = {m.title: m for m in rtk_meetings}
    for meeting in v1_meetings:
        want = Counter(
            (p.get("clientSpecificId") or p["id"], p.get("name"), p.get("picture"))
            for p in v1.all(f"/meetings/{meeting['id']}/participants", "participants")
        )
        target = by_title[meeting["title"]]
        people = _all(
            lambda n, meeting_id=target.id: kit.meetings.get_meeting_participants(
                meeting_id, account_id=account, app_id=app, page_no=n, per_page=3
            )
        )
        assert Counter((p.custom_participant_id, p.name, p.picture) for p in people) == want
        assert all(p.preset_name in presets for p in people)
        for person in people[:1]:  # one by id, as an application would after export-ids
            one = kit.meetings.get_meeting_participant(person.id, account_id=account, app_id=app, meeting_id=target.id)
            assert one.data is not None and one.data.custom_participant_id == person.custom_participant_id
    assert org.stats()["totals"]["v2_writes"] == 0  # nothing went to Dyte v2


def _without_app_id(tmp_path: Any, org: Any) -> Workspace:
    """A workspace whose RealtimeKit credentials name the account but no app (`--create-app` makes one)."""
    creds = org.credentials
    rtk = creds["realtimekit"]
    creds["realtimekit"] = {
        "account_id": rtk["account_id"],
        "api_token": rtk["api_token"],
        "base_url": rtk["base_url"].rsplit("/", 1)[0] + "/{app_id}",
    }
    ws = Workspace.for_sandbox(tmp_path, org, "realtimekit")
    ws.credentials.write_text(json.dumps(creds))
    return ws


def test_create_app_makes_one_app_and_reuses_it(tmp_path: Any, sandbox_factory: SandboxFactory) -> None:
    org = sandbox_factory(rate_limit=0, meetings=2, participants=2)
    rtk = org.credentials["realtimekit"]
    ws = _without_app_id(tmp_path, org)
    kit = sdk_client(org).realtime_kit
    account = rtk["account_id"]

    missing, _ = ws.run("migrate")
    assert missing.exit_code == EXIT_USAGE and "REALTIMEKIT_APP_ID" in missing.stderr

    first, _ = ws.run("--create-app", "production", "migrate")
    assert first.exit_code == EXIT_OK, first.output
    made = [a for a in kit.apps.get(account_id=account).data if a.name == "production"]
    assert len(made) == 1 and f"realtimekit app {made[0].id} (created)" in first.stderr
    assert len(_all(lambda n: kit.meetings.get(made[0].id, account_id=account, page_no=n, per_page=50))) == 2
    assert _all(lambda n: kit.meetings.get(rtk["app_id"], account_id=account, page_no=n, per_page=50)) == []

    again, outcome = ws.run("--create-app", "production", "migrate")
    assert again.exit_code == EXIT_OK and "reused" in again.stderr
    assert outcome is not None and all(c["created"] == 0 for c in outcome["counts"].values())
    assert [a.name for a in kit.apps.get(account_id=account).data].count("production") == 1


def test_create_app_whose_answer_is_lost_adopts_the_app_and_never_makes_a_second(
    tmp_path: Any, sandbox_factory: SandboxFactory
) -> None:
    """Every write commits, then the connection drops: the POST /apps answer never arrives."""
    org = sandbox_factory(rate_limit=0, meetings=1, participants=0, faults="commit-then-drop:1")
    ws = _without_app_id(tmp_path, org)
    kit = sdk_client(org).realtime_kit
    account = org.credentials["realtimekit"]["account_id"]

    first, _ = ws.run("--create-app", "production", "plan")
    made = [a for a in kit.apps.get(account_id=account).data if a.name == "production"]
    assert len(made) == 1
    assert first.exit_code == EXIT_OK, first.output
    assert f"realtimekit app {made[0].id} (adopted" in first.stderr

    again, _ = ws.run("--create-app", "production", "plan")
    assert again.exit_code == EXIT_OK and "reused" in again.stderr
    assert [a.name for a in kit.apps.get(account_id=account).data].count("production") == 1
    assert org.stats()["totals"]["faults"] == {"commit-then-drop": 1}  # one POST /apps in all
