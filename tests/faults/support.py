"""Shared machinery of the robustness suite: canary orgs, CLI runs, independent checks.

* `canary_document(seed, ...)`: the sandbox's seeded sample org with recognizable canary
  API keys (`CANARY-V1-KEY-...`, `CANARY-V2-KEY-...`), written as a dataset file.
* `Org`: a running sandbox plus everything secret it handed out (keys, the v2 Basic
  header, every participant token it issued), read straight from its store.
* `Cli`: one workspace (credentials, ledger, reports); runs `dyte-migrate` as a
  subprocess (for kills, signals and parallel runs) or in-process (for speed).
* `exactness(org, ledger)`: lost / duplicated objects and target objects the ledger does
  not know, counted through the source's and the target's own APIs, not through the tool.
* `pair_of(seed)`: the (source, target) pair a seed migrates, round-robin over `PAIRS`, so
  a suite's seeds cover every pair without multiplying its runs.
* `SECRETS`: every canary and every output of every run, scanned by test_secrets.py.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import re
import secrets as pysecrets
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from migrator.cli import read_outcome
from migrator.sandbox import dataset
from migrator.sandbox.idgen import IdSource
from migrator.sandbox.server import SandboxServer
from tests.integration.helpers import PAIRS, Inventory, inventory, seed_v2_org

REPO = Path(__file__).resolve().parents[2]
CANARY_PREFIX = "CANARY-"
CANARY_RE = re.compile(rb"CANARY-[A-Za-z0-9-]{6,}")
SANDBOX_TOKEN_RE = re.compile(rb"sbx\.[A-Za-z0-9]{24}\.[A-Za-z0-9]{43}")
TRACEBACK_MARKERS = ("Traceback (most recent call last)", "internal error:")


def canary(kind: str) -> str:
    return f"{CANARY_PREFIX}{kind}-{pysecrets.token_hex(8)}"


def canary_credentials(ids: IdSource) -> dict[str, dict[str, str]]:
    return {
        "v1": {"org_id": ids.uuid(), "api_key": canary("V1-KEY")},
        "v2": {"org_id": ids.uuid(), "api_key": canary("V2-KEY")},
        "realtimekit": {"api_token": canary("RTK-TOKEN")},
    }


def canary_document(seed: int, meetings: int, participants: int) -> dict[str, Any]:
    """The seeded sample org, with canary API keys on every side."""
    ids = IdSource(seed)
    creds = canary_credentials(ids)
    document = copy.deepcopy(dataset.sample(ids, meetings, participants))  # it shares module-level lists
    document["credentials"] = creds
    return document


def write_document(folder: Path, document: dict[str, Any], name: str = "org.json") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- secrets
class SecretRegistry:
    """Canaries handed out during the session and the artefacts that must not hold them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, str] = {}  # secret -> what it is
        self.texts: list[tuple[str, str]] = []  # (label, text) of stdout/stderr/exception strings
        self.folders: list[Path] = []  # workspaces: ledger files, reports
        self.excluded: set[Path] = set()  # files that hold secrets legitimately (credentials, datasets)
        self.ledger_ok: set[str] = set()  # v1 data the ledger's snapshot keeps verbatim (a presigned s3URL)

    def add(self, value: str, what: str, *, ledger_ok: bool = False) -> None:
        if value:
            with self._lock:
                self.values[value] = what
                if ledger_ok:
                    self.ledger_ok.add(value)

    def text(self, label: str, text: str | None) -> None:
        if text:
            with self._lock:
                self.texts.append((label, text))

    def folder(self, path: Path) -> None:
        with self._lock:
            self.folders.append(path)

    def exclude(self, path: Path) -> None:
        with self._lock:
            self.excluded.add(path.resolve())

    def artefacts(self, folders: list[Path] | None = None, texts: list[str] | None = None) -> Iterable[tuple[str, bytes]]:
        if texts is None:
            for label, text in list(self.texts):
                yield label, text.encode("utf-8", "replace")
        else:
            for i, text in enumerate(texts):
                yield f"stdout/stderr: {i}", text.encode("utf-8", "replace")
        for folder in list(self.folders) if folders is None else folders:
            if not folder.exists():
                continue
            for path in sorted(folder.rglob("*")):
                if path.is_file() and path.resolve() not in self.excluded:
                    yield str(path), path.read_bytes()

    def scan(
        self, extra: Iterable[tuple[str, bytes]] = (), only: list[Path] | None = None, texts: list[str] | None = None
    ) -> tuple[int, list[str], list[str]]:
        """(artefacts scanned, leaks as 'what in where', kinds of places scanned); all of them by default."""
        known = {value.encode(): what for value, what in self.values.items()}
        ledger_ok = {value.encode() for value in self.ledger_ok}
        specific = [
            (value, what)
            for value, what in known.items()
            if not CANARY_RE.fullmatch(value) and not SANDBOX_TOKEN_RE.fullmatch(value)
        ]
        leaks: list[str] = []
        places: set[str] = set()
        count = 0
        for where, data in [*self.artefacts(only, texts), *extra]:
            count += 1
            places.add(_place_kind(where))
            found = set(CANARY_RE.findall(data)) | set(SANDBOX_TOKEN_RE.findall(data))
            if ".sqlite" in Path(where).name:
                found -= ledger_ok
            for value in found:
                if value in known:
                    leaks.append(f"{known[value]} in {where}")
                elif value.startswith(b"CANARY-"):
                    leaks.append(f"unregistered canary {value[:24]!r}... in {where}")
            for value, what in specific:
                if value in data:
                    leaks.append(f"{what} in {where}")
        return count, leaks, sorted(places)


def _place_kind(where: str) -> str:
    if where.startswith(("stdout", "stderr", "exception")):
        return where.split(":", 1)[0].replace("stderr", "stderr (-vv logs)")
    name = Path(where).name
    if Path(where).parent.name == "logs":
        return "subprocess " + name.rsplit(".", 1)[-1] + " files (-vv logs)"
    if ".sqlite" in name:
        return "ledger (" + (name.split(".sqlite", 1)[1] or "db") + ")"
    return "report ." + name.rsplit(".", 1)[-1] if "." in name else "file"


SECRETS = SecretRegistry()


# --------------------------------------------------------------------------- orgs
@dataclass
class Org:
    """A sandbox with canary keys, and the pair a test migrates on it; remembers every participant token it issued."""

    server: SandboxServer
    document_path: Path | None = None
    source: str = "dyte-v1"
    target: str = "dyte-v2"
    tokens: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        creds = self.server.credentials
        for side in ("v1", "v2"):
            SECRETS.add(creds[side]["api_key"], f"{side} API key")
        SECRETS.add(creds["realtimekit"]["api_token"], "RealtimeKit API token")
        basic = base64.b64encode(f"{creds['v2']['org_id']}:{creds['v2']['api_key']}".encode()).decode()
        SECRETS.add(basic, "v2 Basic authorization value")
        self._record_tokens()

    def _record_tokens(self) -> None:
        ids = self.server.app.store.ids
        issue = ids.token

        def recording_token() -> str:
            value = issue()
            self.tokens.add(value)
            SECRETS.add(value, "participant token")
            return value

        ids.token = recording_token  # type: ignore[method-assign]

    def reset(self) -> None:
        """The sandbox's reset (initial data, zero stats), still recording the tokens it issues."""
        self.server.reset()
        self._record_tokens()

    @property
    def credentials(self) -> dict[str, dict[str, str]]:
        return self.server.credentials

    @property
    def pair(self) -> tuple[str, str]:
        return (self.source, self.target)

    @property
    def pair_label(self) -> str:
        return f"{self.source} → {self.target}"

    def stats(self) -> dict[str, Any]:
        return self.server.stats()


def pair_of(seed: int) -> tuple[str, str]:
    """The (source, target) pair a seed migrates: the seeds of a suite go round-robin over the pairs."""
    return PAIRS[seed % len(PAIRS)]


def start_org(
    folder: Path,
    *,
    seed: int,
    meetings: int = 8,
    participants: int = 6,
    document: dict[str, Any] | None = None,
    pair: tuple[str, str] = PAIRS[0],
    **options: Any,
) -> Org:
    """A sandbox serving a canary org (the seeded sample unless `document` is given) for a migration of `pair`.

    For a Dyte v2 source the v2 org is first filled from the v1 org by a real migration, over a
    clean line: the faults, rate limit and latency of `options` start once it is seeded.
    """
    document = document if document is not None else canary_document(seed, meetings, participants)
    path = write_document(folder, document)
    SECRETS.exclude(path)
    server = SandboxServer(dataset=str(path), random_seed=seed, **options)
    source, target = pair
    if source == "dyte-v2":
        server.app.set_conditions(replace(server.options, faults="", rate_limit=0, latency_ms=0))
    org = Org(server.start(), path, source, target)
    if source == "dyte-v2":
        seed_v2_org(folder, org)
        server.app.set_conditions(server.options)
        server.app.stats.reset()
    return org


# --------------------------------------------------------------------------- ledger reads
def ledger_rows(ledger: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(sql, params).fetchall()


def ledger_v2_ids(ledger: Path) -> set[str]:
    if not ledger.exists():
        return set()
    return {r[0] for r in ledger_rows(ledger, "SELECT v2_id FROM entities WHERE v2_id IS NOT NULL")}


# --------------------------------------------------------------------------- exactness
@dataclass
class Exactness:
    lost: int = 0
    duplicated: int = 0
    unknown_to_ledger: int = 0
    checked: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not (self.lost or self.duplicated or self.unknown_to_ledger)


def _diff(name: str, want: Counter[Any], have: Counter[Any], out: Exactness) -> None:
    for key in want.keys() | have.keys():
        w, h = want.get(key, 0), have.get(key, 0)
        out.checked += w
        if h < w:
            out.lost += w - h
            out.details.append(f"{name} {key!r}: {w - h} missing")
        elif h > w:
            out.duplicated += h - w
            out.details.append(f"{name} {key!r}: {h - w} extra")


def unknown_v2_objects(org: Org, ledger: Path, target: Inventory | None = None) -> list[str]:
    """Target objects (presets, meetings, participants, webhooks) whose id the ledger does not hold."""
    known = ledger_v2_ids(ledger)
    target = target or inventory(org, org.target)
    return [f"{kind} {target_id}" for kind, target_id in target.ids if target_id not in known]


def exactness(org: Org, ledger: Path, *, expect_all: bool = True) -> Exactness:
    """Compare the source with the target, each read through its own API (`org.pair`).

    With `expect_all`, every source meeting, participant and webhook must have exactly one
    counterpart in the target (meetings by title, participants by meeting and custom id,
    webhooks by url and name; a Dyte v2 source's presets by name) and every preset a
    participant names must exist. Without it (hostile data, where some objects are rightly
    unmappable and natural keys may be odd), every entity the ledger calls done must have
    its own target object. In both modes a target object the ledger does not know (a
    duplicate from a blind retry) counts.
    """
    out = Exactness()
    have = inventory(org, org.target)
    if expect_all:
        want = inventory(org, org.source)
        _diff("meeting", want.meetings, have.meetings, out)
        _diff("participant", want.participants, have.participants, out)
        _diff("webhook", want.webhooks, have.webhooks, out)
        if org.source == "dyte-v2":
            _diff("preset", want.presets, have.presets, out)
        missing = {name for _, _, name in have.participant_presets} - set(have.presets)
        out.lost += len(missing)
        out.details += [f"preset {name!r} missing" for name in sorted(missing)]
    elif ledger.exists():  # through the ledger: each entity it calls done has its own target object, which exists
        target_ids = {target_id for _, target_id in have.ids}
        rows = ledger_rows(ledger, "SELECT kind, key, v2_id FROM entities WHERE state = 'done' AND action IS NOT 'gone'")
        shared = Counter(v2_id for _, _, v2_id in rows)
        for kind, key, v2_id in rows:
            out.checked += 1
            if v2_id not in target_ids or shared[v2_id] > 1:
                out.lost += 1
                out.details.append(f"{kind} {key}: its target object {v2_id} is missing or shared")
    unknown = unknown_v2_objects(org, ledger, have)
    out.unknown_to_ledger = len(unknown)
    out.details += [f"not in the ledger: {u}" for u in unknown[:20]]
    return out


# --------------------------------------------------------------------------- CLI
@dataclass
class Run:
    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float = 0.0

    @property
    def outcome(self) -> dict[str, Any] | None:
        return read_outcome(self.stdout)

    @property
    def error_lines(self) -> list[str]:
        """stderr without the -v/-vv log lines (which start with a level name) and, for a run that
        finished or stopped, without its human summary (under --json it goes to stderr)."""
        lines = [
            line for line in self.stderr.splitlines() if line.strip() and not line.startswith(("DEBUG ", "INFO ", "WARNING "))
        ]
        outcome = self.outcome
        if outcome is not None and "error" not in outcome:
            return [line for line in lines if line.startswith("error:")]
        return lines

    def assert_clean_failure(self, *codes: int, naming: str | tuple[str, ...] = (), line_required: bool = True) -> str:
        """Exit code in `codes`; at most one error line, no traceback; returns the line."""
        assert self.code in codes, f"exit {self.code}, expected {codes}: {self.stderr[-800:]}"
        for marker in TRACEBACK_MARKERS:
            assert marker not in self.stderr and marker not in self.stdout, self.stderr[-1500:]
        errors = self.error_lines
        assert len(errors) <= 1, f"more than one error line: {errors[:5]}"
        line = errors[0] if errors else ""
        if self.code != 0 and (line or line_required):
            assert line.startswith("error: "), f"no one-line error: {self.stderr[-500:]!r}"
        for name in (naming,) if isinstance(naming, str) else naming:
            if name:
                assert name in line, f"{name!r} not named in {line!r}"
        return line


class Cli:
    """One user's folder: credentials file, ledger and reports; runs dyte-migrate."""

    def __init__(
        self,
        root: Path,
        credentials: dict[str, Any] | None,
        *,
        timeout: float = 2.0,
        rate_limit: float = 0,
        verbose: int = 2,
        pair: tuple[str, str] | None = None,
    ) -> None:
        """`pair`: pass `--source` and `--target` (the target paced like the source); else the configured ones."""
        self.root = root
        self.pair = pair
        root.mkdir(parents=True, exist_ok=True)
        self.credentials = root / "credentials.json"
        if credentials is not None:
            self.credentials.write_text(json.dumps(credentials))
        SECRETS.exclude(self.credentials)
        SECRETS.folder(root)
        self.ledger = root / "ledger.sqlite"
        self.reports = root / "reports"
        self.timeout, self.rate_limit, self.verbose = timeout, rate_limit, verbose
        self._spawned = 0

    def args(self, *command: str, extra: tuple[str, ...] = (), verbose: int | None = None) -> list[str]:
        verbose = self.verbose if verbose is None else verbose
        return [
            "--credentials",
            str(self.credentials),
            "--ledger",
            str(self.ledger),
            "--reports-dir",
            str(self.reports),
            "--rate-limit",
            str(self.rate_limit),
            "--timeout",
            str(self.timeout),
            "--no-progress",
            "--json",
            *(
                ["--source", self.pair[0], "--target", self.pair[1], "--target-rate-limit", str(self.rate_limit)]
                if self.pair
                else []
            ),
            *(["-" + "v" * verbose] if verbose else []),
            *extra,
            *command,
        ]

    def spawn(self, *command: str, extra: tuple[str, ...] = ()) -> subprocess.Popen[str]:
        """Start the CLI; its stdout and stderr go to files under `logs/` (a pipe nobody reads while
        the test polls the ledger would fill up with -vv logs and block the run)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DYTE_", "CLOUDFLARE_", "REALTIMEKIT_"))}
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        self._spawned += 1
        name = f"{self._spawned:03d}-{command[0] if command else 'none'}"
        with open(logs / f"{name}.stdout", "w") as out, open(logs / f"{name}.stderr", "w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "migrator", *self.args(*command, extra=extra)],
                stdout=out,
                stderr=err,
                text=True,
                cwd=self.root,
                env=env,
                start_new_session=True,
            )
        proc.log_paths = (logs / f"{name}.stdout", logs / f"{name}.stderr")  # type: ignore[attr-defined]
        return proc

    @staticmethod
    def output(proc: subprocess.Popen[str]) -> tuple[str, str]:
        out, err = proc.log_paths  # type: ignore[attr-defined]
        return out.read_text(errors="replace"), err.read_text(errors="replace")

    def finish(self, proc: subprocess.Popen[str], args: list[str], timeout: float = 180) -> Run:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            raise AssertionError(
                f"dyte-migrate {' '.join(args)} did not finish in {timeout}s: {self.output(proc)[1][-800:]}"
            ) from None
        out, err = self.output(proc)
        return self._record(Run(args, proc.returncode, out, err))

    def run(self, *command: str, extra: tuple[str, ...] = (), timeout: float = 180) -> Run:
        """As a subprocess, to completion."""
        import time

        started = time.monotonic()
        run = self.finish(self.spawn(*command, extra=extra), list(command), timeout)
        run.seconds = time.monotonic() - started
        return run

    def invoke(self, *command: str, extra: tuple[str, ...] = ()) -> Run:
        """In-process (click's CliRunner): fast, and lets a test monkeypatch the product."""
        from click.testing import CliRunner

        from migrator.cli import cli

        # No -v here: under pytest the root logger already has handlers, so logs would not reach stderr.
        result = CliRunner().invoke(cli, self.args(*command, extra=extra, verbose=0), catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise AssertionError(f"the CLI raised {type(result.exception).__name__}: {result.exception}") from result.exception
        return self._record(Run(list(command), result.exit_code, result.stdout, result.stderr))

    @staticmethod
    def _record(run: Run) -> Run:
        label = " ".join(run.args)
        SECRETS.text(f"stdout: {label}", run.stdout)
        SECRETS.text(f"stderr: {label}", run.stderr)
        return run
