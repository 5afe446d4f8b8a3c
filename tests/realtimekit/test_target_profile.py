"""The realtimekit target profile: credentials, per-profile pacing, the mapping overlay, the derived spec."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from migrator.client import DyteClient
from migrator.errors import CredentialError
from migrator.mapping import v2spec
from migrator.mapping.catalog import PresetCatalog
from migrator.mapping.mapping_set import MappingSet
from migrator.mapping.overlay import SPEC_DIR
from migrator.settings import load_credentials
from tests.mapping.helpers import sample_org

ROOT = Path(__file__).resolve().parents[2]
DYTE = {"DYTE_V1_ORG_ID": "org1", "DYTE_V1_API_KEY": "key1"}
RTK = {"CLOUDFLARE_ACCOUNT_ID": "acc", "CLOUDFLARE_API_TOKEN": "tok", "REALTIMEKIT_APP_ID": "app"}


def test_realtimekit_credentials_from_the_environment() -> None:
    creds = load_credentials(env={**DYTE, **RTK}, target="realtimekit")
    assert creds.v2.base_url == "https://api.cloudflare.com/client/v4/accounts/acc/realtime/kit/app"
    assert creds.pair == ("org1", "acc/app") and creds.v2.app_id == "app"
    assert creds.v2.account_url == "https://api.cloudflare.com/client/v4/accounts/acc/realtime/kit"
    assert "tok" not in repr(creds)
    local = load_credentials(
        env={**DYTE, **RTK, "REALTIMEKIT_BASE_URL": "http://127.0.0.1:9/client/v4/accounts/acc/realtime/kit/app"},
        target="realtimekit",
    )
    assert local.v2.base_url.startswith("http://127.0.0.1:9/")


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({**DYTE, "CLOUDFLARE_ACCOUNT_ID": "acc", "CLOUDFLARE_API_TOKEN": "tok"}, "REALTIMEKIT_APP_ID or --create-app"),
        ({**DYTE, "REALTIMEKIT_APP_ID": "app", "CLOUDFLARE_ACCOUNT_ID": "acc"}, "CLOUDFLARE_API_TOKEN"),
        ({**DYTE, **RTK, "REALTIMEKIT_APP_ID": "x" * 33}, "at most 32"),
        ({**DYTE, **RTK, "REALTIMEKIT_BASE_URL": "http://127.0.0.1:9/other/app2"}, "end with the app id"),
    ],
)
def test_incomplete_realtimekit_credentials_are_one_clear_error(env: dict[str, str], needle: str) -> None:
    with pytest.raises(CredentialError, match=needle.replace("-", ".")):
        load_credentials(env=env, target="realtimekit")


def test_the_dyte_target_is_unchanged_and_needs_no_cloudflare_credentials() -> None:
    creds = load_credentials(env={**DYTE, "DYTE_V2_ORG_ID": "org2", "DYTE_V2_API_KEY": "key2"})
    assert creds.v2.profile.name == "dyte-v2" and creds.pair == ("org1", "org2")


def test_each_rate_domain_has_its_own_bucket() -> None:
    asyncio.run(_buckets())


async def _buckets() -> None:
    rtk = DyteClient(load_credentials(env={**DYTE, **RTK}, target="realtimekit"), rate_per_minute=2000)
    dyte = DyteClient(load_credentials(env={**DYTE, "DYTE_V2_ORG_ID": "o", "DYTE_V2_API_KEY": "k"}), rate_per_minute=2000)
    try:
        assert rtk._v1.bucket is not rtk._v2.bucket  # RealtimeKit is paced at its own 250 per 10 s
        assert rtk._v2.bucket._interval == pytest.approx(60 / (1500 * 0.97))
        assert dyte._v1.bucket is dyte._v2.bucket  # Dyte counts v1 and v2 together
    finally:
        await rtk.aclose()
        await dyte.aclose()


def _catalog(video_quality: str | None = None) -> PresetCatalog:
    """The v1 spec's example presets and roles; optionally every role producing `video_quality`."""
    presets, roles = sample_org()
    if video_quality is not None:
        for preset in presets:
            preset["document"]["role"]["role"].setdefault("produce", {}).setdefault("video", {})["quality"] = video_quality
        for role in roles:
            role["document"]["role"].setdefault("produce", {}).setdefault("video", {})["quality"] = video_quality
    return PresetCatalog(presets, roles)


def test_overlay_applies_and_its_bodies_validate_against_the_sdk_schema() -> None:
    base, rtk = MappingSet.load(), MappingSet.load(target="realtimekit")
    assert (base.route.overlay, rtk.route.overlay) == (None, "targets/realtimekit.yaml")
    assert "targets/realtimekit.yaml" in rtk.files
    spec = SPEC_DIR / "realtimekit.json"
    catalog = _catalog()
    for choice in rtk.base_presets(catalog):
        mapped = rtk.map_preset(choice, catalog)
        problems = list(Draft7Validator(v2spec.request_schema("PresetCreateParams", spec)).iter_errors(mapped.payload))
        assert not problems, problems[0].message
        assert mapped.payload["permissions"]["plugins"]["config"] == {}
    assert any("webhooks.json" in change.change for change in rtk.webhook_payload_changes)
    assert not any("rtk-" in change.change for change in base.webhook_payload_changes)


def test_fhd_is_lossy_for_dyte_v2_and_not_for_realtimekit() -> None:
    catalog = _catalog(video_quality="fhd")
    for target, quality, lossy in (("dyte-v2", "hd", True), ("realtimekit", "fhd", False)):
        mappings = MappingSet.load(target=target)
        choice = mappings.base_presets(catalog)[0]
        mapped = mappings.map_preset(choice, catalog)
        assert mapped.payload["config"]["media"]["video"]["quality"] == quality
        video_notes = [n for n in mapped.notes if n.target == "config.media.video.quality" and n.kind == "lossy"]
        assert bool(video_notes) == lossy, (target, mapped.notes)


def test_the_committed_realtimekit_spec_is_what_the_installed_sdk_gives() -> None:
    check = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "derive_realtimekit_spec.py"), "--check"], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
