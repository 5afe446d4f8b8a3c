"""mappings/endpoints.yaml against both spec files and the guide's endpoint table."""

from __future__ import annotations

import re

import pytest

from migrator.mapping import EndpointRule, MappingSet
from migrator.mapping.filemodels import normalize_operation

from .helpers import SPECS, V1_FILES, spec

METHODS = ("get", "post", "put", "patch", "delete")
ROW = re.compile(
    r"^\|\s*([^|]+?)\s*\|\s*((?:GET|POST|PUT|PATCH|DELETE) [^|]+?)\s*\|\s*((?:GET|POST|PUT|PATCH|DELETE) [^|]+?)\s*\|$"
)


def operations(file: str) -> set[str]:
    return {f"{method.upper()} {path}" for path, item in spec(file)["paths"].items() for method in item if method in METHODS}


def guide_rows() -> list[tuple[str, str, str]]:
    text = (SPECS / "v2-migration-guide.mdx").read_text()
    table = text.split("## Dyte API endpoint map", 1)[1]
    return [tuple(c.replace("\\{", "{").replace("\\}", "}") for c in m.groups()) for m in map(ROW.match, table.splitlines()) if m]  # type: ignore[misc]


@pytest.fixture(scope="module")
def endpoints(mapping_set: MappingSet) -> list[EndpointRule]:
    return mapping_set.endpoints


def by_action(endpoints: list[EndpointRule], action: str) -> EndpointRule:
    return next(rule for rule in endpoints if rule.action == action)


def test_every_v1_operation_exists_in_the_spec_file_named(endpoints: list[EndpointRule]) -> None:
    for rule in endpoints:
        if rule.v1 is not None:
            assert rule.spec is not None and rule.v1 in operations(rule.spec), f"{rule.action}: {rule.v1} is not in {rule.spec}"


def test_every_v2_operation_exists_in_the_v2_spec(endpoints: list[EndpointRule]) -> None:
    v2 = operations("dyte-v2.yaml")
    for rule in endpoints:
        if rule.v2 is not None:
            assert rule.v2 in v2, f"{rule.action}: {rule.v2} is not in dyte-v2.yaml"


def test_every_v1_operation_of_both_spec_files_is_mapped(endpoints: list[EndpointRule]) -> None:
    mapped = {normalize_operation(rule.v1, "") for rule in endpoints if rule.v1}
    every = {normalize_operation(op, "") for file in V1_FILES for op in operations(file)}
    assert every - mapped == set()


def test_the_guide_table_is_parsed() -> None:
    rows = guide_rows()
    assert len(rows) == 22
    assert (
        "Delete a webhook",
        "PUT /v1/organizations/{organizationId}/meetings/{meetingId}/recordings/{recordingId}",
        "PUT /v2/recordings/{recording_id}",
    ) in rows


def test_every_guide_row_is_recorded_as_printed(endpoints: list[EndpointRule]) -> None:
    recorded = {(rule.action, rule.guide.v1, rule.guide.v2) for rule in endpoints if rule.guide is not None}
    assert recorded == set(guide_rows())


def test_a_guide_route_missing_from_the_specs_is_never_repeated(endpoints: list[EndpointRule]) -> None:
    """Where the guide names a route the specs lack, the map must differ and say why."""
    v1 = {normalize_operation(op, "") for file in V1_FILES for op in operations(file)}
    v2 = {normalize_operation(op, "") for op in operations("dyte-v2.yaml")}
    for rule in endpoints:
        if rule.guide is None:
            continue
        wrong_v1 = normalize_operation(rule.guide.v1, "/v1") not in v1
        wrong_v2 = normalize_operation(rule.guide.v2, "/v2") not in v2
        if wrong_v1 or wrong_v2:
            assert rule.differs_from_guide and rule.erratum, f"{rule.action}: the guide's route does not exist, yet no erratum"


@pytest.mark.parametrize(
    ("action", "v1", "v2"),
    [
        (
            "Delete a webhook",
            "DELETE /organizations/{organizationId}/webhooks/{webhookId}",
            "DELETE /webhooks/{webhook_id}",
        ),
        (
            "Fetch details of all the webhooks in an org",
            "GET /organizations/{organizationId}/webhooks",
            "GET /webhooks",
        ),
        (
            "Update details of a meeting",
            "PUT /organizations/{organizationId}/meetings/{meetingId}",
            "PATCH /meetings/{meeting_id}",
        ),
        ("Edit a webhook", "PUT /organizations/{organizationId}/webhooks/{webhookId}", "PATCH /webhooks/{webhook_id}"),
        (
            "Fetch details of an active recording in a meeting",
            "GET /organizations/{organizationId}/rooms/{roomName}/active-recording",
            "GET /recordings/active-recording/{meeting_id}",
        ),
        (
            "Delete a participant",
            "DELETE /organizations/{organizationId}/meetings/{meetingId}/participant/{participantId}",
            "DELETE /meetings/{meeting_id}/participants/{participant_id}",
        ),
        ("Fetch details of a preset", "GET /organizations/{organizationId}/presets", "GET /presets"),
    ],
)
def test_known_errata_are_corrected(endpoints: list[EndpointRule], action: str, v1: str, v2: str) -> None:
    rule = by_action(endpoints, action)
    assert (rule.v1, rule.v2) == (v1, v2)
    assert rule.erratum


def test_guide_rows_without_a_v1_operation_say_so(endpoints: list[EndpointRule]) -> None:
    for action in ("Fetch details of a participant in a meeting", "Edit participant details", "Update a preset"):
        rule = by_action(endpoints, action)
        assert rule.v1 is None and rule.reason and rule.erratum


def test_roles_have_no_v2_counterpart(endpoints: list[EndpointRule]) -> None:
    roles = [rule for rule in endpoints if rule.spec == "dyte-v1-2022-roles.yaml"]
    assert {rule.v1 for rule in roles} == {
        "POST /organizations/{organizationID}/preset-role",
        "GET /organizations/{organizationID}/preset-roles",
    }
    assert all(rule.v2 is None and rule.reason for rule in roles)


def test_parameter_names_and_base_paths_are_not_errata() -> None:
    assert normalize_operation("GET /v1/organizations/\\{orgId\\}/meetings", "/v1") == normalize_operation(
        "GET /organizations/{organizationId}/meetings", ""
    )
    assert normalize_operation("PUT /v1/a/{x}", "/v1") != normalize_operation("PATCH /a/{x}", "")
