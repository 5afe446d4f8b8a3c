"""Hostile configuration: mapping files, ledgers, credentials, hosts.

Each case runs the real CLI (in-process) and must end with the documented exit code
and one line naming the thing (the file, the ledger, the side), no traceback, and no
v2 write: 2 for mapping files, corrupt ledgers and credentials; 4 for a ledger of
another org pair; 1 for a host that cannot be reached at run time.
"""

from __future__ import annotations

import copy
import json
import os
import random
import shutil
import socket
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from migrator.api import default_mappings_dir
from migrator.errors import EXIT_FAILED, EXIT_LOCKED, EXIT_OK, EXIT_USAGE

from .support import Cli, Org, exactness, start_org
from .tally import Tally


def record(tally: Tally, group: str, case: str, run: Any, expected: int, ok: bool, **extra: Any) -> None:
    tally.add(
        "hostile",
        {
            "group": group,
            "case": case,
            "exit": run.code if run else None,
            "expected": expected,
            "line": run.error_lines[:1] if run else [],
            "ok": ok,
            **extra,
        },
    )


def checked(tally: Tally, group: str, case: str, run: Any, org: Org, expected: int, naming: str | tuple[str, ...]) -> str:
    writes = org.stats()["totals"]["v2_writes"]
    ok = False
    try:
        line = run.assert_clean_failure(expected, naming=naming)
        assert writes == 0, f"{writes} v2 writes"
        ok = True
    finally:
        record(tally, group, case, run, expected, ok, v2_writes=writes, unknown=writes)
    return line


@pytest.fixture(scope="module")
def module_org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Org]:
    org = start_org(tmp_path_factory.mktemp("config-org"), seed=61, meetings=3, participants=2, rate_limit=0)
    yield org
    org.server.stop()


@pytest.fixture
def org(module_org: Org) -> Org:
    module_org.reset()  # same seed: same data, zero stats
    return module_org


# --------------------------------------------------------------------------- mapping files
def _edit(name: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def apply(folder: Path) -> None:
        path = folder / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")

    return apply


def _write_bytes(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


MAPPING_CASES: list[tuple[str, Callable[[Path], None], str]] = [
    (
        "YAML syntax error",
        _edit("participants.yaml", lambda t: t.replace("kind: participant", "kind: [participant")),
        "participants.yaml",
    ),
    (
        "unknown rule key",
        _edit("webhooks.yaml", lambda t: t.replace("        type: uri\n", "        typo: uri\n", 1)),
        "webhooks.yaml",
    ),
    (
        "target field v2 does not have",
        _edit("meetings.yaml", lambda t: t.replace("to: title", "to: headline", 1)),
        "meetings.yaml",
    ),
    ("file missing", lambda folder: (folder / "presets.yaml").unlink(), "presets.yaml"),
    ("not UTF-8", _write_bytes("meetings.yaml", b"kind: meeting\n\xff\xfe\x00title"), "meetings.yaml"),
    ("empty file", _write_bytes("endpoints.yaml", b""), "endpoints.yaml"),
    ("a list, not a mapping", _write_bytes("webhooks.yaml", b"- kind: webhook\n"), "webhooks.yaml"),
    (
        "YAML tag that would run code",
        _write_bytes("webhooks.yaml", b"kind: !!python/object/apply:os.system ['true']\n"),
        "webhooks.yaml",
    ),
    ("the folder does not exist", lambda folder: shutil.rmtree(folder), "mapping"),
]


@pytest.mark.parametrize("case,breaks,naming", MAPPING_CASES, ids=[c[0] for c in MAPPING_CASES])
@pytest.mark.parametrize("command", ["plan", "migrate"])
def test_mapping_file_error_is_exit_2_naming_the_file(
    tmp_path: Path, org: Org, tally: Tally, command: str, case: str, breaks: Callable[[Path], None], naming: str
) -> None:
    mappings = tmp_path / "mappings"
    shutil.copytree(default_mappings_dir(), mappings)
    breaks(mappings)
    cli = Cli(tmp_path / "ws", org.credentials)
    run = cli.invoke(command, extra=("--mappings", str(mappings)))
    checked(tally, "mapping files", f"{case} ({command})", run, org, EXIT_USAGE, naming)
    assert not cli.ledger.exists(), "a bad mapping folder must fail before the ledger is created"


MUTATIONS = ("delete", "duplicate", "indent", "dedent", "swap", "value", "truncate")
ODD_YAML_VALUES = [
    "null",
    "[]",
    "{}",
    "-1",
    "1e999",
    "true",
    "'x'",
    "~",
    "*anchor",
    "&a x",
    ":",
    " - x",
    "|",
    ">-",
    "'unterminated",
    '"\\x"',
    "!!binary aGk=",
    "0x1F",
    ".nan",
    "2001-12-14",
    "ÿ",
]


@st.composite
def mapping_mutations(draw: Any) -> tuple[str, str, int, str]:
    name = draw(st.sampled_from(sorted(p.name for p in default_mappings_dir().glob("*.yaml"))))
    lines = (default_mappings_dir() / name).read_text(encoding="utf-8").splitlines(keepends=True)
    return name, draw(st.sampled_from(MUTATIONS)), draw(st.integers(0, len(lines) - 1)), draw(st.sampled_from(ODD_YAML_VALUES))


def test_generated_mapping_damage_is_exit_0_or_2_never_a_traceback(tmp_path: Path, org: Org, tally: Tally) -> None:
    tried: dict[int, int] = {}
    count = iter(range(10**6))

    @settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(mutation=mapping_mutations())
    def check(mutation: tuple[str, str, int, str]) -> None:
        name, how, at, value = mutation
        folder = tmp_path / f"m{next(count)}"
        shutil.copytree(default_mappings_dir(), folder)
        path = folder / name
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        if how == "delete":
            del lines[at]
        elif how == "duplicate":
            lines.insert(at, lines[at])
        elif how == "indent":
            lines[at] = "  " + lines[at]
        elif how == "dedent":
            lines[at] = lines[at].lstrip()
        elif how == "swap":
            lines[at], lines[-1 - at] = lines[-1 - at], lines[at]
        elif how == "value" and ":" in lines[at]:
            lines[at] = lines[at].split(":", 1)[0] + ": " + value + "\n"
        elif how == "truncate":
            lines = lines[:at]
        path.write_text("".join(lines), encoding="utf-8")
        cli = Cli(folder.with_name(folder.name + "-ws"), org.credentials)
        run = cli.invoke("check", extra=("--mappings", str(folder)))
        line = run.assert_clean_failure(EXIT_OK, EXIT_USAGE)
        if run.code == EXIT_USAGE:
            assert "mapping" in line or ".yaml" in line, line
        tried[run.code] = tried.get(run.code, 0) + 1

    try:
        check()
    finally:
        tally.add(
            "hostile",
            {
                "group": "mapping files",
                "case": "hypothesis-damaged mapping files (check)",
                "exit": None,
                "exits": tried,
                "expected": "0 or 2",
                "examples": sum(tried.values()),
                "ok": True,
            },
        )
    assert org.stats()["totals"]["v2_writes"] == 0


# --------------------------------------------------------------------------- ledgers
@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory, module_org: Org) -> tuple[Path, dict[str, Any]]:
    """A ledger of a complete migration of `module_org`, and the v2 state it describes."""
    module_org.reset()
    cli = Cli(tmp_path_factory.mktemp("migrated"), module_org.credentials)
    assert cli.invoke("migrate").code == EXIT_OK
    store = module_org.server.app.store
    with store.lock:
        saved = copy.deepcopy(store.orgs)
    return cli.ledger, saved


def _restore(org: Org, saved: Any) -> None:
    store = org.server.app.store
    with store.lock:
        store.orgs = copy.deepcopy(saved)
    org.server.app.stats.reset()


def _sql(*statements: str) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        with sqlite3.connect(path) as conn:
            for statement in statements:
                conn.execute(statement)

    return apply


def _flip(count: int, seed: int) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        data = bytearray(path.read_bytes())
        rng = random.Random(seed)
        for _ in range(count):
            data[rng.randrange(100, len(data))] ^= 0xFF
        path.write_bytes(bytes(data))

    return apply


LEDGER_CASES: list[tuple[str, Callable[[Path], None], int, str]] = [
    ("random bytes", lambda p: p.write_bytes(os.urandom(8192)), EXIT_USAGE, "ledger"),
    ("truncated to 3000 bytes", lambda p: p.write_bytes(p.read_bytes()[:3000]), EXIT_USAGE, "ledger"),
    ("200 flipped bytes", _flip(200, 1), EXIT_USAGE, "ledger"),
    ("a text file", lambda p: p.write_text("these are my notes\n" * 100), EXIT_USAGE, "ledger"),
    (
        "another application's SQLite file",
        lambda p: (p.unlink(), _sql("CREATE TABLE notes(x)")(p)),
        EXIT_USAGE,
        "not a dyte-migrate ledger",
    ),
    ("a table dropped", _sql("DROP TABLE journal"), EXIT_USAGE, "journal"),
    ("a column dropped", _sql("ALTER TABLE entities DROP COLUMN extra"), EXIT_USAGE, "ledger"),
    ("a newer schema version", _sql("UPDATE meta SET value = '99' WHERE key = 'schema_version'"), EXIT_USAGE, "schema version"),
    ("the path is a directory", lambda p: (p.unlink(), p.mkdir()), EXIT_USAGE, "directory"),
    (
        "bound to the same v1 org but another v2 org",
        _sql("UPDATE meta SET value = '00000000-0000-4000-8000-000000000000' WHERE key = 'v2_org'"),
        EXIT_LOCKED,
        "belongs to",
    ),
    (
        "bound to another org pair",
        _sql(
            "UPDATE meta SET value = 'another-v1-org' WHERE key = 'v1_org'",
            "UPDATE meta SET value = 'another-v2-org' WHERE key = 'v2_org'",
        ),
        EXIT_LOCKED,
        "belongs to",
    ),
]


@pytest.mark.parametrize("case,damage,expected,naming", LEDGER_CASES, ids=[c[0] for c in LEDGER_CASES])
@pytest.mark.parametrize("command", ["migrate", "status"])
def test_bad_ledger_is_one_line_and_its_exit_code(
    tmp_path: Path,
    module_org: Org,
    migrated: Any,
    tally: Tally,
    command: str,
    case: str,
    damage: Callable[[Path], None],
    expected: int,
    naming: str,
) -> None:
    ledger, saved = migrated
    _restore(module_org, saved)
    cli = Cli(tmp_path / "ws", module_org.credentials)
    shutil.copy(ledger, cli.ledger)
    damage(cli.ledger)
    run = cli.invoke(command)
    if command == "status" and (expected == EXIT_LOCKED or case == "a column dropped"):
        expected = EXIT_OK  # status reads any pair's ledger (no network, no lock) and needs few columns
    if expected == EXIT_OK:
        run.assert_clean_failure(EXIT_OK)
        record(tally, "ledgers", f"{case} ({command})", run, expected, True)
        return
    checked(tally, "ledgers", f"{case} ({command})", run, module_org, expected, naming)


def test_generated_ledger_damage_is_a_clean_exit(tmp_path: Path, module_org: Org, migrated: Any, tally: Tally) -> None:
    """Random byte flips: SQLite may or may not notice; the CLI never shows a traceback and exits 0, 1 or 2."""
    ledger, saved = migrated
    tried: dict[int, int] = {}
    facts: dict[str, int] = {"exact": 0, "not exact": 0}
    count = iter(range(10**6))

    @settings(max_examples=25, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(flips=st.integers(1, 64), seed=st.integers(0, 2**32))
    def check(flips: int, seed: int) -> None:
        _restore(module_org, saved)
        cli = Cli(tmp_path / f"ws{next(count)}", module_org.credentials)
        shutil.copy(ledger, cli.ledger)
        _flip(flips, seed)(cli.ledger)
        run = cli.invoke("migrate")
        line = run.assert_clean_failure(EXIT_OK, EXIT_FAILED, EXIT_USAGE)
        if run.code == EXIT_USAGE:
            assert "ledger" in line, line
        tried[run.code] = tried.get(run.code, 0) + 1
        if run.code == EXIT_OK:
            facts["exact" if exactness(module_org, cli.ledger).exact else "not exact"] += 1

    try:
        check()
    finally:
        tally.add(
            "hostile",
            {
                "group": "ledgers",
                "case": "hypothesis: random byte flips in a complete ledger (migrate)",
                "exit": None,
                "exits": tried,
                "expected": "0, 1 or 2",
                "examples": sum(tried.values()),
                "ok": True,
                "after_exit_0": facts,
            },
        )


# --------------------------------------------------------------------------- credentials and hosts
def _creds(org: Org, side: str, **changes: Any) -> dict[str, Any]:
    creds = copy.deepcopy(org.credentials)
    creds[side].update(changes)
    return creds


CREDENTIAL_CASES: list[tuple[str, Callable[[Org], Any], str]] = [
    ("v1 API key wrong", lambda o: _creds(o, "v1", api_key="CANARY-WRONG-V1-KEY-0001"), "v1"),
    ("v2 API key wrong", lambda o: _creds(o, "v2", api_key="CANARY-WRONG-V2-KEY-0001"), "v2"),
    ("v1 org id of another org", lambda o: _creds(o, "v1", org_id="00000000-0000-4000-8000-000000000001"), "v1"),
    ("v2 org id of another org", lambda o: _creds(o, "v2", org_id="00000000-0000-4000-8000-000000000002"), "v2"),
    (
        "API key with a newline (header injection)",
        lambda o: _creds(o, "v1", api_key="CANARY-NEWLINE-KEY\nX-Injected: 1"),
        ("v1", "API key"),
    ),
    ("API key not ASCII", lambda o: _creds(o, "v2", api_key="CANARY-ключ-KEY-0001"), ("v2", "API key")),
    ("API key missing", lambda o: _creds(o, "v2", api_key=""), "api_key"),
    ("base URL not http", lambda o: _creds(o, "v1", base_url="ftp://127.0.0.1/v1"), "base URL"),
    ("credentials file not JSON", lambda o: "{not json", "credentials"),
    ("credentials file a list", lambda o: [1, 2], "credentials"),
    ("credentials file missing", lambda o: None, "does not exist"),
]


@pytest.mark.parametrize("case,make,naming", CREDENTIAL_CASES, ids=[c[0] for c in CREDENTIAL_CASES])
def test_bad_credentials_are_exit_2_before_any_write(
    tmp_path: Path, org: Org, tally: Tally, fast_retries: None, case: str, make: Callable[[Org], Any], naming: str
) -> None:
    creds = make(org)
    cli = Cli(tmp_path / "ws", None)
    if creds is not None:
        cli.credentials.write_text(creds if isinstance(creds, str) else json.dumps(creds))
        if isinstance(creds, dict):
            from .support import SECRETS

            for side in ("v1", "v2"):
                SECRETS.add(creds[side]["api_key"], f"{side} API key ({case})")
    run = cli.invoke("migrate")
    line = checked(tally, "credentials and hosts", case, run, org, EXIT_USAGE, naming)
    assert "CANARY" not in line


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    yield int(sock.getsockname()[1])
    sock.close()


@pytest.mark.parametrize("side", ["v1", "v2"])
@pytest.mark.parametrize("how", ["connection refused", "never answers"])
def test_unreachable_host_at_start_is_exit_2_naming_the_side(
    tmp_path: Path, org: Org, tally: Tally, fast_retries: None, silent_port: int, side: str, how: str
) -> None:
    """The preflight read fails: a configuration problem, nothing written (api.Migration._preflight)."""
    port = _closed_port() if how == "connection refused" else silent_port
    cli = Cli(tmp_path / "ws", _creds(org, side, base_url=f"http://127.0.0.1:{port}/{side}"), timeout=0.5)
    run = cli.invoke("migrate")
    checked(tally, "credentials and hosts", f"{side} host {how} at start", run, org, EXIT_USAGE, (side, f"127.0.0.1:{port}"))


def test_host_lost_in_the_middle_of_writes_is_exit_1_and_resumes_exact(
    tmp_path: Path, org_factory: Any, tally: Tally, fast_retries: None
) -> None:
    """v2 goes away after some writes: exit 1 naming v2, the ledger knows every write, a later run ends exact."""
    import threading

    import httpx

    from .hostile_server import HostileProxy, Request, Rule

    org = org_factory(seed=62, meetings=4, participants=4, rate_limit=0)
    writes = {"n": 0}
    holder: dict[str, HostileProxy] = {}

    async def gone_after_ten(req: Request, forward: Any) -> Any:
        writes["n"] += 1
        if writes["n"] == 11:  # drop this write unanswered and stop listening: the host is gone
            threading.Thread(target=holder["proxy"].stop, daemon=True).start()
        if writes["n"] > 10:
            raise httpx.ConnectError("host went away")
        return None

    proxy = holder["proxy"] = HostileProxy(org.server, [Rule("POST", r"^/v2/", before=gone_after_ten)]).start()
    try:
        cli = Cli(tmp_path / "ws", proxy.credentials)
        run = cli.invoke("migrate")
        ok = False
        try:
            run.assert_clean_failure(EXIT_FAILED, naming="v2")
            exact_mid = exactness(org, cli.ledger, expect_all=False)
            assert exact_mid.exact, exact_mid.details
            ok = True
        finally:
            record(tally, "credentials and hosts", "v2 host lost after 10 writes", run, EXIT_FAILED, ok)
    finally:
        proxy.stop()
    cli = Cli(tmp_path / "ws", org.credentials)  # the host is back
    final = cli.invoke("migrate")
    assert final.code == EXIT_OK, final.stderr
    exact = exactness(org, cli.ledger)
    assert exact.exact, exact.details
