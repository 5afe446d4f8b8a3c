"""Hostile input from the APIs: broken answers and odd-but-valid data.

Broken answers (truncated JSON, an HTML error page with status 200, list envelopes of
the wrong type, objects without ids, a lone surrogate escape, absurd nesting, 5xx that
never ends) come from a hostile proxy in front of a sandbox: the run stops with one
line naming the endpoint or object and exit 1, no traceback, and no v2 write at all
(they happen during extract or plan). Answers that are odd but usable (ids repeated
across pages, a v2 create whose answer is an HTML page) must still end exact.

Odd v1 *data* (missing fields, wrong types, unknown enum values, nulls, invalid URLs,
huge and non-ASCII strings) comes from sandbox dataset files, hand-picked and generated
by hypothesis: every object is migrated or marked unmappable/failed with a reason, exit
0 or 1, one line at most, no duplicate, and every v2 object is known to the ledger.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.errors import EXIT_FAILED, EXIT_OK
from migrator.sandbox.idgen import IdSource

from .hostile_server import Answer, HostileProxy, Request, Rule, replace_body, rewrite_items, shifted_pages, truncate_body
from .support import Cli, Org, canary_credentials, exactness, ledger_rows, start_org
from .tally import Tally

ORG = r"/v1/organizations/[^/]+"
MEETINGS, PARTICIPANTS = ORG + "/meetings$", ORG + r"/meetings/[^/]+/participants$"
PRESETS, WEBHOOKS = ORG + "/presets$", ORG + "/webhooks$"
HTML = b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"


def _inject_surrogate(req: Request, answer: Answer) -> Answer:
    return Answer(200, answer.body.replace(b'"title":"', b'"title":"\\ud800', 1))


def _documents_via_proxy(proxy_url: Callable[[], str]) -> Callable[[Request, Answer], Answer]:
    """Point every preset's s3URL at the proxy, so a rule can break the documents too."""

    def after(req: Request, answer: Answer) -> Answer:
        body = answer.json()
        for item in body["data"]["presets"]:
            item["s3URL"] = re.sub(r"^http://[^/]+", proxy_url(), item["s3URL"])
        return Answer.of_json(200, body)

    return after


# (case, rules, what the error line must name); each stops the run during extract/plan with exit 1
BROKEN: list[tuple[str, Callable[[Callable[[], str]], list[Rule]], tuple[str, ...]]] = [
    ("truncated JSON (meetings)", lambda u: [Rule("GET", MEETINGS, after=truncate_body)], ("/meetings",)),
    (
        "HTML page with status 200 (meetings)",
        lambda u: [Rule("GET", MEETINGS, after=replace_body(200, HTML, "text/html"))],
        ("/meetings", "not a JSON object"),
    ),
    (
        "empty body with status 200 (participants)",
        lambda u: [Rule("GET", PARTICIPANTS, after=replace_body(200, b""))],
        ("/participants",),
    ),
    ("JSON array instead of an object", lambda u: [Rule("GET", WEBHOOKS, after=replace_body(200, b"[1, 2]"))], ("/webhooks",)),
    (
        "data is a list",
        lambda u: [Rule("GET", MEETINGS, after=replace_body(200, b'{"success": true, "data": []}'))],
        ("/meetings", "data.meetings"),
    ),
    ("data missing", lambda u: [Rule("GET", PRESETS, after=replace_body(200, b'{"success": true}'))], ("/presets",)),
    (
        "success false with status 200",
        lambda u: [Rule("GET", MEETINGS, after=replace_body(200, b'{"success": false, "message": "try later"}'))],
        ("/meetings",),
    ),
    (
        "list envelope is an object",
        lambda u: [Rule("GET", MEETINGS, after=rewrite_items(lambda items: {"0": items[0]}))],
        ("data.meetings",),
    ),
    (
        "list envelope is a string",
        lambda u: [Rule("GET", PARTICIPANTS, after=rewrite_items(lambda items: "none"))],
        ("data.participants",),
    ),
    (
        "list items are not objects",
        lambda u: [Rule("GET", PARTICIPANTS, after=rewrite_items(lambda i: [1, "x", None]))],
        ("participant",),
    ),
    (
        "meeting id is a number",
        lambda u: [Rule("GET", MEETINGS, after=rewrite_items(lambda items: [{**m, "id": 5} for m in items]))],
        ("meeting", "id"),
    ),
    (
        "participant without id",
        lambda u: [
            Rule(
                "GET", PARTICIPANTS, after=rewrite_items(lambda items: [{k: v for k, v in p.items() if k != "id"} for p in items])
            )
        ],
        ("participant", "id"),
    ),
    (
        "webhook id null",
        lambda u: [Rule("GET", WEBHOOKS, after=rewrite_items(lambda items: [{**h, "id": None} for h in items]))],
        ("webhook",),
    ),
    ("lone surrogate escape in a title", lambda u: [Rule("GET", MEETINGS, after=_inject_surrogate)], ("/meetings", "surrogate")),
    (
        "nesting 100000 deep",
        lambda u: [
            Rule(
                "GET",
                MEETINGS,
                after=replace_body(200, b'{"success":true,"data":{"meetings":' + b"[" * 100000 + b"]" * 100000 + b"}}"),
            )
        ],
        ("/meetings",),
    ),
    (
        "preset without usable s3URL",
        lambda u: [Rule("GET", PRESETS, after=rewrite_items(lambda items: [{**p, "s3URL": "s3://bucket/x"} for p in items]))],
        ("s3URL",),
    ),
    (
        "preset document is an HTML page with status 200",
        lambda u: [
            Rule("GET", PRESETS, after=_documents_via_proxy(u)),
            Rule("GET", r"^/s3/", after=replace_body(200, HTML, "text/html")),
        ],
        ("/s3/", "not a JSON object"),
    ),
    (
        "v1 500 on every retry",
        lambda u: [Rule("GET", PARTICIPANTS, after=replace_body(500, b'{"success": false, "message": "upstream exploded"}'))],
        ("/participants", "500", "upstream exploded"),
    ),
    (
        "v1 404 for a listed meeting",
        lambda u: [
            Rule("GET", PARTICIPANTS, times=1, after=replace_body(404, b'{"success": false, "message": "Meeting not found"}'))
        ],
        ("/participants", "404"),
    ),
    ("v2 listing truncated during plan", lambda u: [Rule("GET", r"^/v2/presets$", after=truncate_body)], ("v2", "/presets")),
    (
        "v2 listing is an HTML page during plan",
        lambda u: [Rule("GET", r"^/v2/webhooks$", after=replace_body(200, HTML, "text/html"))],
        ("v2", "/webhooks"),
    ),
]


@pytest.fixture
def hostile(tmp_path: Path, org_factory: Callable[..., Org]):
    proxies: list[HostileProxy] = []

    def start(rules: Callable[[Callable[[], str]], list[Rule]], **org_options: Any) -> tuple[Org, HostileProxy, Cli]:
        org = org_factory(**{"seed": 41, "meetings": 3, "participants": 3, "rate_limit": 0, **org_options})
        holder: dict[str, HostileProxy] = {}
        proxy = HostileProxy(org.server, rules(lambda: holder["p"].base_url)).start()
        holder["p"] = proxy
        proxies.append(proxy)
        cli = Cli(tmp_path / f"ws{len(proxies)}", proxy.credentials, timeout=2)
        return org, proxy, cli

    yield start
    for proxy in proxies:
        proxy.stop()


@pytest.mark.parametrize("case,rules,naming", BROKEN, ids=[c[0] for c in BROKEN])
def test_broken_answer_is_one_line_exit_1_and_no_v2_write(
    hostile: Any, fast_retries: None, tally: Tally, case: str, rules: Any, naming: tuple[str, ...]
) -> None:
    org, proxy, cli = hostile(rules)
    run = cli.invoke("migrate")
    fired = sum(proxy.hits.values())
    writes = org.stats()["totals"]["v2_writes"]
    ok = False
    try:
        assert fired, "the hostile rule never fired"
        line = run.assert_clean_failure(EXIT_FAILED, naming=naming)
        assert (run.outcome or {}).get("status") == "failed"
        assert writes == 0, f"{writes} v2 writes after a broken answer"
        ok = True
    finally:
        tally.add(
            "hostile",
            {
                "group": "v1/v2 answers",
                "case": case,
                "exit": run.code,
                "expected": EXIT_FAILED,
                "line": run.error_lines[:1],
                "v2_writes": writes,
                "unknown": writes,
                "ok": ok,
            },
        )
    assert line


def _dup_within_page(items: list[Any]) -> list[Any]:
    return items[:1] + items if items else items


ODD_BUT_USABLE: list[tuple[str, Callable[[Callable[[], str]], list[Rule]], dict[str, Any]]] = [
    (
        "participant ids repeated across pages (shifted offset)",
        lambda u: [Rule("GET", PARTICIPANTS, before=shifted_pages(1))],
        {"meetings": 2, "participants": 130},
    ),
    ("meeting id repeated within a page", lambda u: [Rule("GET", MEETINGS, after=rewrite_items(_dup_within_page))], {}),
    (
        "v2 create answered with an HTML page (applied)",
        lambda u: [Rule("POST", r"^/v2/meetings/[^/]+/participants$", times=3, after=replace_body(200, HTML, "text/html"))],
        {},
    ),
    (
        "v2 create answered with truncated JSON (applied)",
        lambda u: [Rule("POST", r"^/v2/meetings$", times=2, after=truncate_body)],
        {},
    ),
    (
        "v2 create answered 201 without an id (applied)",
        lambda u: [Rule("POST", r"^/v2/webhooks$", times=1, after=replace_body(201, b'{"success": true, "data": {}}'))],
        {},
    ),
]


@pytest.mark.parametrize("case,rules,options", ODD_BUT_USABLE, ids=[c[0] for c in ODD_BUT_USABLE])
def test_odd_but_usable_answer_still_ends_exact(
    hostile: Any, fast_retries: None, tally: Tally, case: str, rules: Any, options: dict[str, Any]
) -> None:
    org, proxy, cli = hostile(rules, **options)
    run = cli.invoke("migrate")
    exact = exactness(org, cli.ledger)
    tally.add(
        "hostile",
        {
            "group": "v1/v2 answers",
            "case": case,
            "exit": run.code,
            "expected": EXIT_OK,
            "line": run.error_lines[:1],
            "lost": exact.lost,
            "duplicated": exact.duplicated,
            "unknown": exact.unknown_to_ledger,
            "ok": run.code == EXIT_OK and exact.exact,
        },
    )
    assert sum(proxy.hits.values()), "the hostile rule never fired"
    run.assert_clean_failure(EXIT_OK)
    assert exact.exact, exact.details


# --------------------------------------------------------------------------- odd v1 data (dataset files)
def base_document(seed: int = 51) -> dict[str, Any]:
    ids = IdSource(seed)
    meeting = lambda n, preset: {  # noqa: E731
        "title": f"Meeting {n}",
        "status": "CREATED",
        "presetName": preset,
        "participants": [
            {"name": f"P{n}.{j}", "clientSpecificId": f"u-{n}-{j}", "email": f"p{n}{j}@example.com"} for j in range(2)
        ],
    }
    from migrator.sandbox.dataset import PRESETS, ROLES

    return {
        "credentials": canary_credentials(ids),
        "v1": {
            "roles": copy.deepcopy(ROLES),
            "presets": copy.deepcopy(PRESETS[:3]),
            "meetings": [meeting(1, PRESETS[0]["name"]), meeting(2, None)],
            "webhooks": [{"name": "hook", "url": "https://hooks.example.invalid/a", "events": ["meeting.started"]}],
        },
    }


HUGE = "Ω≈ç√∫" * 20000  # 100k characters
ODD_TEXT = "名前 👩🏽‍💻 مرحبا \u200b\u202e\u0000 e\u0301 <b>&amp;</b> '\"; DROP TABLE entities; --"


def _meeting(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    doc["v1"]["meetings"][0].update(fields)
    return doc


def _participant(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    doc["v1"]["meetings"][0]["participants"][0].update(fields)
    return doc


def _webhook(doc: dict[str, Any], **fields: Any) -> dict[str, Any]:
    doc["v1"]["webhooks"][0].update(fields)
    return doc


def _drop(doc: dict[str, Any], where: str, key: str) -> dict[str, Any]:
    target = {
        "meeting": doc["v1"]["meetings"][0],
        "participant": doc["v1"]["meetings"][0]["participants"][0],
        "webhook": doc["v1"]["webhooks"][0],
    }[where]
    target.pop(key, None)
    return doc


ODD_DATA: list[tuple[str, Callable[[dict[str, Any]], dict[str, Any]]]] = [
    ("meeting title missing", lambda d: _drop(d, "meeting", "title")),
    ("meeting title null", lambda d: _meeting(d, title=None)),
    ("meeting title a number", lambda d: _meeting(d, title=12345)),
    ("meeting title 100k characters", lambda d: _meeting(d, title=HUGE)),
    ("meeting title non-ASCII, RTL, NUL, markup", lambda d: _meeting(d, title=ODD_TEXT)),
    ("meeting status unknown enum", lambda d: _meeting(d, status="ARCHIVED")),
    ("meeting status null", lambda d: _meeting(d, status=None)),
    ("meeting preset unknown", lambda d: _meeting(d, presetName="no_such_preset")),
    ("participant name 100k characters", lambda d: _participant(d, name=HUGE)),
    ("participant name a list", lambda d: _participant(d, name=["a", "b"])),
    ("participant name non-ASCII", lambda d: _participant(d, name=ODD_TEXT)),
    ("participant picture not a URL", lambda d: _participant(d, picture="not a url")),
    ("participant picture javascript: URL", lambda d: _participant(d, picture="javascript:alert(1)")),
    ("participant email a number", lambda d: _participant(d, email=42)),
    ("participant clientSpecificId a number", lambda d: _participant(d, clientSpecificId=7)),
    ("participant clientSpecificId empty", lambda d: _participant(d, clientSpecificId="")),
    ("participant clientSpecificId 100k characters", lambda d: _participant(d, clientSpecificId=HUGE)),
    ("participant clientSpecificId twice in a meeting", lambda d: _participant(d, clientSpecificId="u-1-1")),
    ("participant preset unknown", lambda d: _participant(d, presetName="ghost_preset")),
    ("participant role unknown", lambda d: _participant(d, roleName="ghost_role")),
    ("participant preset a number", lambda d: _participant(d, presetName=3)),
    ("webhook url not a URL", lambda d: _webhook(d, url="not a url")),
    ("webhook url ftp://", lambda d: _webhook(d, url="ftp://files.example.invalid/x")),
    ("webhook event unknown", lambda d: _webhook(d, events=["meeting.exploded"])),
    ("webhook events empty", lambda d: _webhook(d, events=[])),
    ("webhook name null", lambda d: _webhook(d, name=None)),
    ("webhook enabled a string", lambda d: _webhook(d, enabled="yes")),
    ("webhook url 100k characters", lambda d: _webhook(d, url="https://x.example.invalid/" + "a" * 100000)),
]


def check_odd_data(org: Org, cli: Cli, run: Any) -> dict[str, Any]:
    """The properties every run on odd v1 data must have; returns facts for the tally."""
    run.assert_clean_failure(EXIT_OK, EXIT_FAILED, line_required=False)
    outcome = run.outcome or {}
    assert outcome.get("status") in ("complete", "failed"), run.stdout[-500:]
    exact = exactness(org, cli.ledger, expect_all=False)
    assert exact.exact, exact.details
    rows = ledger_rows(
        cli.ledger, "SELECT kind, key, state, reason, last_error, parent_key, desired FROM entities WHERE action IS NOT 'gone'"
    )
    states = {(k, key): s for k, key, s, *_ in rows}
    unexplained = []
    for kind, key, state, reason, error, parent, desired in rows:
        if state == "intent":
            unexplained.append(f"{kind} {key} left in intent")
        elif state in ("unmappable", "conflict") and not reason:
            unexplained.append(f"{kind} {key} {state} without a reason")
        elif state == "failed" and not (error or reason):
            unexplained.append(f"{kind} {key} failed without an error")
        elif state == "pending":
            preset = (json.loads(desired) if desired else {}).get("preset_name")
            blocked = states.get(("meeting", parent)) != "done" or states.get(("preset", preset)) != "done"
            if kind != "participant" or not blocked:
                unexplained.append(f"{kind} {key} still pending")
    assert not unexplained, unexplained
    bad = sum(1 for row in rows if row[2] != "done")
    assert (run.code == EXIT_OK) == (bad == 0), f"exit {run.code} with {bad} entities not done"
    return {"lost": exact.lost, "duplicated": exact.duplicated, "unknown": exact.unknown_to_ledger, "not_done": bad}


@pytest.mark.parametrize("case,edit", ODD_DATA, ids=[c[0] for c in ODD_DATA])
def test_odd_v1_data_is_migrated_or_explained(
    tmp_path: Path, org_factory: Any, tally: Tally, case: str, edit: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    org = org_factory(seed=51, document=edit(base_document()), rate_limit=0)
    cli = Cli(tmp_path / "ws", org.credentials)
    run = cli.invoke("migrate")
    facts: dict[str, Any] = {}
    try:
        facts = check_odd_data(org, cli, run)
    finally:
        tally.add(
            "hostile",
            {
                "group": "odd v1 data",
                "case": case,
                "exit": run.code,
                "expected": "0 or 1",
                "line": run.error_lines[:1],
                "ok": bool(facts),
                **facts,
            },
        )


# --------------------------------------------------------------------------- hypothesis
ODD_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.text(
        alphabet=st.characters(min_codepoint=0x80, max_codepoint=0x2FFFF, blacklist_categories=("Cs",)), min_size=1, max_size=30
    ),
    st.sampled_from(
        [
            "",
            " ",
            "CREATED",
            "LIVE",
            "CLOSED",
            "ARCHIVED",
            "https://ok.example.invalid/p.png",
            "javascript:alert(1)",
            "not a url",
            "webinar_host",
            "group_call",
            "host",
            "viewer",
            "meeting.started",
            "x" * 5000,
        ]
    ),
)
ODD_VALUES = st.one_of(
    ODD_SCALARS, st.lists(ODD_SCALARS, max_size=3), st.dictionaries(st.text(max_size=5), ODD_SCALARS, max_size=2)
)
MEETING_FIELDS = ("title", "status", "presetName")
PARTICIPANT_FIELDS = ("name", "email", "picture", "clientSpecificId", "presetName", "roleName")
WEBHOOK_FIELDS = ("name", "url", "events", "enabled")


@st.composite
def odd_documents(draw: Any) -> dict[str, Any]:
    doc = base_document()
    for meeting in doc["v1"]["meetings"]:
        for field_name in draw(st.lists(st.sampled_from(MEETING_FIELDS), unique=True, max_size=2)):
            meeting[field_name] = draw(ODD_VALUES)
        for participant in meeting["participants"]:
            for field_name in draw(st.lists(st.sampled_from(PARTICIPANT_FIELDS), unique=True, max_size=3)):
                if draw(st.booleans()):
                    participant.pop(field_name, None)
                else:
                    participant[field_name] = draw(ODD_VALUES)
    hook = doc["v1"]["webhooks"][0]
    for field_name in draw(st.lists(st.sampled_from(WEBHOOK_FIELDS), unique=True, max_size=2)):
        value = draw(ODD_VALUES)
        hook[field_name] = value if field_name != "events" or isinstance(value, list) else [value]
    return doc


def test_generated_odd_v1_data_is_migrated_or_explained(tmp_path: Path, tally: Tally) -> None:
    generated_odd_data(tmp_path, tally, examples=20, derandomize=True)


@pytest.mark.soak
@pytest.mark.timeout(3600)
def test_generated_odd_v1_data_soak(tmp_path: Path, tally: Tally) -> None:
    generated_odd_data(tmp_path, tally, examples=400, derandomize=False)


def generated_odd_data(tmp_path: Path, tally: Tally, *, examples: int, derandomize: bool) -> None:
    """Each example: a sandbox serving a generated org, one in-process migrate, `check_odd_data`."""
    tried: list[dict[str, Any]] = []
    count = iter(range(10**6))

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(doc=odd_documents())
    def check(doc: dict[str, Any]) -> None:
        root = tmp_path / f"example{next(count)}"
        org = start_org(root / "org", seed=52, document=copy.deepcopy(doc), rate_limit=0)
        try:
            cli = Cli(root / "ws", org.credentials)
            run = cli.invoke("migrate")
            facts = check_odd_data(org, cli, run)
            tried.append({"exit": run.code, **facts})
        finally:
            org.server.stop()

    try:
        check()
    finally:
        codes: dict[int, int] = {}
        for e in tried:
            codes[e["exit"]] = codes.get(e["exit"], 0) + 1
        tally.add(
            "hostile",
            {
                "group": "odd v1 data",
                "case": "hypothesis-generated orgs",
                "exit": None,
                "exits": codes,
                "expected": "0 or 1",
                "examples": len(tried),
                "ok": len(tried) > 0,
                "duplicated": sum(e["duplicated"] for e in tried),
                "unknown": sum(e["unknown"] for e in tried),
            },
        )
