"""`scan --target realtimekit`: v1 and Dyte v2 code alike, the RealtimeKit host, auth, routes and names."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import cloudflare
import pytest
import yaml

from migrator.mapping.mapping_set import default_directory
from migrator.scan import scan_paths
from tests.scan.conftest import FIXTURES
from tests.scan.test_cli import Run

RTK_BASE = "https://api.cloudflare.com/client/v4/accounts/{account_id}/realtime/kit/{app_id}"
RECEIVER = """\
// Dyte webhook receiver, and the meeting it books
const signature = req.headers["dyte-signature"]; // dyte-uuid is in a comment: not code
const delivery = req.headers["dyte-uuid"];
const meeting = {title: "Demo", preferred_region: "ap-south-1", recording_config: {dyte_bucket_config: {enabled: true}}};
"""


def _sdk_routes() -> set[tuple[str, str]]:
    """(METHOD, path below the app) of every RealtimeKit call the official SDK makes, placeholders as {}."""
    calls = re.compile(
        r'self\._(get|post|put|patch|delete)\(\s*path_template\(\s*"/accounts/\{account_id\}/realtime/kit/\{app_id\}([^"]*)"'
    )
    found: set[tuple[str, str]] = set()
    for module in (Path(cloudflare.__file__).parent / "resources" / "realtime_kit").rglob("*.py"):
        for method, path in calls.findall(module.read_text(encoding="utf-8")):
            found.add((method.upper(), re.sub(r"\{[^}]*\}", "{}", path)))
    return found


def test_every_v2_route_the_scan_suggests_is_served_by_realtimekit() -> None:
    """scan.yaml's claim that RealtimeKit serves each v2 route of endpoints.yaml unchanged, checked against the SDK."""
    table = yaml.safe_load((default_directory() / "endpoints.yaml").read_text(encoding="utf-8"))
    v2 = {(m, re.sub(r"\{[^}]*\}", "{}", p)) for m, _, p in (r["v2"].partition(" ") for r in table["endpoints"] if r["v2"])}
    sdk = _sdk_routes()
    assert len(sdk) > 20  # the SDK's layout was read (a changed layout must fail here, not pass empty)
    assert v2 - sdk == set()


def test_dyte_v2_code_gets_the_realtimekit_host_and_bearer_and_keeps_its_routes() -> None:
    """The Dyte v2 fixture has nothing to change for a v2 target; for RealtimeKit its host and Basic auth change."""
    v2_code = FIXTURES / "java/DyteV2Service.java"
    assert scan_paths([v2_code], target="dyte-v2", base=FIXTURES).findings == []
    found = scan_paths([v2_code], target="realtimekit", base=FIXTURES).findings
    assert [(f.line, f.rule, f.replacement) for f in found] == [
        (7, "dyte-v2-base-url", RTK_BASE),
        (13, "dyte-v2-auth", "Authorization: Bearer <Cloudflare API token with the Realtime permission>"),
    ]


def test_names_realtimekit_changes_are_found_outside_comments(tmp_path: Path) -> None:
    (tmp_path / "receiver.js").write_text(RECEIVER)
    assert scan_paths([tmp_path], target="dyte-v2", base=tmp_path).findings == []
    found = scan_paths([tmp_path], target="realtimekit", base=tmp_path).findings
    named = {(f.line, f.found): f.replacement for f in found if f.rule == "dyte-target-name"}
    assert set(named) == {(2, "dyte-signature"), (3, "dyte-uuid"), (4, "preferred_region"), (4, "dyte_bucket_config")}
    assert named[(2, "dyte-signature")].startswith("rtk-signature") and named[(3, "dyte-uuid")].startswith("rtk-uuid")
    assert named[(4, "dyte_bucket_config")] == "realtimekit_bucket_config"


def test_the_config_file_target_chooses_realtimekit_for_scan(run_scan: Run, tmp_path: Path) -> None:
    config = tmp_path / "dyte-migrate.toml"
    config.write_text('target = "realtimekit"\n')
    result = run_scan("--config", str(config), "app/java", "--format", "json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert document["target"] == "realtimekit"
    rules = Counter(f["rule"] for f in document["findings"])
    assert rules["dyte-v2-base-url"] == 1 and rules["dyte-v2-auth"] == 1 and rules["dyte-v1-base-url"] == 1
    assert all(RTK_BASE in f["replacement"] for f in document["findings"] if f["rule"].endswith(("base-url", "route")))


@pytest.mark.parametrize("target", ["dyte-v2", "realtimekit"])
def test_a_v1_operation_with_no_counterpart_names_the_target(tmp_path: Path, target: str) -> None:
    (tmp_path / "logs.py").write_text('DYTE = "https://api.dyte.io/v1/organizations/o/webhooks/w/logs"\n')
    (finding,) = scan_paths([tmp_path], target=target, base=tmp_path).findings
    assert finding.replacement.startswith(f"no {'v2' if target == 'dyte-v2' else 'RealtimeKit'} route:")
