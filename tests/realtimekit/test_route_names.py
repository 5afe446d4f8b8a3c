"""Messages, notes and reports name the run's own source and target (Dyte v1 or v2 -> RealtimeKit), not v1 and v2."""

from __future__ import annotations

import functools
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from migrator.api import status
from migrator.errors import ConfigError, MappingFileError
from migrator.ledger import Ledger
from migrator.mapping import PresetCatalog, Unmappable
from migrator.mapping.mapping_set import V1_LAYOUT, V2_IDENTITY_LAYOUT, MappingSet
from migrator.model import Kind
from migrator.plan import Fingerprints, Planner, SavedPlan
from migrator.reports import write_report
from migrator.reports.markdown import markdown
from migrator.settings import Route
from tests.mapping.helpers import MAPPINGS, sample_org
from tests.reports.factory import migrate_document, plan_document

V2_TO_RTK = Route("dyte-v2", "realtimekit", "targets/realtimekit.yaml")


@pytest.mark.parametrize(
    ("target", "layout", "route"),
    [
        ("dyte-v2", V1_LAYOUT, {"source": "dyte-v1", "target": "dyte-v2", "overlay": None}),
        ("realtimekit", V1_LAYOUT, {"source": "dyte-v1", "target": "realtimekit", "overlay": "targets/realtimekit.yaml"}),
        ("realtimekit", V2_IDENTITY_LAYOUT, V2_TO_RTK.as_dict()),
    ],
)
def test_the_mappings_know_the_route_they_were_loaded_for(target: str, layout, route: dict) -> None:
    assert MappingSet.load(target=target, layout=layout).route.as_dict() == route


def test_each_profile_has_a_display_name() -> None:
    assert (V2_TO_RTK.source_title, V2_TO_RTK.target_title, str(V2_TO_RTK)) == ("Dyte v2", "RealtimeKit", "Dyte v2 → RealtimeKit")
    assert str(Route("dyte-v1", "dyte-v2")) == "Dyte v1 → Dyte v2"


def test_a_stale_saved_plan_names_the_source_and_target_that_changed(tmp_path: Path) -> None:
    then = Fingerprints("source-a", "target-a", "maps", "1.0")
    saved = SavedPlan(tmp_path / "reviewed.plan.json", then, [])
    with pytest.raises(ConfigError) as caught:
        saved.check(Fingerprints("source-b", "target-b", "maps", "1.0"), [], V2_TO_RTK)
    message = str(caught.value)
    assert "Dyte v2 changed, RealtimeKit changed since it was made" in message
    assert not re.search(r"(?<!Dyte )\bv[12]\b", message)


def test_the_markdown_plan_of_a_v2_to_realtimekit_run_names_both_in_its_headings() -> None:
    text = markdown(plan_document(route=V2_TO_RTK))
    assert text.startswith("## dyte-migrate plan (Dyte v2 → RealtimeKit): ")
    assert "### What RealtimeKit cannot hold as it is" in text
    assert "Read from Dyte v2: " in text
    headings = [line for line in text.splitlines() if line.startswith("#") or line.startswith("| kind")]
    assert headings and not [line for line in headings if re.search(r"(?<!Dyte )\bv[12]\b", line)]


# -- the mapping engine, the compiler, the planner and the HTML rows name the route too -------------

V1_TO_RTK = Route("dyte-v1", "realtimekit", "targets/realtimekit.yaml")
BARE_VERSION = re.compile(r"(?<!Dyte )\bv[12]\b")  # "v2" alone; "Dyte v2" names the API


@functools.cache
def _mappings(target: str, source: str = "dyte-v1") -> MappingSet:
    return MappingSet.load(target=target, layout={"dyte-v1": V1_LAYOUT, "dyte-v2": V2_IDENTITY_LAYOUT}[source])


def _engine_messages(mappings: MappingSet, meeting_status: str) -> dict[str, str]:
    """The engine's own notes and refusals (not the mapping files' reasons), by the field they are about."""
    meeting = mappings.map_meeting({"title": 5, "status": meeting_status, "unknownField": 1})
    webhook = mappings.map_webhook({"name": "n", "url": "https://x.io", "events": ["meeting.started", "bogus.event"]})
    found = {
        n.source or "": n.reason for n in [*meeting.notes, *webhook.notes] if n.source in ("title", "unknownField", "events")
    }
    with pytest.raises(Unmappable) as refused:
        mappings.map_webhook({"name": "n", "events": []})
    return found | {"url": refused.value.reason}


@pytest.mark.parametrize(("target", "title"), [("dyte-v2", "Dyte v2"), ("realtimekit", "RealtimeKit")])
def test_the_notes_of_a_v1_org_name_the_target_it_moves_to(target: str, title: str) -> None:
    messages = _engine_messages(_mappings(target), "LIVE")
    assert messages["title"] == "unusable Dyte v1 value: expected a string"
    assert messages["unknownField"].startswith("not a Dyte v1 spec field and no rule in meetings.yaml")
    assert messages["events"] == f"'bogus.event' has no {title} counterpart; dropped from the list"
    assert messages["url"] == f"webhook url is missing; {title} url needs url"
    assert not [m for m in messages.values() if BARE_VERSION.search(m)]
    if target == "realtimekit":
        assert not [m for m in messages.values() if "v2" in m], messages


def test_the_notes_of_a_v2_org_name_dyte_v2_as_the_source() -> None:
    messages = _engine_messages(_mappings("realtimekit", "dyte-v2"), "ACTIVE")
    assert messages["title"] == "unusable Dyte v2 value: expected a string"
    assert messages["unknownField"].startswith("not a Dyte v2 spec field and no rule in meetings.yaml")
    assert messages["events"] == "'bogus.event' has no RealtimeKit counterpart; dropped from the list"


@pytest.mark.parametrize(("target", "title"), [("dyte-v2", "Dyte v2"), ("realtimekit", "RealtimeKit")])
def test_a_rounded_value_and_a_preset_choice_name_the_target(target: str, title: str) -> None:
    presets, roles = sample_org()
    for role in [*(p["document"]["role"] for p in presets), *(r["document"] for r in roles)]:
        role["role"].setdefault("produce", {}).setdefault("video", {})["frameRate"] = 24.4
    catalog = PresetCatalog(presets, roles)
    mappings = _mappings(target)
    choice = mappings.base_presets(catalog)[0]
    assert choice.reason == f"every v1 preset gets its {title} counterpart, used or not"
    rounded = [n for n in mappings.map_preset(choice, catalog).notes if n.target == "config.media.video.frame_rate"]
    assert [(n.before, n.after, n.reason) for n in rounded] == [
        (24.4, 24, f"{title} takes a whole number here; the Dyte v1 value was rounded")
    ]


def test_a_bad_mapping_edit_names_the_target_whose_spec_refuses_it(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    meetings = folder / "meetings.yaml"
    meetings.write_text(meetings.read_text().replace("        to: title\n", "        to: titel\n", 1))
    with pytest.raises(MappingFileError) as caught:
        MappingSet.load(folder, target="realtimekit")
    assert caught.value.problem.startswith("RealtimeKit ") and "has no field 'titel'" in caught.value.problem


def test_the_planner_says_which_target_a_refused_preset_was_for(tmp_path: Path) -> None:
    """A participant whose preset cannot be mapped is unmappable too, and the reason names RealtimeKit."""
    with Ledger.open(tmp_path / "ledger.sqlite", ("v2-org", "account/app")) as ledger:
        run = ledger.start_run("plan")
        ledger.put_snapshot(run, "meeting", [("m1", None, {"id": "m1", "title": "T", "status": "ACTIVE"})])
        participant = {"id": "p1", "meetingId": "m1", "name": "x", "custom_participant_id": "c1", "preset_name": "host"}
        ledger.put_snapshot(run, "participant", [("p1", "m1", participant)])
        ledger.put_snapshot(run, "preset", [("host-id", None, {"id": "host-id", "name": "host"})])  # no config
        ledger.finish_snapshot(run)
        Planner(ledger, _mappings("realtimekit", "dyte-v2"), None).map_all()
        preset, refused = ledger.entity(Kind.PRESET, "host"), ledger.entity(Kind.PARTICIPANT, "p1")
    assert preset is not None and preset.reason == (
        "preset config.view_type is missing; RealtimeKit config.view_type needs config.view_type"
    )
    assert refused is not None and refused.reason == "its RealtimeKit preset host cannot be mapped"


def _embedded(page: str, element_id: str) -> Any:
    found = re.search(rf'<script type="application/json" id="{element_id}">(.*?)</script>', page, re.S)
    assert found, element_id
    return json.loads(found.group(1))


def test_the_html_rows_label_ids_fields_and_values_by_the_route(tmp_path: Path) -> None:
    """The page's script labels a row's ids, notes and body with these titles (report.js)."""
    write_report(tmp_path, "migrate", migrate_document(route=V1_TO_RTK))
    page = (tmp_path / "migrate.html").read_text(encoding="utf-8")
    names, rows = _embedded(page, "report-names"), _embedded(page, "report-rows")
    assert names["titles"] == {"source": "Dyte v1", "target": "RealtimeKit"}
    assert [r[4] for r in rows if r[1] == names["actions"].index("created")] == ["RealtimeKit id v2-1", "RealtimeKit id v2-2"]


def test_status_does_not_guess_which_source_an_unfinished_extract_read(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, ("org", "account/app")) as ledger:  # a ledger from before routes were recorded
        ledger.start_run("migrate")  # the extract never finished
    outcome = status(path)
    assert outcome.message == "the last extract did not finish: run migrate to read the source again"
    assert outcome.details["route"] == {"source": None, "target": None}


def test_status_names_the_source_the_ledger_recorded(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger.open(path, ("org", "account/app")) as ledger:
        ledger.record_route("dyte-v2", "realtimekit")
        ledger.start_run("migrate")
    outcome = status(path)
    assert outcome.message == "the last extract did not finish: run migrate to read Dyte v2 again"
    assert outcome.details["route"] == {"source": "dyte-v2", "target": "realtimekit"}
