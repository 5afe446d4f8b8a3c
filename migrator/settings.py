"""Credentials and target profiles.

A profile owns the base URL and the auth scheme of one API, so that adding a target
(Cloudflare RealtimeKit speaks v2 with a Bearer token) touches this table only.
Credentials come from the environment or a JSON file, never from command-line flags.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping

from migrator.errors import CredentialError, register_secret

AuthScheme = Literal["raw-key", "basic", "bearer"]


@dataclass(frozen=True)
class Profile:
    name: str
    default_base_url: str
    auth: AuthScheme
    org_in_path: bool  # v1 puts /organizations/{orgId} in every path


PROFILES: dict[str, Profile] = {
    "dyte-v1": Profile("dyte-v1", "https://api.dyte.io/v1", "raw-key", org_in_path=True),
    "dyte-v2": Profile("dyte-v2", "https://api.dyte.io/v2", "basic", org_in_path=False),
}


@dataclass(frozen=True)
class ApiCredentials:
    profile: Profile
    base_url: str
    org_id: str
    api_key: str = field(repr=False)

    def __post_init__(self) -> None:
        register_secret(self.api_key)

    def __repr__(self) -> str:  # never show the key, even in a debugger dump
        return f"ApiCredentials(profile={self.profile.name!r}, base_url={self.base_url!r}, org_id={self.org_id!r}, api_key='***')"


@dataclass(frozen=True)
class Credentials:
    v1: ApiCredentials
    v2: ApiCredentials

    @property
    def pair(self) -> tuple[str, str]:
        """The (v1 org, v2 org) pair a ledger is bound to."""
        return (self.v1.org_id, self.v2.org_id)


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
    if any(not "!" <= c <= "~" for c in api_key):  # else the HTTP layer's error would quote the key
        raise CredentialError(f"{name} API key holds a space, a control or a non-ASCII character{source}")
    return ApiCredentials(profile, base_url.rstrip("/"), org_id, api_key)


def load_credentials(file: Path | None = None, env: Mapping[str, str] | None = None) -> Credentials:
    """Read both sides' credentials: the file (if given) first, then the environment."""
    env = os.environ if env is None else env
    data: dict[str, dict[str, object]] = {"v1": {}, "v2": {}}
    source = ""
    if file is not None:
        source = f" in {file}"
        try:
            loaded = json.loads(Path(file).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CredentialError(f"credentials file {file} does not exist") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CredentialError(f"credentials file {file} is not valid JSON: {type(exc).__name__}") from None
        if not isinstance(loaded, dict) or not all(isinstance(loaded.get(k, {}), dict) for k in ("v1", "v2")):
            raise CredentialError(f'credentials file {file} must look like {{"v1": {{...}}, "v2": {{...}}}}')
        data = {k: loaded.get(k, {}) for k in ("v1", "v2")}
    return Credentials(
        v1=_side("v1", data["v1"], env, PROFILES["dyte-v1"], source),
        v2=_side("v2", data["v2"], env, PROFILES["dyte-v2"], source),
    )
