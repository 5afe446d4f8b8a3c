"""Reports of real runs: plan, migrate, verify, a changed org re-planned, and a dirty verify."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jsonschema
import pytest

from migrator.api import Outcome
from migrator.reports import load_schema

from .chromium import Chromium
from .factory import HOSTILE_TITLE
from .pipeline import Pipeline

STEPS = [("plan", "plan"), ("migrate", "migrate"), ("verify", "verify"), ("replan", "plan"), ("reverify", "verify")]


@dataclass
class Scenario:
    pipeline: Pipeline
    step_summary: Path
    outcomes: dict[str, Outcome]
    folders: dict[str, Path]
    renamed_meeting: str
    conflicted_meeting: str

    def report(self, step: str, name: str, ext: str) -> Path:
        return self.folders[step] / f"{name}.{ext}"

    def json(self, step: str, name: str) -> dict:
        return json.loads(self.report(step, name, "json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    """plan -> migrate -> verify (clean) -> v1 and v2 edited -> plan (update, conflict) -> verify (mismatch)."""
    workdir = tmp_path_factory.mktemp("pipeline")
    step_summary = workdir / "step-summary.md"
    pipeline = Pipeline.start(workdir, meetings=12, participants=4)
    outcomes: dict[str, Outcome] = {}
    folders: dict[str, Path] = {}
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("GITHUB_STEP_SUMMARY", str(step_summary))
            for step, command in (("plan", "plan"), ("migrate", "migrate"), ("verify", "verify")):
                outcomes[step], folders[step] = pipeline.run(command, step)
            meetings = json.loads((folders["plan"] / "plan.json").read_text())["entities"]
            renamed, conflicted = [m["key"] for m in meetings if m["kind"] == "meeting"][2:4]
            v2_ids = {m["key"]: m["v2_id"] for m in json.loads((folders["verify"] / "verify.json").read_text())["mismatches"]}
            assert not v2_ids  # the first verify is clean
            conn = sqlite3.connect(workdir / "ledger.sqlite")
            conflicted_v2 = conn.execute(
                "SELECT v2_id FROM entities WHERE kind = 'meeting' AND key = ?", (conflicted,)
            ).fetchone()[0]
            conn.close()
            pipeline.v1("PUT", f"/meetings/{renamed}", {"title": "Renamed in v1"})
            pipeline.v1("PUT", f"/meetings/{conflicted}", {"title": "Renamed in v1 too"})
            pipeline.v2("PATCH", f"/meetings/{conflicted_v2}", {"title": "Changed in v2 by someone else"})
            for step, command in (("replan", "plan"), ("reverify", "verify")):
                outcomes[step], folders[step] = pipeline.run(command, step)
        yield Scenario(pipeline, step_summary, outcomes, folders, renamed, conflicted)
    finally:
        pipeline.stop()


def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(), format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize("step,name", STEPS)
def test_every_report_of_a_real_run_validates_against_the_published_schema(scenario: Scenario, step: str, name: str) -> None:
    assert scenario.outcomes[step].reports == [str(scenario.report(step, name, ext)) for ext in ("json", "md", "html")]
    _validator().validate(scenario.json(step, name))


def test_the_plan_report_has_every_section_the_issue_asks_for(scenario: Scenario) -> None:
    plan = scenario.json("plan", "plan")
    assert plan["counts"]["participant"]["create"] == scenario.outcomes["plan"].counts["participant"]["create"]
    assert {t["note"] for t in plan["transformations"]} >= {"lossy", "dropped", "renamed"}
    lossy = next(t for t in plan["transformations"] if t["note"] == "lossy" and t["source"] == "role.produce.video.frameRate")
    assert lossy["examples"][0]["before"] == 60 and lossy["examples"][0]["after"] == 30
    assert sum(r["participants"] for r in plan["relocation"]) == plan["counts"]["participant"]["create"]
    assert {"participant", "meeting"} <= {s for r in plan["relocation"] for s in r["by_source"]}
    assert any(r["waiting_room"] for r in plan["relocation"]) and any(r["role"] for r in plan["relocation"])
    assert any(r["download_url"] and r["download_url_expiry"] for r in plan["recordings"])
    assert {r["v1_meeting"] for r in plan["recordings"]} <= {e["key"] for e in plan["entities"] if e["kind"] == "meeting"}
    assert any(c["field"] == "participant.customParticipantId" for c in plan["webhook_payload_changes"])
    delete_webhook = next(e for e in plan["endpoints"] if e["action"].lower().startswith("delete a webhook"))
    assert delete_webhook["corrects_guide"] and delete_webhook["v2"] == "DELETE /webhooks/{webhook_id}"
    meeting = next(e for e in plan["entities"] if e["kind"] == "meeting" and e["label"] == HOSTILE_TITLE)
    assert {n["source"] for n in meeting["notes"]} >= {"roomName", "status"}


def test_a_replan_shows_field_level_diffs_for_updates_and_conflicts(scenario: Scenario) -> None:
    plan = scenario.json("replan", "plan")
    rows = {e["key"]: e for e in plan["entities"] if e["kind"] == "meeting"}
    update, conflict = rows[scenario.renamed_meeting], rows[scenario.conflicted_meeting]
    assert update["action"] == "update"
    title = next(c for c in update["changes"] if c["path"] == "title")
    assert title["change"] == "values_changed" and title["wanted"] == "Renamed in v1" and title["v2"] != "Renamed in v1"
    assert conflict["action"] == "conflict" and "title" in conflict["reason"]
    assert any(c["path"] == "title" and c["v2"] == "Changed in v2 by someone else" for c in conflict["changes"])
    assert {(c["key"], c["action"]) for c in plan["changed"]} == {
        (scenario.renamed_meeting, "update"),
        (scenario.conflicted_meeting, "conflict"),
    }
    markdown = scenario.report("replan", "plan", "md").read_text()
    assert "### Updates and conflicts (2)" in markdown


def test_migrate_reports_what_it_did_entity_by_entity(scenario: Scenario) -> None:
    report = scenario.json("migrate", "migrate")
    created = [e for e in report["events"] if e["event"] == "created"]
    status_set = report["journal"].get("meeting", {}).get("status-set", 0)  # CLOSED meetings: create, then set INACTIVE
    assert report["status"] == "complete" and len(created) == report["writes"] - status_set
    assert all(e["v2_id"] for e in created)


def test_verify_is_one_line_when_clean_and_lists_each_mismatch_with_its_diff(scenario: Scenario) -> None:
    clean = scenario.report("verify", "verify", "md").read_text()
    assert clean.count("\n") == 1 and "clean" in clean
    dirty = scenario.json("reverify", "verify")
    mismatched = {m["key"]: m for m in dirty["mismatches"]}
    assert set(mismatched) == {scenario.renamed_meeting, scenario.conflicted_meeting}
    assert mismatched[scenario.renamed_meeting]["changes"][0]["wanted"] == "Renamed in v1"
    assert f"### Mismatches ({len(mismatched)})" in scenario.report("reverify", "verify", "md").read_text()


def test_the_step_summary_collects_each_command_in_order(scenario: Scenario) -> None:
    text = scenario.step_summary.read_text()
    markers = ("## dyte-migrate plan", "## dyte-migrate migrate", "**dyte-migrate verify** clean")
    order = [text.index(marker) for marker in markers]
    assert order == sorted(order)
    assert len(text.encode()) < 1_000_000


def test_no_api_key_or_participant_token_appears_in_any_report(scenario: Scenario) -> None:
    """Canaries: both API keys (raw and as the Basic header), every v2 participant token, the v1 org access token."""
    creds = scenario.pipeline.server.credentials
    canaries = {creds[side]["api_key"] for side in ("v1", "v2")}
    canaries.add(base64.b64encode(f"{creds['v2']['org_id']}:{creds['v2']['api_key']}".encode()).decode())
    tokens = set(scenario.pipeline.server.app.store.orgs.v2.tokens.values())
    assert len(tokens) >= 40  # every migrated participant got one
    canaries |= tokens
    access_token = scenario.pipeline.server.app.store.orgs.v1.organization["accessToken"]  # v1 presets embed it
    conn = sqlite3.connect(scenario.pipeline.workdir / "ledger.sqlite")
    snapshot = "".join(row[0] for row in conn.execute("SELECT data FROM snapshot"))
    conn.close()
    assert access_token not in snapshot and "(secret: not stored)" in snapshot  # removed before it was stored
    canaries.add(access_token)
    files = [p for folder in scenario.folders.values() for p in folder.iterdir()] + [scenario.step_summary]
    assert len(files) == 3 * len(scenario.folders) + 1
    for path in files:
        text = path.read_text(encoding="utf-8")
        leaked = [c for c in canaries if c in text]
        assert not leaked, f"{path.name} holds {len(leaked)} secrets"


@pytest.mark.browser
def test_real_reports_open_in_chromium_without_errors(scenario: Scenario, browser: Chromium) -> None:
    for step, name in STEPS:
        browser.open(scenario.report(step, name, "html"))
        browser.drain()
        assert browser.evaluate("document.getElementById('headline').textContent") == scenario.json(step, name)["headline"]
    assert browser.problems.console_errors == [] and browser.problems.dialogs == []
