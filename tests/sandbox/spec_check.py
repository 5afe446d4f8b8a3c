"""Checks a sandbox answer against the official spec, and remembers which operations were checked."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from migrator.sandbox.server import SandboxServer
from migrator.sandbox.specs import SpecDocument


def _v1_with_errata() -> SpecDocument:
    """dyte-v1.yaml with its one known erratum corrected.

    Erratum: the v1 `Meeting.status` enum lists LIVE and CREATED only, yet
    `UpdateMeetingRequestBody` sets CLOSED and real v1 meetings answer with it.
    """
    document = copy.deepcopy(SpecDocument.load("dyte-v1.yaml").document)
    document["components"]["schemas"]["Meeting"]["properties"]["status"]["enum"].append("CLOSED")
    return SpecDocument(document)


V1 = _v1_with_errata()
V1_ROLES = SpecDocument.load("dyte-v1-2022-roles.yaml")
V2 = SpecDocument.load("dyte-v2.yaml")

# Statuses an operation does not declare (401, 404, 405, 409, 429...) must still come in
# the API's documented error shape: v1 GenericFailure, v2 GenericErrorResponse.
GENERIC_ERROR = {
    "v1": V1.validator(
        V1.resolve(V1.resolve({"$ref": "#/components/responses/GenericFailure"})["content"]["application/json"]["schema"])
    ),
    "v2": V2.component_validator("GenericErrorResponse"),
}


def spec_errors(spec: SpecDocument, area: str, spec_path: str, method: str, status: int, body: Any) -> list[str]:
    """Why `body` is not what the spec promises for this operation and status (empty: it is)."""
    validator = spec.response_validator(spec_path, method, status)
    if validator is None:
        if status < 400:
            return [f"status {status} is not declared for {method} {spec_path}"]
        validator = GENERIC_ERROR[area]
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(body)]


@dataclass
class Conformance:
    """Validates answers and records (method, route template) -> outcomes seen."""

    checked: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def check(self, spec: SpecDocument, area: str, spec_path: str, response: httpx.Response, status: int) -> Any:
        method = response.request.method
        assert response.status_code == status, (
            f"{method} {spec_path}: expected {status}, got {response.status_code}: {response.text[:300]}"
        )
        assert response.headers["content-type"].startswith("application/json")
        body = response.json()
        errors = spec_errors(spec, area, spec_path, method, status, body)
        assert not errors, f"{method} {spec_path} {status} breaks the spec: {errors[:5]}\n{json.dumps(body)[:500]}"
        route = f"/{area}" + spec_path.replace("{organizationID}", "{organizationId}")
        self.checked.setdefault((method, route), set()).add("success" if status < 400 else "error")
        return body

    def missing(self, routes: list[tuple[str, str]]) -> list[str]:
        """Routes lacking a checked success or a checked error."""
        return [
            f"{method} {template}: {sorted({'success', 'error'} - self.checked.get((method, template), set()))}"
            for method, template in routes
            if self.checked.get((method, template), set()) != {"success", "error"}
        ]


def assert_each_once(items: list[dict[str, Any]], expected: int) -> None:
    """A walk over all pages saw `expected` objects, none twice."""
    ids = [item["id"] for item in items]
    assert len(ids) == expected and len(set(ids)) == expected


class SandboxClient:
    """Minimal raw client for the sandbox's two APIs (deliberately not the product's client)."""

    def __init__(self, sandbox: SandboxServer) -> None:
        self.credentials = sandbox.credentials
        self.base_url = sandbox.base_url
        self.http = httpx.Client(timeout=15)

    @property
    def v1_org(self) -> str:
        return self.credentials["v1"]["org_id"]

    def v1(
        self, method: str, path: str, *, api_key: str | None = None, org_id: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        side = self.credentials["v1"]
        url = f"{side['base_url']}/organizations/{org_id or side['org_id']}{path}"
        key = side["api_key"] if api_key is None else api_key
        return self.http.request(method, url, headers={"Authorization": key} if key else {}, **kwargs)

    def v2(self, method: str, path: str, *, api_key: str | None = None, **kwargs: Any) -> httpx.Response:
        side = self.credentials["v2"]
        return self.http.request(
            method, f"{side['base_url']}{path}", auth=(side["org_id"], side["api_key"] if api_key is None else api_key), **kwargs
        )

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, **kwargs)
