"""The Python API: one method per command; the CLI only parses options and prints.

    from migrator.api import Migration, Options
    from migrator.settings import load_credentials

    migration = Migration(load_credentials(), Options())  # the default ledger of this org pair
    outcome = migration.migrate(max_seconds=1500)
    print(outcome.status, outcome.counts)
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
import signal
import time
from collections import Counter
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Awaitable, Callable, TypeVar

from migrator import export, ledger_files
from migrator.client import DyteClient
from migrator.errors import (EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, ConfigError, Interrupted, LedgerWriteError,
                             TransportError)
from migrator.extract import Extractor
from migrator.ledger import Ledger
from migrator.load import KIND_ORDER, Loader
from migrator.mapping import MappingSet
from migrator.plan import Planner, PlanSummary
from migrator.progress import ProgressDisplay
from migrator.reports import migrate_report, plan_report, rollback_report, verify_report, write_report
from migrator.rollback import rollback
from migrator.settings import Credentials
from migrator.verify import Verifier

T = TypeVar("T")
OUTCOME_KEYS = ("created", "adopted", "updated", "unchanged", "failed", "unmappable")


def default_mappings_dir() -> Path:
    """The mapping files shipped with the package (wheel) or beside it (source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_mappings", here.parent / "mappings"):
        if candidate.is_dir():
            return candidate
    return here.parent / "mappings"


@dataclass
class Options:
    ledger: Path | None = None  # None: the default ledger of these credentials' org pair (ledger_files)
    reports_dir: Path = Path("reports")
    mappings_dir: Path = field(default_factory=default_mappings_dir)
    concurrency: int = 8
    rate_per_minute: float = 2000
    timeout: float = 30.0
    progress: bool = True


@dataclass
class Outcome:
    command: str
    status: str  # complete | partial | failed | clean | mismatch
    exit_code: int = EXIT_OK
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    reports: list[str] = field(default_factory=list)
    message: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _empty_counts() -> dict[str, dict[str, int]]:
    return {kind: {k: 0 for k in OUTCOME_KEYS} for kind in KIND_ORDER}


class Migration:
    def __init__(self, credentials: Credentials, options: Options | None = None) -> None:
        self.credentials = credentials
        self.options = options or Options()
        self.display = ProgressDisplay(self.options.progress)
        self._mapping_set: MappingSet | None = None

    # ------------------------------------------------------------ plumbing
    def _mappings(self) -> MappingSet:
        if self._mapping_set is None:
            self._mapping_set = MappingSet.load(self.options.mappings_dir)
        return self._mapping_set

    @property
    def ledger_path(self) -> Path:
        return ledger_files.ledger_path(self.options.ledger, self.credentials)

    def _ledger(self) -> Ledger:
        return Ledger.open(self.ledger_path, self.credentials.pair)

    def _client(self) -> DyteClient:
        return DyteClient(self.credentials, rate_per_minute=self.options.rate_per_minute,
                          concurrency=self.options.concurrency, timeout=self.options.timeout)

    @staticmethod
    def _run(factory: Callable[[asyncio.Event], Awaitable[T]]) -> T:
        """Run a coroutine with SIGINT/SIGTERM turned into a graceful stop request."""

        async def main() -> T:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            try:
                return await factory(stop)
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

        return asyncio.run(main())

    @staticmethod
    async def _until_stopped(stop: asyncio.Event, work: Awaitable[T]) -> T:
        """Await `work`, cancelling it if a stop is requested (used for read-only stages)."""
        task = asyncio.ensure_future(work)
        stopper = asyncio.ensure_future(stop.wait())
        done, _ = await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            stopper.cancel()
            return task.result()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise Interrupted("stopped by a signal before any v2 write; nothing to resume but the extract")

    @asynccontextmanager
    async def _session(self, command: str) -> AsyncIterator[tuple[DyteClient, Ledger, int]]:
        ledger = self._ledger()
        run_id = ledger.start_run(command)
        status = "failed"
        try:
            async with self._client() as client:
                yield client, ledger, run_id
                status = ledger.run_status or "done"
        except Interrupted:
            status = "interrupted"
            raise
        finally:
            with contextlib.suppress(sqlite3.Error):  # a full disk must not hide the error that stopped the run
                ledger.end_run(run_id, status, {})
            ledger.close()

    async def _extract(self, client: DyteClient, ledger: Ledger, run_id: int, stop: asyncio.Event) -> dict[str, Any]:
        with self.display.stage("extract") as display:
            extractor = Extractor(client, ledger, run_id, concurrency=self.options.concurrency, progress=display.advance,
                                  secret_fields=self._mappings().secret_fields)
            summary = await self._until_stopped(stop, extractor.run())
        return dataclasses.asdict(summary)

    async def _plan(self, client: DyteClient, ledger: Ledger, mappings: MappingSet, read_v2: bool = True) -> PlanSummary:
        planner = Planner(ledger, mappings, client if read_v2 else None)
        return await planner.run()

    def _reports_after_writes(self, name: str, report: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Report files, or a warning: after v2 writes, a report folder we cannot write does not undo the run."""
        try:
            return write_report(self.options.reports_dir, name, report), []
        except OSError as exc:
            return [], [f"the {name} report could not be written to {self.options.reports_dir}: "
                        f"{exc.strerror or type(exc).__name__}"]

    @staticmethod
    def _requests(client: DyteClient) -> dict[str, int]:
        return client.counters.as_dict()  # v1, v2, documents, retries, throttled

    async def _preflight(self, client: DyteClient) -> dict[str, Any]:
        """One cheap read per side, so bad credentials or a wrong host fail before any work.

        An unreachable host here is a configuration problem (exit 2): nothing was written.
        """
        probes = (("v1", self.credentials.v1.base_url, lambda: client.v1("GET", "/meetings", params={"offset": 0, "limit": 1})),
                  ("v2", self.credentials.v2.base_url, lambda: client.v2("GET", "/presets", params={"page_no": 1, "per_page": 1})))
        answers: dict[str, Any] = {}
        for side, base_url, probe in probes:
            try:
                answers[side] = await probe()
            except TransportError as exc:
                raise ConfigError(f"cannot reach the {side} API at {base_url}: {exc}") from None
        return answers

    # ------------------------------------------------------------ commands
    def check(self) -> Outcome:
        mappings = self._mappings()

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("check") as (client, ledger, _):
                v1 = (await self._preflight(client))["v1"]
                entities = sum(sum(states.values()) for states in ledger.counts().values())
                found = {
                    "v1": {"base_url": self.credentials.v1.base_url, "org_id": self.credentials.v1.org_id,
                           "reachable": True, "sample_meetings": len((v1.get("data") or {}).get("meetings") or [])},
                    "v2": {"base_url": self.credentials.v2.base_url, "org_id": self.credentials.v2.org_id, "reachable": True},
                    "ledger": {"path": str(self.ledger_path), "entities": entities},
                    "mappings": {"dir": str(self.options.mappings_dir), "files": sorted(mappings.files)},
                }
                return Outcome("check", "clean", requests=self._requests(client), details=found,
                               message="credentials, ledger and mappings are usable")

        return self._run(work)

    def extract(self) -> Outcome:
        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("extract") as (client, ledger, run_id):
                summary = await self._extract(client, ledger, run_id, stop)
                return Outcome("extract", "complete", requests=self._requests(client), details=summary,
                               message=f"extracted {summary['counts']}")

        return self._run(work)

    def plan(self) -> Outcome:
        mappings = self._mappings()

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("plan") as (client, ledger, run_id):
                await self._preflight(client)
                extracted = await self._extract(client, ledger, run_id, stop)
                summary = await self._until_stopped(stop, self._plan(client, ledger, mappings))
                report = plan_report(summary, extracted, mappings, ledger)
                reports = write_report(self.options.reports_dir, "plan", report)
                return Outcome("plan", "complete", counts=summary.counts, requests=self._requests(client),
                               reports=reports, message=_plan_line(summary))

        return self._run(work)

    def migrate(self, *, batch_size: int | None = None, max_seconds: float | None = None,
                only: set[str] | None = None) -> Outcome:
        mappings = self._mappings()
        deadline = time.monotonic() + max_seconds if max_seconds else None

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("migrate") as (client, ledger, run_id):
                await self._preflight(client)
                extracted = await self._extract(client, ledger, run_id, stop)
                summary = await self._until_stopped(stop, self._plan(client, ledger, mappings))
                totals = {k: sum(n for a, n in summary.counts.get(k, {}).items() if a in ("create", "update", "adopt", "reconcile"))
                          for k in KIND_ORDER if not only or k in only}
                with self.display.stage("migrate", totals) as display:
                    loader = Loader(client, ledger, run_id, chunk=max(16, self.options.concurrency * 8),
                                    max_writes=batch_size, deadline=deadline, stop=stop, only=only,
                                    progress=display.advance, concurrency=self.options.concurrency)
                    try:
                        loaded = await loader.run()
                    except sqlite3.Error as exc:
                        raise LedgerWriteError(
                            f"ledger {self.ledger_path} could not be written ({exc}) after {loader.summary.writes} "
                            "v2 writes; the migration stopped: once the ledger can be written, run migrate again "
                            "to resume from it") from None
                counts = _empty_counts()
                for kind, tally in loaded.counts.items():
                    counts.setdefault(kind, {k: 0 for k in OUTCOME_KEYS}).update({k: tally.get(k, 0) for k in OUTCOME_KEYS})
                remaining = _remaining(ledger, only)
                failed = sum(c["failed"] + c["unmappable"] for c in counts.values())
                if loaded.stopped and remaining:
                    status, code = "partial", EXIT_PARTIAL
                    message = f"stopped early ({loaded.stopped}) with {remaining} entities left; run migrate again to resume"
                elif failed or remaining:
                    status, code = "failed", EXIT_FAILED
                    message = f"finished with {failed} failed or unmappable entities and {remaining} not migrated"
                else:
                    status, code = "complete", EXIT_OK
                    message = f"migrated: {_count_line(counts)}"
                ledger.run_status = status  # the runs table tells a stop between batches from a finish
                report = migrate_report(status, counts, loaded, ledger, run_id)
                reports, warnings = self._reports_after_writes("migrate", report)
                if warnings and code == EXIT_OK:
                    code, message = EXIT_FAILED, f"the migration itself finished ({message}), but its report was not written"
                return Outcome("migrate", status, code, counts, self._requests(client), reports, message,
                               {"writes": loaded.writes, "stopped": loaded.stopped, "warnings": warnings})

        return self._run(work)

    def verify(self) -> Outcome:
        mappings = self._mappings()

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("verify") as (client, ledger, run_id):
                await self._preflight(client)
                await self._extract(client, ledger, run_id, stop)
                await self._plan(client, ledger, mappings, read_v2=False)
                summary = await self._until_stopped(stop, Verifier(client, ledger).run())
                clean = not summary.mismatches
                status = "clean" if clean else "mismatch"
                message = ("clean: v2 holds exactly what the mappings say for every v1 object"
                           if clean else f"{len(summary.mismatches)} mismatches")
                report = verify_report(status, summary)
                reports = write_report(self.options.reports_dir, "verify", report)
                counts = {k: {"checked": n} for k, n in summary.checked.items()}
                return Outcome("verify", status, EXIT_OK if clean else EXIT_FAILED, counts, self._requests(client),
                               reports, message, {"mismatches": len(summary.mismatches)})

        return self._run(work)

    def rollback(self) -> Outcome:
        self._mappings()  # a broken mappings folder fails before anything is touched

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("rollback") as (client, ledger, run_id):
                await self._preflight(client)
                loader = Loader(client, ledger, run_id, stop=stop)
                await loader.reconcile_in_flight()
                counts, errors = await rollback(client, ledger, run_id)
                status, code = ("complete", EXIT_OK) if not errors else ("failed", EXIT_FAILED)
                by_kind: dict[str, dict[str, int]] = {}
                for key, n in counts.items():
                    kind, event = key.split(":", 1)
                    by_kind.setdefault(kind, {})[event] = n
                report = rollback_report(status, by_kind, errors)
                reports, warnings = self._reports_after_writes("rollback", report)
                message = f"rolled back: {by_kind}" if not errors else f"{len(errors)} objects could not be rolled back"
                if warnings and code == EXIT_OK:
                    code, message = EXIT_FAILED, f"the rollback itself finished ({message}), but its report was not written"
                return Outcome("rollback", status, code, by_kind, self._requests(client), reports, message,
                               {"warnings": warnings})

        return self._run(work)


# ------------------------------------------------------------------ ledger-only commands
def status(ledger: Path | None, credentials_file: Path | None = None) -> Outcome:
    """Progress per kind and state, from the ledger alone (no network)."""
    ledger_path = ledger_files.ledger_path_for_reading(ledger, credentials_file)
    with Ledger.open(ledger_path, None, lock=False, create=False) as ledger:
        counts = ledger.counts()
        pair = {"v1_org": ledger.meta("v1_org"), "v2_org": ledger.meta("v2_org"),
                "snapshot_at": ledger.meta("snapshot_at")}
        last = ledger.conn.execute("SELECT command, status, started_at, ended_at FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    remaining = sum(n for states in counts.values() for s, n in states.items() if s in ("pending", "intent"))
    failed = sum(n for states in counts.values() for s, n in states.items() if s in ("failed", "unmappable", "conflict"))
    state = "complete" if not remaining and not failed else ("partial" if remaining else "failed")
    details = {**pair, "last_run": dict(zip(("command", "status", "started_at", "ended_at"), last)) if last else None}
    return Outcome("status", state, EXIT_OK, counts, {}, [], f"{remaining} entities to go, {failed} failed or unmappable", details)


def export_ids(ledger: Path | None, fmt: str, output: Path | None,
               credentials_file: Path | None = None) -> tuple[Outcome, str]:
    ledger_path = ledger_files.ledger_path_for_reading(ledger, credentials_file)
    with Ledger.open(ledger_path, None, lock=False, create=False) as ledger:
        text = export.render(ledger, fmt)
        counts = ledger.counts()
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    return Outcome("export-ids", "complete", EXIT_OK, counts, {}, [str(output)] if output else [],
                   f"wrote {output}" if output else "id map on stdout"), text


def backup_ledger(ledger: Path | None, target: Path, credentials_file: Path | None = None) -> Outcome:
    """A single-file copy of the ledger (WAL included) that a later run can use as its ledger."""
    source = ledger_files.ledger_path_for_reading(ledger, credentials_file)
    size = ledger_files.backup(source, target)
    return Outcome("ledger backup", "complete", EXIT_OK, {}, {}, [str(target)],
                   f"copied ledger {source} to {target} ({size} bytes)")


def _remaining(ledger: Ledger, only: set[str] | None) -> int:
    kinds = tuple(only or KIND_ORDER)
    marks = ",".join("?" * len(kinds))
    row = ledger.conn.execute(
        f"SELECT count(*) FROM entities WHERE kind IN ({marks}) AND action != 'gone' AND ("
        "state IN ('pending', 'intent') OR (state = 'done' AND written IS NOT desired AND action != 'conflict'))",
        kinds).fetchone()
    return int(row[0])


def _count_line(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for kind, c in counts.items():
        shown = ", ".join(f"{n} {k}" for k, n in c.items() if n)
        if shown:
            parts.append(f"{kind}s {shown}")
    return "; ".join(parts) or "nothing to do"


def _plan_line(summary: PlanSummary) -> str:
    totals: Counter[str] = Counter()
    for actions in summary.counts.values():
        totals.update(actions)
    return "plan: " + ", ".join(f"{n} {a}" for a, n in sorted(totals.items()))


__all__ = ["Migration", "Options", "Outcome", "status", "export_ids", "backup_ledger"]
