"""Credentials and API profiles (the sources `dyte-v1` and `dyte-v2`; the targets `dyte-v2` and `realtimekit`).

A profile owns the base URL, the auth scheme and the documented rate limit of one API,
so that a target (Cloudflare RealtimeKit speaks v2 with a Bearer token) is a row here.
`Credentials.v2` is the target side, whichever profile was chosen. Credentials come
from the environment or a JSON file, never from command-line flags.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from migrator.errors import CredentialError, register_secret

AuthScheme = Literal["raw-key", "basic", "bearer"]


@dataclass(frozen=True)
class Profile:
    name: str
    title: str  # what messages and reports call it: "Dyte v1", "Dyte v2", "RealtimeKit"
    default_base_url: str
    auth: AuthScheme
    org_in_path: bool  # v1 puts /organizations/{orgId} in every path
    rate_domain: str  # APIs of one domain share one server-side bucket (Dyte: v1 and v2 per client IP)
    rate_per_minute: float  # the documented limit of that bucket
    paging: Literal["offset", "page"]  # v1 lists by offset/limit, v2 and RealtimeKit by page_no/per_page
    apps_path: str = ""  # below the account URL: list (GET) and create (POST) apps; "" when the API has no apps


DYTE_RATE_PER_MINUTE = 2000.0
PROFILES: dict[str, Profile] = {
    "dyte-v1": Profile("dyte-v1", "Dyte v1", "https://api.dyte.io/v1", "raw-key", True, "dyte", DYTE_RATE_PER_MINUTE, "offset"),
    "dyte-v2": Profile("dyte-v2", "Dyte v2", "https://api.dyte.io/v2", "basic", False, "dyte", DYTE_RATE_PER_MINUTE, "page"),
    # 250 requests per 10 seconds per account (specs/realtimekit.md).
    "realtimekit": Profile(
        "realtimekit",
        "RealtimeKit",
        "https://api.cloudflare.com/client/v4/accounts/{account_id}/realtime/kit/{app_id}",
        "bearer",
        False,
        "realtimekit",
        250 * 6.0,
        "page",
        apps_path="/apps",
    ),
}
TARGETS = ("dyte-v2", "realtimekit")
DEFAULT_TARGET = "dyte-v2"
SOURCES = ("dyte-v1", "dyte-v2")
DEFAULT_SOURCE = "dyte-v1"
DEFAULT_PROFILES = (DEFAULT_SOURCE, DEFAULT_TARGET)  # (source, target) when none is chosen


@dataclass(frozen=True)
class Route:
    """Which profile a run reads, which it writes, and the mapping overlay in use: messages and
    reports name the run's own APIs ("RealtimeKit changed since..."), not always v1 and v2."""

    source: str  # a profile name, as `--source` spells it
    target: str  # a profile name, as `--target` spells it
    overlay: str | None = None  # the target overlay file applied (`targets/realtimekit.yaml`), None for Dyte v2

    @property
    def source_title(self) -> str:
        return PROFILES[self.source].title

    @property
    def target_title(self) -> str:
        return PROFILES[self.target].title

    def __str__(self) -> str:
        return f"{self.source_title} → {self.target_title}"

    def as_dict(self) -> dict[str, str | None]:
        """The reports' `route` field (docs/reports.md)."""
        return {"source": self.source, "target": self.target, "overlay": self.overlay}


@dataclass(frozen=True)
class ApiCredentials:
    """One side. For RealtimeKit `org_id` is `account_id/app_id` (what a ledger is bound to),
    `base_url` the app's URL, and `account_url` the account's `.../realtime/kit` (where apps are)."""

    profile: Profile
    base_url: str
    org_id: str
    api_key: str = field(repr=False)
    account_url: str = ""

    def __post_init__(self) -> None:
        register_secret(self.api_key)

    def __repr__(self) -> str:  # never show the key, even in a debugger dump
        return f"ApiCredentials(profile={self.profile.name!r}, base_url={self.base_url!r}, org_id={self.org_id!r}, api_key='***')"

    @property
    def app_id(self) -> str:
        """RealtimeKit's app id ("" when none is chosen yet: `--create-app`)."""
        return self.org_id.partition("/")[2] if self.profile.name == "realtimekit" else ""

    def with_app(self, app_id: str) -> ApiCredentials:
        """The same RealtimeKit account, scoped to `app_id` (after `--create-app`)."""
        account_id = self.org_id.partition("/")[0]
        return ApiCredentials(
            self.profile, f"{self.account_url}/{app_id}", f"{account_id}/{app_id}", self.api_key, self.account_url
        )


@dataclass(frozen=True)
class Credentials:
    v1: ApiCredentials  # the source: Dyte v1, or Dyte v2 (`v1.profile` says which)
    v2: ApiCredentials  # the target: Dyte v2 or RealtimeKit (`v2.profile` says which)

    @property
    def pair(self) -> tuple[str, str]:
        """The (v1 org, target org) pair a ledger is bound to; RealtimeKit's is `account_id/app_id`."""
        return (self.v1.org_id, self.v2.org_id)


def _url(value: str, name: str, source: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise CredentialError(f"{name} base URL must start with http:// or https://{source}")
    return value.rstrip("/")


def _check_key(value: str, name: str, source: str) -> None:
    if any(not "!" <= c <= "~" for c in value):  # else the HTTP layer's error would quote the key
        raise CredentialError(f"{name} holds a space, a control or a non-ASCII character{source}")


def _realtimekit_side(data: Mapping[str, object], env: Mapping[str, str], source: str, app_optional: bool) -> ApiCredentials:
    """CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN, REALTIMEKIT_APP_ID, REALTIMEKIT_BASE_URL (the app's
    URL, e.g. the sandbox's; `{account_id}`/`{app_id}` placeholders are filled in), or the file's `realtimekit`."""
    profile = PROFILES["realtimekit"]
    account_id = str(data.get("account_id") or env.get("CLOUDFLARE_ACCOUNT_ID") or "").strip()
    token = str(data.get("api_token") or env.get("CLOUDFLARE_API_TOKEN") or "").strip()
    app_id = str(data.get("app_id") or env.get("REALTIMEKIT_APP_ID") or "").strip()
    given_url = str(data.get("base_url") or env.get("REALTIMEKIT_BASE_URL") or "").strip()
    required = [("account_id", account_id, "CLOUDFLARE_ACCOUNT_ID"), ("api_token", token, "CLOUDFLARE_API_TOKEN")]
    if not app_optional:
        required.append(("app_id", app_id, "REALTIMEKIT_APP_ID"))
    missing = [(key, env_name) for key, value, env_name in required if not value]
    if missing:
        hint = " or --create-app NAME" if any(key == "app_id" for key, _ in missing) else ""
        raise CredentialError(
            f"realtimekit credentials incomplete: missing {', '.join(k for k, _ in missing)} "
            f"(set {', '.join(e for _, e in missing)}{hint}, or pass --credentials FILE){source}"
        )
    for key, value in (("account_id", account_id), ("app_id", app_id)):
        if len(value) > 32 or "/" in value:
            raise CredentialError(f"realtimekit {key} must be at most 32 characters without '/'{source}")
    _check_key(token, "realtimekit API token", source)
    template = given_url or profile.default_base_url
    url = _url(template.replace("{account_id}", account_id).replace("{app_id}", app_id or "{app_id}"), "realtimekit", source)
    if app_id and not url.endswith("/" + app_id) and "{app_id}" not in template:
        raise CredentialError(f"realtimekit base URL must end with the app id {app_id}{source}")
    account_url = url.rsplit("/", 1)[0]
    base_url = f"{account_url}/{app_id}" if app_id else account_url
    return ApiCredentials(profile, base_url, f"{account_id}/{app_id}", token, account_url)


def _side(name: str, data: Mapping[str, object], env: Mapping[str, str], profile: Profile, source: str) -> ApiCredentials:
    prefix = f"DYTE_{name.upper()}_"
    org_id = str(data.get("org_id") or env.get(prefix + "ORG_ID") or "").strip()
    api_key = str(data.get("api_key") or env.get(prefix + "API_KEY") or "").strip()
    base_url = str(data.get("base_url") or env.get(prefix + "BASE_URL") or profile.default_base_url).strip()
    missing = [k for k, v in (("org_id", org_id), ("api_key", api_key)) if not v]
    if missing:
        raise CredentialError(
            f"{name} credentials incomplete: missing {', '.join(missing)} "
            f"(set {prefix}ORG_ID and {prefix}API_KEY, or pass --credentials FILE){source}"
        )
    if not base_url.startswith(("http://", "https://")):
        raise CredentialError(f"{name} base URL must start with http:// or https://")
    _check_key(api_key, f"{name} API key", source)
    return ApiCredentials(profile, base_url.rstrip("/"), org_id, api_key)


SECTIONS = ("v1", "v2", "realtimekit")


def check_pair(source: str, target: str) -> None:
    """Refuse (exit 2) a source or target this tool does not know, and a pair with nothing to migrate."""
    if source not in SOURCES:
        raise CredentialError(f"unknown source {source!r} (choose one of {', '.join(SOURCES)})")
    if target not in TARGETS:
        raise CredentialError(f"unknown target {target!r} (choose one of {', '.join(TARGETS)})")
    if source == target:
        raise CredentialError(
            f"--source {source} with --target {target}: nothing to migrate (a Dyte v2 org moves to --target realtimekit)"
        )


def load_credentials(
    file: Path | None = None,
    env: Mapping[str, str] | None = None,
    *,
    target: str = DEFAULT_TARGET,
    source: str = DEFAULT_SOURCE,
    app_optional: bool = False,
) -> Credentials:
    """Read the source's and the target's credentials: the file (if given) first, then the environment.

    A Dyte v2 source reads the `v2` section (DYTE_V2_*). `app_optional`: a RealtimeKit
    target may lack an app id (`--create-app` will make one).
    """
    check_pair(source, target)
    env = os.environ if env is None else env
    data: dict[str, dict[str, object]] = {k: {} for k in SECTIONS}
    where = ""
    if file is not None:
        where = f" in {file}"
        try:
            loaded = json.loads(Path(file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CredentialError(f"credentials file {file} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CredentialError(f"credentials file {file} is not valid JSON: {type(exc).__name__}") from None
        if not isinstance(loaded, dict) or not all(isinstance(loaded.get(k, {}), dict) for k in SECTIONS):
            raise CredentialError(
                f'credentials file {file} must look like {{"v1": {{...}}, "v2": {{...}}, "realtimekit": {{...}}}}'
            )
        data = {k: loaded.get(k, {}) for k in SECTIONS}
    section = source.removeprefix("dyte-")  # "v1" or "v2": the file section and the DYTE_<V1|V2>_ variables
    source_side = _side(section, data[section], env, PROFILES[source], where)  # errors name the source first
    if target == "realtimekit":
        target_side = _realtimekit_side(data["realtimekit"], env, where, app_optional)
    else:
        target_side = _side("v2", data["v2"], env, PROFILES["dyte-v2"], where)
    return Credentials(v1=source_side, v2=target_side)
