"""Schemathesis over every implemented v2 operation: no 5xx, no answer outside the spec.

Cases are generated from dyte-v2.yaml itself (valid and invalid data), with path ids
drawn either at random or from objects that exist, so handlers beyond the 404 path run.
Bounded: 25 examples per operation and mode, no deadline flakiness.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance, not_a_server_error
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
)

from migrator.sandbox import routes_v2
from migrator.sandbox.server import SandboxServer

from .payloads import v2_preset
from .spec_check import V2, SandboxClient, spec_errors
from .test_v2_conformance import V2_MEETING, v2_recordings_dataset

SCHEMA = schemathesis.openapi.from_path(str(resources.files("migrator.specs").joinpath("dyte-v2.yaml")))
OPERATIONS = [(route.method, route.template.removeprefix("/v2")) for route in routes_v2.routes()]
EXAMPLES_PER_MODE = 25


def existing_ids(api: SandboxClient) -> dict[str, str]:
    """One object of each kind, to aim generated requests at something real."""
    preset = api.v2("POST", "/presets", json=v2_preset("group_call_host")).json()["data"]["id"]
    participant = api.v2(
        "POST", f"/meetings/{V2_MEETING}/participants", json={"custom_participant_id": "fuzz", "preset_name": "group_call_host"}
    ).json()["data"]["id"]
    webhook = api.v2("POST", "/webhooks", json={"name": "w", "url": "https://w.example.invalid", "events": ["meeting.ended"]})
    recording = api.v2("GET", "/recordings").json()["data"][0]["id"]
    return {
        "preset_id": preset,
        "meeting_id": V2_MEETING,
        "participant_id": participant,
        "webhook_id": webhook.json()["data"]["id"],
        "recording_id": recording,
    }


def fuzz(strategy: Any, checks: list[Any], base_url: str, method: str, path: str) -> None:
    """Sends generated cases; each answer must pass schemathesis' checks and the spec's schema for its status."""

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.generate],
    )
    @given(case=strategy)
    def exercise(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=10)
        case.validate_response(response, checks=checks)
        errors = spec_errors(V2, "v2", path, method, response.status_code, response.json())
        assert not errors, f"{method} {path} -> {response.status_code}: {errors[:3]}"

    exercise()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_generated_requests_get_answers_the_spec_allows(
    method: str,
    path: str,
    sandbox_factory: Callable[..., SandboxServer],
    tmp_path: Path,
) -> None:
    sandbox = sandbox_factory(dataset=str(v2_recordings_dataset(tmp_path / "v2.json")), rate_limit=0)
    api = SandboxClient(sandbox)
    ids = existing_ids(api)
    v2 = sandbox.credentials["v2"]
    auth = {"Authorization": "Basic " + base64.b64encode(f"{v2['org_id']}:{v2['api_key']}".encode()).decode()}
    operation = SCHEMA[path][method]
    real_ids = {name: value for name, value in ids.items() if f"{{{name}}}" in path}

    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        checks = [not_a_server_error, response_schema_conformance, content_type_conformance]
        if mode is GenerationMode.NEGATIVE:
            checks.append(negative_data_rejection)
        # Credentials go into the generated case, so negative mode mutates data, not the auth header.
        targets = [{}, real_ids] if real_ids else [{}]
        for path_parameters in targets:
            strategy = operation.as_strategy(generation_mode=mode, headers=auth, path_parameters=path_parameters or None)
            try:
                fuzz(strategy, checks, v2["base_url"], method, path)
            except hypothesis.errors.Unsatisfiable:
                # Nothing left to make invalid (e.g. a GET whose only input is a fixed id).
                assert mode is GenerationMode.NEGATIVE
    assert all(entry["status"] < 500 for entry in sandbox.stats()["requests"])
