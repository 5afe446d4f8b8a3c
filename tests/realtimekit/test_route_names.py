"""Messages and reports name the run's own source and target (Dyte v2 -> RealtimeKit), not v1 and v2."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from migrator.errors import ConfigError
from migrator.mapping.mapping_set import V1_LAYOUT, V2_IDENTITY_LAYOUT, MappingSet
from migrator.plan import Fingerprints, SavedPlan
from migrator.reports.markdown import markdown
from migrator.settings import Route
from tests.reports.factory import plan_document

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
