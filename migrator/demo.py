"""`dyte-migrate demo`: the whole job against a throwaway sandbox.

The sandbox runs as a child process and is reached over HTTP only, like a real Dyte
host, so the demo exercises exactly the code a production run uses.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from migrator import api
from migrator.errors import EXIT_OK, ConfigError, TransportError
from migrator.settings import DEFAULT_SOURCE, DEFAULT_TARGET, PROFILES, check_pair, load_credentials

STARTUP_SECONDS = 30


@contextlib.contextmanager
def sandbox_process(workdir: Path, meetings: int, participants: int) -> Iterator[Path]:
    """Start `python -m migrator.sandbox serve` on a free port; yield its credentials file."""
    creds = workdir / "sandbox-credentials.json"
    log = (workdir / "sandbox.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "migrator.sandbox",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--dataset",
            "sample",
            "--meetings",
            str(meetings),
            "--participants",
            str(participants),
            "--credentials-out",
            str(creds),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not creds.exists():
            if proc.poll() is not None:
                last = (workdir / "sandbox.log").read_text(errors="replace").strip().splitlines()[-1:]
                raise TransportError(f"the sandbox exited with code {proc.returncode}: {' '.join(last) or 'no output'}")
            if time.monotonic() > deadline:
                raise TransportError(f"the sandbox did not start within {STARTUP_SECONDS} s")
            time.sleep(0.05)
        yield creds
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _seed_v2_org(creds_file: Path, options: api.Options, workdir: Path) -> str:
    """Fill the sandbox's (empty) Dyte v2 org by migrating its v1 org there, with a ledger of its own."""
    seeding = replace(options, ledger=workdir / "seed-v1-to-v2.sqlite", reports_dir=workdir / "seed-reports")
    outcome = api.Migration(load_credentials(creds_file), seeding).migrate()
    if outcome.exit_code != EXIT_OK:
        raise ConfigError(f"demo could not seed the sandbox's v2 org: {outcome.message}")
    return f"seed: the sandbox's v2 org filled from its v1 org - {outcome.message}"


def run_demo(
    options: api.Options,
    *,
    meetings: int,
    participants: int,
    ledger_given: bool,
    target: str = DEFAULT_TARGET,
    source: str = DEFAULT_SOURCE,
) -> tuple[api.Outcome, list[str]]:
    check_pair(source, target)
    if ledger_given and options.ledger is not None and options.ledger.exists():
        raise ConfigError(f"demo needs a fresh ledger; {options.ledger} already exists")
    lines: list[str] = [f"demo: sandbox with {meetings} meetings x {participants} participants; source {source}; target {target}"]
    outcomes: dict[str, api.Outcome] = {}
    # The ledger and the sandbox's credentials live here and go with it, however the demo ends.
    with tempfile.TemporaryDirectory(prefix="dyte-migrate-demo-") as workdir:
        if not ledger_given or options.ledger is None:  # a fresh sandbox needs a fresh ledger
            options = replace(options, ledger=Path(workdir) / "ledger.sqlite")
        with sandbox_process(Path(workdir), meetings, participants) as creds_file:
            if source != DEFAULT_SOURCE:  # a v2 source: the sandbox's v2 org starts empty
                lines.append(_seed_v2_org(creds_file, options, Path(workdir)))
            credentials = load_credentials(creds_file, target=target, source=source)
            migration = api.Migration(credentials, options)
            base = json.loads(creds_file.read_text())["v2"]["base_url"].rsplit("/v2", 1)[0]
            lines.append(f"demo: sandbox at {base}; target base URL {credentials.v2.base_url}")
            steps: list[tuple[str, Callable[[], api.Outcome]]] = [
                ("plan", migration.plan),
                ("migrate", migration.migrate),
                ("verify", migration.verify),
                ("migrate again", migration.migrate),
            ]
            for name, step in steps:
                outcome = step()
                outcomes[name] = outcome
                lines.append(f"{name}: {outcome.status} - {outcome.message}")
                if outcome.exit_code != EXIT_OK:
                    break
    again = outcomes.get("migrate again")
    rewrites = again.details.get("writes") if again else None
    if again is not None:
        lines.append(f"a second migrate made {rewrites} {PROFILES[target].title} writes")
    reports = sorted({p for o in outcomes.values() for p in o.reports})
    requests: dict[str, int] = {}
    for o in outcomes.values():
        for k, n in o.requests.items():
            requests[k] = requests.get(k, 0) + n
    failed = next((o for o in outcomes.values() if o.exit_code != EXIT_OK), None)
    migrated = outcomes.get("migrate")
    outcome = api.Outcome(
        "demo",
        "complete" if failed is None else failed.status,
        failed.exit_code if failed else EXIT_OK,
        migrated.counts if migrated else {},
        requests,
        reports,
        "demo complete: plan, migrate, verify clean, second migrate wrote nothing"
        if failed is None and rewrites == 0
        else f"demo stopped at {failed.command if failed else 'the repeat'}",
        {"steps": {k: o.status for k, o in outcomes.items()}, "second_migrate_writes": rewrites},
    )
    if failed is None and rewrites:
        outcome.status, outcome.exit_code = "failed", 1
    return outcome, lines
