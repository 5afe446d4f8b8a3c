"""Canaries in every answer (issue 10, items 10-12): credential fields and echoing error bodies.

A hostile proxy adds credential fields to every object of every v1 and v2 JSON answer:
the v1 spec's `organization.accessToken` (the org's API key itself, as the spec says) and
secret-looking fields (`accessToken`, `authToken`, `token`, `apiKey`, `api_key`, `secret`,
`password`, `Authorization`), each a fresh canary registered as a secret. Some v2 writes
are refused with error bodies that echo the keys: a JSON message where the key straddles
the 500-character cut, and a plain-text body. The whole CLI runs with -vv, then every
artefact (ledger db, -wal, -shm, its backup, reports, stdout, stderr) is searched for
every canary. Participant tokens the sandbox issues are canaries too (support.Org).
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from migrator.errors import EXIT_FAILED, EXIT_OK

from .hostile_server import Answer, HostileProxy, Request, Rule
from .support import SECRETS, Cli, Org, canary, canary_document, exactness, ledger_rows

CREDENTIAL_FIELDS = ("accessToken", "authToken", "token", "apiKey", "api_key", "secret", "password", "Authorization")


def _plant(value: Any, org_key: str, planted: list[str]) -> None:
    """Credential fields on every API object (a dict with an id) inside `value`, recursively."""
    if isinstance(value, list):
        for item in value:
            _plant(item, org_key, planted)
    elif isinstance(value, dict):
        for item in list(value.values()):
            _plant(item, org_key, planted)
        if "id" in value:
            for name in CREDENTIAL_FIELDS:
                value[name] = canary(f"FIELD-{name}")
                SECRETS.add(value[name], f"planted {name} field")
                planted.append(value[name])
            value["organization"] = {"id": "org", "name": "v1 org", "accessToken": org_key}


def _planting(org_key: str, planted: list[str]) -> Any:
    def after(req: Request, answer: Answer) -> Answer | None:
        if answer.status >= 300 or "json" not in answer.content_type:
            return None
        body = answer.json()
        _plant(body.get("data"), org_key, planted)
        return Answer.of_json(answer.status, body)

    return after


def _echo(kind: str) -> Any:
    """A v2 refusal that quotes the credentials it was sent."""

    def after(req: Request, answer: Answer) -> Answer:
        header = req.headers.get("authorization", "")
        key = base64.b64decode(header.split(" ", 1)[-1]).decode().split(":", 1)[-1]
        if kind == "json":  # the key straddles the 500-character cut, the header follows
            message = "refused: " + "x" * 480 + key + f" (Authorization: {header})"
            return Answer.of_json(400, {"success": False, "error": {"code": 400, "message": message}})
        return Answer(422, f"refused {header} key={key}".encode(), "text/plain")

    return after


def test_canaries_in_every_answer_reach_no_artefact(tmp_path: Path, org_factory: Any) -> None:
    """Scanned here, and again by test_secrets.py's last test with every other run's output."""
    document = canary_document(83, 5, 4)
    org_key = document["credentials"]["v1"]["api_key"]
    document["v1"]["organization"] = {"accessToken": org_key}  # the spec: the org's API key
    org: Org = org_factory(seed=83, document=document, rate_limit=0)
    planted: list[str] = []
    rules = [
        Rule("POST", r"^/v2/meetings/[^/]+/participants$", after=_echo("json"), times=2, name="echo-json"),
        Rule("POST", r"^/v2/webhooks$", after=_echo("text"), times=1, name="echo-text"),
        Rule("GET", r"^/v[12]/", after=_planting(org_key, planted), name="plant-get"),
        Rule("POST", r"^/v2/", after=_planting(org_key, planted), name="plant-post"),
    ]
    with HostileProxy(org.server, rules).running() as proxy:
        cli = Cli(tmp_path / "ws", proxy.credentials, verbose=2)
        backup = cli.root / "ci" / "ledger-copy.sqlite"
        runs = [cli.run(*command) for command in (("check",), ("plan",), ("migrate",))]
        refusals = [r[0] for r in ledger_rows(cli.ledger, "SELECT last_error FROM entities WHERE last_error IS NOT NULL")]
        runs += [
            cli.run(*command)
            for command in (
                ("migrate",),
                ("verify",),
                ("status",),
                ("export-ids", "--format", "json", "--output", str(cli.root / "ids.json")),
                ("ledger", "backup", str(backup)),
            )
        ]
        hits = proxy.hits
    codes = [r.code for r in runs]
    assert codes[1] == EXIT_OK and codes[2] == EXIT_FAILED and codes[3] == EXIT_OK, [r.stderr[-400:] for r in runs]
    assert all(code == EXIT_OK for code in codes[4:]), [r.stderr[-400:] for r in runs[4:]]
    assert hits.get("echo-json") == 2 and hits.get("echo-text") == 1 and len(planted) > 100, hits
    assert exactness(org, cli.ledger).exact

    count, leaks, places = SECRETS.scan(only=[cli.root], texts=[t for r in runs for t in (r.stdout, r.stderr)])
    assert not leaks, "\n".join(leaks[:20])
    assert {"ledger (db)", "ledger (-wal)", "report .json", "report .html"} <= set(places), places
    plan = json.loads((cli.reports / "plan.json").read_text(encoding="utf-8"))
    dropped = [n for n in plan["transformations"] if n["source"] == "organization.accessToken" and n["note"] == "dropped"]
    assert dropped and "secret" in dropped[0]["reason"].lower(), "the plan must show the key as dropped, and why"
    assert len(refusals) == 3 and sum("***" in e for e in refusals) == 2, refusals  # recorded, scrubbed

    assert backup.is_file()
