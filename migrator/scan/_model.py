"""What a scan reports: the rules it applies and one finding per place in the code."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["error", "warning", "note"]


@dataclass(frozen=True)
class Rule:
    """A kind of finding. `id` is stable: CI baselines and SARIF alerts are keyed on it."""

    id: str
    name: str
    summary: str
    level: Level
    help: str


RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule(
            "dyte-v1-base-url",
            "V1BaseUrl",
            "Dyte v1 base URL",
            "error",
            "The v1 REST API is being retired. Use the target's base URL; v2 routes have no "
            "/organizations/{orgId} prefix (the organization comes from the credentials).",
        ),
        Rule(
            "dyte-v1-route",
            "V1Route",
            "Dyte v1 REST route",
            "error",
            "Every v1 route starts with /organizations/{orgId}/ and no v2 route does. The suggestion "
            "is the v2 operation from mappings/endpoints.yaml, with Dyte's guide errata corrected.",
        ),
        Rule(
            "dyte-v1-auth",
            "V1AuthHeader",
            "v1 auth scheme: the raw API key as Authorization",
            "error",
            "v1 took the API key itself as the Authorization header. v2 wants HTTP Basic orgId:apiKey; "
            "RealtimeKit wants a Bearer Cloudflare API token.",
        ),
        Rule(
            "dyte-v1-field",
            "V1FieldName",
            "Dyte v1 field name",
            "warning",
            "v2 bodies and answers use other names. The v2 name comes from the mapping rule that "
            "migrates the field (mappings/*.yaml), so code and data move the same way.",
        ),
        Rule(
            "dyte-v2-base-url",
            "V2BaseUrl",
            "Dyte v2 base URL (scan --target realtimekit)",
            "error",
            "Dyte's v2 host is being retired too. RealtimeKit serves the same v2 routes under its "
            "app's base URL: only the host part changes.",
        ),
        Rule(
            "dyte-v2-auth",
            "V2AuthHeader",
            "v2 auth scheme: HTTP Basic orgId:apiKey (scan --target realtimekit)",
            "error",
            "RealtimeKit does not take Dyte's organization id and API key: it wants a Bearer Cloudflare API token.",
        ),
        Rule(
            "dyte-target-name",
            "TargetName",
            "A Dyte name the target changes (a webhook header, a body field)",
            "warning",
            "The target names this differently or has no such field (scan.yaml `names`): webhook "
            "receivers and request bodies must change with the migration.",
        ),
        Rule(
            "dyte-hardcoded-credential",
            "HardcodedCredential",
            "Credential written in the source",
            "error",
            "A key in the source reaches every clone, build and log of it. Read it from the environment "
            "or a secret store, and rotate it. The value is never printed, only where it is.",
        ),
    )
}


@dataclass(frozen=True, order=True)
class Finding:
    """One place in the code to change: where, which rule, what was found and what to write instead."""

    path: str  # relative to the working directory when under it, POSIX separators
    line: int  # 1-based
    column: int  # 1-based, in characters
    rule: str
    found: str
    replacement: str
    why: str
    link: str


@dataclass(frozen=True)
class ScanResult:
    findings: list[Finding]
    files_scanned: int
    target: str
