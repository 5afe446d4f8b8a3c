"""Secrets: participant tokens are stripped from bodies; keys never reach errors or logs."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
import respx

from migrator.client import strip_secrets
from migrator.errors import MigratorError

from .fakes import V1_KEY, V1_ORG_URL, V2_BASE, V2_KEY, V2_ORG, ClientFactory

pytestmark = pytest.mark.anyio
BASIC_VALUE = base64.b64encode(f"{V2_ORG}:{V2_KEY}".encode()).decode()
SECRETS = (V1_KEY, V2_KEY, BASIC_VALUE)


async def test_v2_participant_token_is_removed(api: respx.MockRouter, make_client: ClientFactory) -> None:
    created = {
        "success": True,
        "data": {"id": "p1", "name": "Ann", "token": "eyJ.participant.jwt", "custom_participant_id": "c1"},
    }
    api.post(f"{V2_BASE}/meetings/m1/participants").respond(201, json=created)
    async with make_client() as client:
        body = await client.v2("POST", "/meetings/m1/participants", json={"name": "Ann"})
    assert body == {"success": True, "data": {"id": "p1", "name": "Ann", "custom_participant_id": "c1"}}


async def test_v1_auth_token_is_removed_at_any_depth(api: respx.MockRouter, make_client: ClientFactory) -> None:
    answer = {
        "success": True,
        "data": {"authResponse": {"userAdded": True, "authToken": "eyJ.v1.jwt", "id": "p1"}, "list": [{"token": "t", "keep": 1}]},
    }
    api.post(f"{V1_ORG_URL}/meetings/m1/participant").respond(200, json=answer)
    async with make_client() as client:
        body = await client.v1("POST", "/meetings/m1/participant", json={})
    assert body == {"success": True, "data": {"authResponse": {"userAdded": True, "id": "p1"}, "list": [{"keep": 1}]}}


async def test_token_spelled_with_json_escapes_is_removed(api: respx.MockRouter, make_client: ClientFactory) -> None:
    api.get(f"{V2_BASE}/meetings/m1/participants/p1").respond(200, text='{"data": {"\\u0074oken": "jwt", "id": "p1"}}')
    async with make_client() as client:
        assert await client.v2("GET", "/meetings/m1/participants/p1") == {"data": {"id": "p1"}}


def test_strip_secrets_leaves_other_keys_alone() -> None:
    value = {"tokens": 1, "token_count": 2, "x": [{"authToken": "a", "y": {"token": "b", "z": 3}}]}
    assert strip_secrets(value) == {"tokens": 1, "token_count": 2, "x": [{"y": {"z": 3}}]}


async def test_no_key_in_errors_logs_or_reprs(
    api: respx.MockRouter, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    echo = {"success": False, "error": {"code": 401, "message": f"bad credentials Basic {BASIC_VALUE} / {V2_KEY}"}}
    api.get(f"{V2_BASE}/echo").respond(401, json=echo)
    api.get(f"{V1_ORG_URL}/echo").respond(400, json={"success": False, "message": f"key {V1_KEY} is not valid"})
    api.get(f"{V2_BASE}/down").mock(side_effect=httpx.ConnectError(f"cannot reach, key={V2_KEY}"))
    api.post(f"{V2_BASE}/down").mock(side_effect=httpx.ReadError("dropped"))
    api.get(f"{V2_BASE}/html").respond(200, text=f"<html>{V2_KEY}</html>")
    api.get(f"{V2_BASE}/busy").respond(503, text="busy")
    signed = "https://cdn.example.test/p.json?X-Amz-Signature=deadbeef"
    api.get(signed).respond(403, text="denied")
    caplog.set_level(logging.DEBUG, logger="migrator.client")

    errors: list[MigratorError] = []
    async with make_client(max_attempts=2) as client:
        for call in (
            client.v2("GET", "/echo"),
            client.v1("GET", "/echo"),
            client.v2("GET", "/down"),
            client.v2("POST", "/down", json={"api_key": V2_KEY}),
            client.v2("GET", "/html"),
            client.v2("GET", "/busy"),
            client.document(signed),
        ):
            with pytest.raises(MigratorError) as caught:
                await call
            errors.append(caught.value)
        shown = [repr(client), repr(client.counters)]

    shown += [text for error in errors for text in (str(error), repr(error), *map(str, error.args))]
    shown += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) >= len(errors), "each request is logged at debug level"
    for text in shown:
        for secret in (*SECRETS, "deadbeef"):
            assert secret not in text, text


async def test_debug_log_names_method_path_and_status(
    api: respx.MockRouter, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    api.get(f"{V1_ORG_URL}/meetings").respond(200, json={"success": True})
    caplog.set_level(logging.DEBUG, logger="migrator.client")
    async with make_client() as client:
        await client.v1("GET", "/meetings", params={"offset": 0})
    (record,) = caplog.records
    assert record.getMessage().startswith("Dyte v1 GET /meetings -> 200 in ")


async def test_a_key_straddling_the_message_cut_is_scrubbed_whole(api: respx.MockRouter, make_client: ClientFactory) -> None:
    """Issue 10, item 11: scrub, then cut; never cut, then scrub (half a key is not recognisable)."""
    for start in (480, 490, 499):
        message = "x" * start + V2_KEY + " and more"
        api.post(f"{V2_BASE}/meetings/m{start}/participants").respond(
            400, json={"success": False, "error": {"code": 400, "message": message}}
        )
        async with make_client() as client:
            with pytest.raises(MigratorError) as caught:
                await client.v2("POST", f"/meetings/m{start}/participants", json={})
        error = caught.value
        texts = (str(error), repr(error), repr(error.args), getattr(error, "api_message", ""))
        for text in texts:
            assert V2_KEY[:8] not in text, (start, text[-80:])
        assert len(error.api_message) <= 501


async def test_a_reason_phrase_or_text_body_echoing_the_header_is_scrubbed(
    api: respx.MockRouter, make_client: ClientFactory
) -> None:
    """Issue 10, item 12: a non-JSON 400 whose reason phrase (or plain-text body) quotes Authorization."""
    phrase = f"Bad Request (Authorization: Basic {BASIC_VALUE})".encode()
    api.post(f"{V2_BASE}/phrase").mock(
        return_value=httpx.Response(
            400, content=b"<html>no</html>", headers={"content-type": "text/html"}, extensions={"reason_phrase": phrase}
        )
    )
    api.post(f"{V2_BASE}/text").respond(400, text=f"refused: Authorization: Basic {BASIC_VALUE}; key {V2_KEY}")
    for path in ("/phrase", "/text"):
        async with make_client() as client:
            with pytest.raises(MigratorError) as caught:
                await client.v2("POST", path, json={})
        error = caught.value
        for text in (str(error), repr(error), repr(error.args), getattr(error, "api_message", "")):
            assert not any(secret in text for secret in SECRETS), text
        assert error.status == 400
