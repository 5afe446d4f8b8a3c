"""Every expected finding at its line, nothing on the negatives, advice from the mapping files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from migrator.scan import Finding, scan_paths
from tests.scan.conftest import FIXTURES

URL, ROUTE, AUTH, FIELD, KEY = ("dyte-v1-base-url", "dyte-v1-route", "dyte-v1-auth", "dyte-v1-field", "dyte-hardcoded-credential")

EXPECTED = [
    ("dart/positive.dart", 4, URL),
    ("dart/positive.dart", 8, ROUTE),
    ("dart/positive.dart", 9, AUTH),
    ("dart/positive.dart", 10, FIELD),
    ("dart/positive.dart", 10, FIELD),
    ("dart/positive.dart", 12, FIELD),
    ("groovy/dyte.groovy", 2, URL),
    ("groovy/dyte.groovy", 3, ROUTE),
    ("java/DyteService.java", 7, URL),
    ("java/DyteService.java", 8, KEY),
    ("java/DyteService.java", 12, ROUTE),
    ("java/DyteService.java", 13, AUTH),
    ("java/DyteService.java", 19, FIELD),
    ("java/DyteService.java", 19, FIELD),
    ("js/positive.js", 4, URL),
    ("js/positive.js", 5, KEY),
    ("js/positive.js", 9, ROUTE),
    ("js/positive.js", 11, FIELD),
    ("js/positive.js", 12, FIELD),
    ("js/positive.js", 13, AUTH),
    ("js/positive.js", 14, FIELD),
    ("js/positive.js", 18, ROUTE),
    ("js/positive.js", 21, AUTH),
    ("js/positive.js", 22, FIELD),
    ("js/positive.js", 22, FIELD),
    ("js/positive.js", 25, FIELD),
    ("js/positive.js", 29, ROUTE),
    ("python/positive.py", 4, URL),
    ("python/positive.py", 5, KEY),
    ("python/positive.py", 10, ROUTE),
    ("python/positive.py", 11, FIELD),
    ("python/positive.py", 11, FIELD),
    ("python/positive.py", 12, AUTH),
    ("python/positive.py", 14, FIELD),
    ("python/positive.py", 18, ROUTE),
    ("python/positive.py", 19, AUTH),
    ("ruby/dyte_client.rb", 5, URL),
    ("ruby/dyte_client.rb", 13, ROUTE),
    ("ruby/dyte_client.rb", 14, AUTH),
    ("ruby/dyte_client.rb", 15, FIELD),
    ("ruby/dyte_client.rb", 15, FIELD),
    ("ruby/dyte_client.rb", 17, FIELD),
    ("ruby/dyte_client_spec.rb", 5, ROUTE),
    ("ruby/dyte_client_spec.rb", 6, AUTH),
    ("ruby/dyte_client_spec.rb", 6, KEY),
    ("ruby/dyte_client_spec.rb", 7, FIELD),
    ("ts/positive.ts", 5, URL),
    ("ts/positive.ts", 6, AUTH),
    ("ts/positive.ts", 10, FIELD),
    ("ts/positive.ts", 11, FIELD),
    ("ts/positive.ts", 15, ROUTE),
    ("ts/positive.ts", 16, FIELD),
    ("ts/positive.ts", 16, FIELD),
    ("ts/positive.ts", 19, FIELD),
    ("ts/positive.ts", 20, ROUTE),
    ("ts/positive.ts", 20, FIELD),
]
NEGATIVES = [
    "js/negative.js",
    "ts/negative.ts",
    "python/negative.py",
    "ruby/negative.rb",
    "dart/negative.dart",
    "java/DyteV2Service.java",
    "csharp/DyteParticipant.cs",
]


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return scan_paths([FIXTURES], base=FIXTURES).findings


def _at(findings: list[Finding], path: str, line: int, rule: str) -> list[Finding]:
    return [f for f in findings if (f.path, f.line, f.rule) == (path, line, rule)]


def test_every_expected_finding_at_its_line_and_nothing_else(findings: list[Finding]) -> None:
    assert Counter((f.path, f.line, f.rule) for f in findings) == Counter(EXPECTED)


@pytest.mark.parametrize("path", NEGATIVES)
def test_no_finding_in_negative_files(path: str) -> None:
    """Traps: v2 URLs (also under the old host), preset_name, C# PresetName, the SDK's authToken, Basic/Bearer."""
    assert scan_paths([FIXTURES / path], base=FIXTURES).findings == []


def test_every_finding_says_where_what_instead_why_and_where_to_read(findings: list[Finding]) -> None:
    for f in findings:
        assert f.column >= 1 and f.found and f.replacement and f.why and f.link, f


@pytest.mark.parametrize(
    ("path", "line", "found", "replacement"),
    [
        ("js/positive.js", 9, "POST /organizations/{organizationId}/meeting", "POST https://api.dyte.io/v2/meetings"),
        # assembled from a constant and string pieces; the method from the fetch options
        (
            "js/positive.js",
            18,
            "POST /organizations/{organizationId}/meetings/{meetingId}/participant",
            "POST https://api.dyte.io/v2/meetings/{meeting_id}/participants",
        ),
        # erratum: the guide shows a recordings PUT for deleting a webhook
        (
            "js/positive.js",
            29,
            "DELETE /organizations/{organizationId}/webhooks/{webhookId}",
            "DELETE https://api.dyte.io/v2/webhooks/{webhook_id}",
        ),
        # erratum: v1 updates a meeting with PUT, not PATCH; the method comes from dyte.put(...)
        (
            "ts/positive.ts",
            20,
            "PUT /organizations/{organizationId}/meetings/{meetingId}",
            "PATCH https://api.dyte.io/v2/meetings/{meeting_id}",
        ),
        # erratum: the v2 active recording route is singular
        (
            "python/positive.py",
            18,
            "GET /organizations/{organizationId}/rooms/{roomName}/active-recording",
            "GET https://api.dyte.io/v2/recordings/active-recording/{meeting_id}",
        ),
        ("java/DyteService.java", 12, "POST /organizations/{organizationId}/webhook", "POST https://api.dyte.io/v2/webhooks"),
        (
            "ruby/dyte_client.rb",
            13,
            "POST /organizations/{organizationId}/meetings/{meetingId}/participant",
            "POST https://api.dyte.io/v2/meetings/{meeting_id}/participants",
        ),
        (
            "dart/positive.dart",
            8,
            "POST /organizations/{organizationId}/meetings/{meetingId}/participant",
            "POST https://api.dyte.io/v2/meetings/{meeting_id}/participants",
        ),
    ],
)
def test_route_names_the_v2_operation(findings: list[Finding], path: str, line: int, found: str, replacement: str) -> None:
    (finding,) = _at(findings, path, line, ROUTE)
    assert (finding.found, finding.replacement) == (found, replacement)
    assert finding.link.startswith("mappings/endpoints.yaml:")


def test_errata_say_the_guide_is_wrong(findings: list[Finding]) -> None:
    (finding,) = _at(findings, "ts/positive.ts", 20, ROUTE)
    assert "guide" in finding.why and "PUT" in finding.why


@pytest.mark.parametrize(
    ("found", "replacement"),
    [
        ("clientSpecificId", "custom_participant_id"),
        ("recordOnStart", "record_on_start"),
        ("liveStreamOnStart", "live_stream_on_start"),
        ("userDetails", "userDetails.name -> name, userDetails.picture -> picture"),
    ],
)
def test_field_renames_come_from_the_mapping_rules(findings: list[Finding], found: str, replacement: str) -> None:
    advice = {(f.replacement, f.link.split(":")[0]) for f in findings if f.rule == FIELD and f.found == found}
    assert len(advice) == 1
    ((got, link),) = advice
    assert got == replacement and link in ("mappings/participants.yaml", "mappings/meetings.yaml")


def test_field_advice_links_to_the_rule_line() -> None:
    lines = (Path(__file__).parents[2] / "mappings" / "participants.yaml").read_text().splitlines()
    finding = next(f for f in scan_paths([FIXTURES / "js/positive.js"]).findings if f.found == "clientSpecificId")
    line = int(finding.link.rsplit(":", 1)[1])
    assert "from: clientSpecificId" in lines[line - 1]


def test_response_shape_advice(findings: list[Finding]) -> None:
    (finding,) = _at(findings, "js/positive.js", 25, FIELD)
    assert finding.found == "authResponse" and finding.replacement.startswith("data.token")
    (room,) = _at(findings, "js/positive.js", 14, FIELD)
    assert room.found == "roomName" and "meeting id" in room.replacement


def test_comments_are_not_code(findings: list[Finding]) -> None:
    """js line 1 and groovy line 1 (text fallback) hold v1 URLs in comments."""
    assert not _at(findings, "js/positive.js", 1, ROUTE) and not _at(findings, "groovy/dyte.groovy", 1, URL)


def test_realtimekit_target_suggests_its_host_and_bearer() -> None:
    found = scan_paths([FIXTURES / "js/positive.js"], target="realtimekit").findings
    route = next(f for f in found if f.rule == ROUTE)
    assert route.replacement == ("POST https://api.cloudflare.com/client/v4/accounts/{account_id}/realtime/kit/{app_id}/meetings")
    assert all("Bearer" in f.replacement for f in found if f.rule == AUTH)


def test_method_left_open_lists_each_operation(tmp_path: Path) -> None:
    (tmp_path / "hooks.js").write_text('const u = "https://api.dyte.io/v1/organizations/o/webhooks/" + id;\n')
    (finding,) = scan_paths([tmp_path], base=tmp_path).findings
    assert finding.rule == ROUTE
    for operation in ("GET -> GET", "PUT -> PUT", "PUT -> PATCH", "DELETE -> DELETE"):
        assert operation in finding.replacement


def test_a_file_that_never_says_dyte_is_not_examined(tmp_path: Path) -> None:
    (tmp_path / "auth0.js").write_text("fetch(`/api/v2/organizations/${id}/meetings`, {headers: {Authorization: k}});\n")
    assert scan_paths([tmp_path]).findings == []
