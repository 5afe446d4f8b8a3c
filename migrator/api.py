"""The Python API: one method per command; the CLI only parses options and renders.

    from migrator import Migration, Options, load_credentials

    migration = Migration(load_credentials(), Options())  # the default ledger of this org pair
    outcome = migration.migrate(max_seconds=1500)
    print(outcome.status, outcome.counts)

Inputs are checked here, not only in the CLI: a bad kind, option or saved plan is a
`ConfigError` (exit 2) before anything is read or written. Progress is reported to an
optional callback as `ProgressEvent`s; the API draws nothing on a terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from migrator import kinds, ledger_files
from migrator.client import DyteClient
from migrator.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    ConfigError,
    Interrupted,
    LedgerWriteError,
    TransportError,
)
from migrator.mapping.folder import default_directory
from migrator.model import OUTCOMES, WRITE_ACTIONS, ExtractSummary, Finding, Kind, LoadSummary, PlanSummary
from migrator.settings import DEFAULT_PROFILES, PROFILES, Credentials
from migrator.shards import Shard
from migrator.shards import label as shard_label

# The stages (ledger, mappings, planner, loader...) are imported where a command uses them: a
# migration's first API call then waits only for the client's imports, and the mappings load
# in a thread meanwhile (see `Migration._session`).
if TYPE_CHECKING:
    from migrator.ledger import Ledger, Scope
    from migrator.mapping import MappingSet
    from migrator.plan import Fingerprints

T = TypeVar("T")
PREVIEW_ITEMS = 10  # how many objects a rollback preview names


def _reports() -> ModuleType:
    """The report stack (jinja2 and the renderers), imported when a command writes reports, not at start-up."""
    import migrator.reports
    import migrator.reports.build
    import migrator.reports.html
    import migrator.reports.model
    import migrator.reports.unresolved

    return migrator.reports


def default_mappings_dir() -> Path:
    """The mapping files shipped with the package (wheel) or beside it (source checkout)."""
    return default_directory()


@dataclass
class Options:
    ledger: Path | None = None  # None: the default ledger of these credentials' org pair (ledger_files)
    reports_dir: Path = Path("reports")
    mappings_dir: Path = field(default_factory=default_mappings_dir)
    concurrency: int = 8
    rate_per_minute: float = 2000
    target_rate_per_minute: float | None = None  # a target with its own limit (RealtimeKit); None: its documented one
    timeout: float = 30.0
    shard: Shard | None = None  # this run's part of a split migration (`--shard I/N`); None: the whole org
    default_preset: str | None = None  # the org default preset; None: presets.yaml resolution.org_default_preset
    sources: dict[str, str] = field(default_factory=dict)  # where each setting came from (flag, env, config file)

    def check(self) -> None:
        """One line (ConfigError, exit 2) for an option no run could use."""
        if not isinstance(self.concurrency, int) or not 1 <= self.concurrency <= 64:
            raise ConfigError(f"concurrency must be a whole number from 1 to 64, not {self.concurrency!r}")
        if not isinstance(self.rate_per_minute, (int, float)) or self.rate_per_minute < 0:
            raise ConfigError(f"rate_per_minute must be 0 (no pacing) or more, not {self.rate_per_minute!r}")
        if self.target_rate_per_minute is not None and (
            not isinstance(self.target_rate_per_minute, (int, float)) or self.target_rate_per_minute < 0
        ):
            raise ConfigError(f"target_rate_per_minute must be 0 (no pacing) or more, not {self.target_rate_per_minute!r}")
        if not isinstance(self.timeout, (int, float)) or self.timeout <= 0:
            raise ConfigError(f"timeout must be more than 0 seconds, not {self.timeout!r}")
        if isinstance(self.shard, str):
            self.shard = Shard.parse(self.shard)
        if self.shard is not None and not isinstance(self.shard, Shard):
            raise ConfigError(f"shard must be a Shard or 'I/N', not {self.shard!r}")
        if self.default_preset is not None and (
            not isinstance(self.default_preset, str) or not self.default_preset.strip() or not self.default_preset.isprintable()
        ):
            raise ConfigError(f"default preset must be the name of a v1 preset, not {self.default_preset!r}")
        for name in ("ledger", "reports_dir", "mappings_dir"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                setattr(self, name, Path(value))


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
    notices: list[str] = field(default_factory=list)  # what a user must read first (before any write)

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class ProgressEvent:
    """`start` a stage (with totals per kind when known), `advance` a kind by n, `end` the stage."""

    event: str  # start | advance | end
    stage: str
    kind: str | None = None
    n: int = 0
    totals: dict[str, int] | None = None


ProgressListener = Callable[[ProgressEvent], None]


class _Stage:
    """Sends one stage's progress events to the listener (if any)."""

    def __init__(self, listener: ProgressListener | None, stage: str, totals: dict[str, int] | None = None) -> None:
        self.listener, self.stage, self.totals = listener, stage, totals

    def __enter__(self) -> _Stage:
        if self.listener:
            self.listener(ProgressEvent("start", self.stage, totals=self.totals))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.listener:
            self.listener(ProgressEvent("end", self.stage))

    def advance(self, kind: Kind | str, n: int) -> None:
        if self.listener:
            self.listener(ProgressEvent("advance", self.stage, str(kind), n))


def _counts(table: dict[Kind, Counter[str]], keys: Iterable[str] = OUTCOMES) -> dict[str, dict[str, int]]:
    return {kind.value: {k: tally[k] for k in keys} for kind, tally in table.items()}


class Migration:
    def __init__(
        self, credentials: Credentials, options: Options | None = None, *, progress: ProgressListener | None = None
    ) -> None:
        self.credentials = credentials
        self.options = options or Options()
        self.options.check()
        self.progress = progress
        self._mapping_set: MappingSet | None = None

    # ------------------------------------------------------------ plumbing
    def _mappings(self) -> MappingSet:
        from migrator import sources
        from migrator.mapping import MappingSet

        if self._mapping_set is None:
            self._mapping_set = MappingSet.load(
                self.options.mappings_dir,
                target=self.credentials.v2.profile.name,
                layout=sources.of(self.credentials).mappings,
                default_preset=self.options.default_preset,
                default_from=self.options.sources.get("default_preset", "Options.default_preset"),
            )
        return self._mapping_set

    @property
    def ledger_path(self) -> Path:
        return ledger_files.ledger_path(
            self.options.ledger, self.credentials, self.options.shard.label if self.options.shard else None
        )

    def _ledger(self) -> Ledger:
        from migrator.ledger import Ledger

        ledger = Ledger.open(
            self.ledger_path, self.credentials.pair, shard=self.options.shard.label if self.options.shard else None
        )
        try:
            ledger.bind_shard(shard_label(self.options.shard))
            ledger.record_route(self.credentials.v1.profile.name, self.credentials.v2.profile.name)
        except BaseException:
            ledger.close()
            raise
        return ledger

    def _client(self) -> DyteClient:
        return DyteClient(
            self.credentials,
            rate_per_minute=self.options.rate_per_minute,
            target_rate_per_minute=self.options.target_rate_per_minute,
            concurrency=self.options.concurrency,
            timeout=self.options.timeout,
        )

    @staticmethod
    def _run(factory: Callable[[asyncio.Event], Awaitable[T]]) -> T:
        """Run a coroutine with SIGINT/SIGTERM turned into a graceful stop request."""

        async def main() -> T:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
            for sig in previous:
                loop.add_signal_handler(sig, stop.set)
            try:
                return await factory(stop)
            finally:
                for sig, handler in previous.items():
                    loop.remove_signal_handler(sig)  # leaves SIGTERM at its default (a silent death): restore
                    signal.signal(sig, signal.SIG_DFL if handler is None else handler)

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
        raise Interrupted("stopped by a signal before any write to the target; nothing to resume but the extract")

    @asynccontextmanager
    async def _session(self, command: str, *, reports: bool = True) -> AsyncIterator[tuple[DyteClient, Ledger, int]]:
        """Preflight both APIs while the mappings load, then open the ledger: a failed preflight or a
        broken mappings folder never creates or binds one. A command that ends with `reports` imports
        them in a thread meanwhile, while its calls wait on the network, rather than after its last call."""
        async with self._client() as client:
            await self._preflight_and_mappings(client)
            ledger = self._ledger()
            run_id = ledger.start_run(command)
            status = "failed"
            importing = asyncio.ensure_future(asyncio.to_thread(_reports)) if reports else None
            try:
                yield client, ledger, run_id
                status = ledger.run_status or "done"
            except Interrupted:
                status = "interrupted"
                raise
            finally:
                if importing is not None:  # an import error would surface again where the reports are written
                    await asyncio.gather(importing, return_exceptions=True)
                with contextlib.suppress(sqlite3.Error):  # a full disk must not hide the error that stopped the run
                    ledger.end_run(run_id, status, {})
                ledger.close()

    async def _extract(self, client: DyteClient, ledger: Ledger, run_id: int, stop: asyncio.Event) -> ExtractSummary:
        from migrator import sources

        with _Stage(self.progress, "extract") as stage:
            extractor = sources.of(self.credentials).extractor(
                client,
                ledger,
                run_id,
                concurrency=self.options.concurrency,
                progress=stage.advance,
                secret_fields=self._mappings().secret_fields,
                owns=self.options.shard.owns if self.options.shard else None,
            )
            return await self._until_stopped(stop, extractor.run())

    async def _plan(
        self,
        client: DyteClient,
        ledger: Ledger,
        mappings: MappingSet,
        stop: asyncio.Event,
        *,
        read_v2: bool = True,
        refresh: bool = True,
        fingerprint: bool = False,
    ) -> tuple[PlanSummary, Fingerprints | None]:
        from migrator.plan import Fingerprints, Planner

        planner = Planner(ledger, mappings, client if read_v2 else None, refresh=refresh, fingerprint=fingerprint)
        summary = await self._until_stopped(stop, planner.run())
        prints = (
            Fingerprints(
                ledger.snapshot_fingerprint(), planner.v2_fingerprint(), mappings.fingerprint, _reports().model.tool_version()
            )
            if fingerprint
            else None
        )
        return summary, prints

    def _reports_after_writes(self, name: str, report: dict[str, Any]) -> tuple[list[str], list[str]]:
        """Report files, or a warning: after v2 writes, a report folder we cannot write does not undo the run."""
        try:
            return _reports().write_report(self.options.reports_dir, name, report), []
        except OSError as exc:
            return [], [
                f"the {name} report could not be written to {self.options.reports_dir}: {exc.strerror or type(exc).__name__}"
            ]

    @staticmethod
    def _requests(client: DyteClient) -> dict[str, int]:
        return client.counters.as_dict()  # v1, v2, documents, retries, throttled

    async def _preflight(self, client: DyteClient) -> dict[str, Any]:
        """One cheap read per side, so bad credentials or a wrong host fail before any work.

        An unreachable host here is a configuration problem (exit 2): nothing was written.
        """
        source, target = self.credentials.v1, self.credentials.v2

        async def ask(name: str, base_url: str, probe: Callable[[], Awaitable[Any]]) -> Any:
            try:
                return await probe()
            except TransportError as exc:
                raise ConfigError(f"cannot reach the {name} API at {base_url}: {exc}") from None

        # Both at once (one round trip, not two). The source's probe is awaited here, not as a task,
        # so its request leaves before the mappings' thread starts; its error is the one reported,
        # at once, when both fail.
        target_answer = asyncio.ensure_future(ask(target.profile.title, target.base_url, lambda: kinds.probe(client)))
        try:
            source_answer = await ask(
                source.profile.title, source.base_url, lambda: client.source.first("/meetings", key="meetings")
            )
            return {"v1": source_answer, "v2": await target_answer}
        finally:
            target_answer.cancel()
            await asyncio.gather(target_answer, return_exceptions=True)

    async def _preflight_and_mappings(self, client: DyteClient) -> None:
        """The preflight's calls and the loading of the mappings at once: loading (YAML, pydantic, the
        v2 spec) is CPU work, in a thread, while the calls wait on the network. A broken mappings
        folder is the error reported when both fail, as when the mappings were read before any call."""
        probing = asyncio.ensure_future(self._preflight(client))  # first: its call leaves before the thread starts
        loading = asyncio.ensure_future(asyncio.to_thread(self._mappings))
        try:
            await asyncio.wait({loading, probing}, return_when=asyncio.FIRST_EXCEPTION)
            await asyncio.wait({loading})  # a failed preflight waits for the mappings' verdict
            loading.result()
            probing.result()
        finally:
            probing.cancel()  # when the mappings failed first
            await asyncio.gather(probing, return_exceptions=True)

    # ------------------------------------------------------------ commands
    def check(self) -> Outcome:
        """Preflight both APIs, then read v1 into the ledger (the extract plan and migrate also run) to
        count the participants that need the org default preset. Exit 2 when they need one that is
        unset or not a v1 preset: they would be unmappable. Writes nothing to the target."""

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("check", reports=False) as (client, ledger, run_id):
                from migrator.default_preset import default_preset_status, mappings_notice

                mappings = self._mappings()
                await self._extract(client, ledger, run_id, stop)
                default = default_preset_status(ledger, mappings)
                entities = sum(sum(states.values()) for states in ledger.counts().values())
                notice = mappings_notice(ledger, mappings)
                found = {
                    "v1": {
                        "base_url": self.credentials.v1.base_url,
                        "org_id": self.credentials.v1.org_id,
                        "reachable": True,
                        "participants": ledger.snapshot_count("participant"),
                        "source": self.credentials.v1.profile.name,
                    },
                    "v2": {"base_url": self.credentials.v2.base_url, "org_id": self.credentials.v2.org_id, "reachable": True},
                    "ledger": {"path": str(self.ledger_path), "entities": entities},
                    "mappings": {
                        "dir": str(self.options.mappings_dir),
                        "files": sorted(mappings.files),
                        "fingerprint": mappings.fingerprint,
                    },
                    "default_preset": default.as_dict(),
                }
                notices = [default.line()] + ([notice] if notice else [])
                if default.blocking:
                    return Outcome(
                        "check",
                        "failed",
                        EXIT_USAGE,
                        requests=self._requests(client),
                        details=found,
                        notices=notices,
                        message="participants need an org default preset: see above",
                    )
                return Outcome(
                    "check",
                    "clean",
                    requests=self._requests(client),
                    details=found,
                    notices=notices,
                    message="credentials, ledger, mappings and the org default preset are usable",
                )

        return self._run(work)

    def extract(self) -> Outcome:
        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("extract", reports=False) as (client, ledger, run_id):
                summary = await self._extract(client, ledger, run_id, stop)
                counts = _kinds_line(summary.counts)
                return Outcome(
                    "extract",
                    "complete",
                    requests=self._requests(client),
                    details=dataclasses.asdict(summary),
                    message=f"extracted {counts}",
                )

        return self._run(work)

    def plan(self, *, out: Path | None = None, refresh: bool = True) -> Outcome:
        """Dry run; with `out`, also a saved plan that `migrate(plan=out)` applies exactly.

        `refresh=False` skips reading the target for objects deleted there since we wrote them."""
        _check_refresh(refresh, out)

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("plan") as (client, ledger, run_id):
                from migrator.default_preset import default_preset_status, mappings_notice
                from migrator.plan import planned_actions

                mappings = self._mappings()
                extracted = await self._extract(client, ledger, run_id, stop)
                default = default_preset_status(ledger, mappings)
                summary, prints = await self._plan(client, ledger, mappings, stop, refresh=refresh, fingerprint=out is not None)
                notices = [default.line()] if default.needed_by or default.name else []
                notice = mappings_notice(ledger, mappings, summary)
                notices += [notice] if notice else []
                summary.warnings.extend(notices)
                unresolved = _reports().unresolved.unresolved_rows(ledger, summary.kept)
                report = _reports().plan_report(summary, extracted, mappings, ledger, unresolved)
                reports = _reports().write_report(self.options.reports_dir, "plan", report)
                if out is not None and prints is not None:
                    reports.append(
                        _reports().write_saved_plan(
                            out, report, {"version": 1, "fingerprints": prints.as_dict(), "actions": planned_actions(ledger)}
                        )
                    )
                counts = {kind.value: {a.value: n for a, n in tally.items()} for kind, tally in summary.counts.items()}
                return Outcome(
                    "plan",
                    "complete",
                    counts=counts,
                    requests=self._requests(client),
                    reports=reports,
                    message=_plan_line(summary),
                    notices=notices + _reports().unresolved.console_lines(unresolved),
                )

        return self._run(work)

    def migrate(
        self,
        *,
        batch_size: int | None = None,
        max_seconds: float | None = None,
        only: Iterable[Kind | str] | str | None = None,
        plan: Path | None = None,
        allow_existing: bool = False,
        prune: bool = False,
        meetings: Iterable[str] | None = None,
        refresh: bool = True,
    ) -> Outcome:
        """Plan and apply (or apply exactly a saved `plan`); resumes from the ledger.

        `allow_existing`: create even though this ledger knows nothing of the target and
        the target already holds objects that match v1. `prune`: delete (meetings: set
        INACTIVE) what this tool created for v1 objects deleted since. `meetings`: a canary
        run of just these v1 meetings, their participants and the presets those need.
        `refresh=False`: do not read the target for objects deleted there since we wrote
        them (a batch of runs right after one another needs that read once, not each time).
        """
        _check_refresh(refresh, plan)
        canary = frozenset(meetings) if meetings is not None else None
        if canary is not None and not canary:
            raise ConfigError(f"a canary run needs at least one {self.credentials.v1.profile.title} meeting id")
        kinds_chosen = Kind.parse_many(only)
        if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
            raise ConfigError(f"batch_size must be a whole number of 1 or more, not {batch_size!r}")
        if max_seconds is not None and (not isinstance(max_seconds, (int, float)) or max_seconds <= 0):
            raise ConfigError(f"max_seconds must be more than 0, not {max_seconds!r}")
        saved = None
        if plan is not None:
            from migrator.plan import SavedPlan

            saved = SavedPlan.load(plan)

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("migrate") as (client, ledger, run_id):
                from migrator.default_preset import mappings_notice, record_mappings
                from migrator.load import Loader
                from migrator.plan import planned_actions

                # --max-seconds counts from the open session
                deadline = time.monotonic() + max_seconds if max_seconds else None
                mappings = self._mappings()
                await self._extract(client, ledger, run_id, stop)
                summary, prints = await self._plan(client, ledger, mappings, stop, refresh=refresh, fingerprint=saved is not None)
                if saved is not None and prints is not None:
                    saved.check(prints, planned_actions(ledger), mappings.route)
                # shards of one split create beside each other on purpose: the guard is for an unsharded first run
                if summary.existing and not allow_existing and self.options.shard is None:
                    first = summary.existing[0]
                    raise ConfigError(
                        f"{mappings.route.target_title} already holds {len(summary.existing)} objects that match "
                        f"{mappings.route.source_title} (first: {first.kind} {first.key}) "
                        "and this ledger knows none of them: use the ledger of the earlier run, run `dyte-migrate import`, "
                        "or pass --allow-existing to create anyway"
                    )
                notice = mappings_notice(ledger, mappings, summary)
                if not summary.kept:  # else the next run must still know what the kept entities were migrated with
                    record_mappings(ledger, mappings)
                scope = (
                    None
                    if canary is None
                    else ledger.scope_of(
                        Kind.MEETING, canary, tuple((s.kind, s.requires) for s in kinds.KINDS if s.parent is Kind.MEETING)
                    )
                )
                totals = {
                    kind.value: summary.total(WRITE_ACTIONS, frozenset({kind})) if scope is None else len(scope[kind])
                    for kind in (kinds_chosen or Kind)
                }
                with _Stage(self.progress, "migrate", totals) as stage:
                    loader = Loader(
                        client,
                        ledger,
                        run_id,
                        chunk=max(16, self.options.concurrency * 8),
                        max_writes=batch_size,
                        deadline=deadline,
                        stop=stop,
                        only=kinds_chosen,
                        progress=stage.advance,
                        concurrency=self.options.concurrency,
                        prune=prune,
                        scope=scope,
                    )
                    try:
                        loaded = await loader.run()
                    except sqlite3.Error as exc:
                        raise LedgerWriteError(
                            f"ledger {self.ledger_path} could not be written ({exc}) after {loader.summary.writes} "
                            f"{self.credentials.v2.profile.title} writes; the migration stopped: once the ledger can "
                            "be written, run migrate again to resume from it"
                        ) from None
                outcome = self._migrate_outcome(client, ledger, run_id, loaded, kinds_chosen, scope, summary.kept)
                outcome.notices[:0] = [notice] if notice else []
                return outcome

        return self._run(work)

    def _migrate_outcome(
        self,
        client: DyteClient,
        ledger: Ledger,
        run_id: int,
        loaded: LoadSummary,
        only: frozenset[Kind] | None,
        scope: Scope | None,
        kept: list[Finding],
    ) -> Outcome:
        counts = _counts(loaded.counts)
        remaining = ledger.remaining(only, scope)
        failed = sum(c["failed"] + c["unmappable"] for c in counts.values())
        if loaded.stopped and remaining:
            status, code = "partial", EXIT_PARTIAL
            message = f"stopped early ({loaded.stopped}) with {remaining} entities left; run migrate again to resume"
        elif failed or remaining:
            status, code = "failed", EXIT_FAILED
            message = (
                f"finished: {_count_line(counts)}; {failed} failed or unmappable and {remaining} not migrated, "
                "each named above and in the report"
            )
        else:
            status, code = "complete", EXIT_OK
            message = f"migrated: {_count_line(counts)}"
            if scope is not None:
                message = (
                    f"canary of {len(scope[Kind.MEETING])} meetings migrated: {_count_line(counts)}; "
                    "check them in the app, then run migrate for the rest"
                )
        ledger.run_status = status  # the runs table tells a stop between batches from a finish
        unresolved = _reports().unresolved.unresolved_rows(ledger, kept)
        reports, warnings = self._reports_after_writes(
            "migrate", _reports().migrate_report(status, counts, loaded, ledger, run_id, self._mappings().route, unresolved)
        )
        if warnings and code == EXIT_OK:
            code, message = EXIT_FAILED, f"the migration itself finished ({message}), but its report was not written"
        return Outcome(
            "migrate",
            status,
            code,
            counts,
            self._requests(client),
            reports,
            message,
            {"writes": loaded.writes, "stopped": loaded.stopped, "remaining": remaining, "warnings": warnings},
            _reports().unresolved.console_lines(unresolved),
        )

    def verify(self) -> Outcome:
        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("verify") as (client, ledger, run_id):
                from migrator.verify import Verifier

                mappings = self._mappings()
                await self._extract(client, ledger, run_id, stop)
                planned, _ = await self._plan(client, ledger, mappings, stop, read_v2=False)
                summary = await self._until_stopped(stop, Verifier(client, ledger).run())
                unresolved = _reports().unresolved.unresolved_rows(ledger, planned.kept)
                clean = not summary.mismatches
                status = "clean" if clean else "mismatch"
                route = mappings.route
                message = (
                    f"clean: {route.target_title} holds exactly what the mappings say for every {route.source_title} object"
                    if clean
                    else f"{len(summary.mismatches)} mismatches"
                )
                reports = _reports().write_report(
                    self.options.reports_dir, "verify", _reports().verify_report(status, summary, route, unresolved)
                )
                counts = {k.value: {"checked": n} for k, n in summary.checked.items()}
                return Outcome(
                    "verify",
                    status,
                    EXIT_OK if clean else EXIT_FAILED,
                    counts,
                    self._requests(client),
                    reports,
                    message,
                    {"mismatches": len(summary.mismatches)},
                    _reports().unresolved.console_lines(unresolved),
                )

        return self._run(work)

    def import_(self) -> Outcome:
        """Rebuild this ledger from what v2 already holds (see importer.py); writes nothing to v2."""

        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("import") as (client, ledger, run_id):
                from migrator.importer import Importer

                mappings = self._mappings()
                await self._extract(client, ledger, run_id, stop)
                await self._plan(client, ledger, mappings, stop, read_v2=False)
                importer = Importer(client, ledger)
                await self._until_stopped(stop, importer.run())
                counts = _counts(importer.counts, ("imported", "ambiguous", "not_in_v2"))
                status = "complete" if not importer.ambiguous else "partial"
                reports = _reports().write_report(
                    self.options.reports_dir,
                    "import",
                    _reports().import_report(status, counts, importer.ambiguous, ledger, mappings.route),
                )
                imported = sum(c["imported"] for c in counts.values())
                message = (
                    f"imported {imported} {mappings.route.target_title} objects into the ledger; {len(importer.ambiguous)} ambiguous, left out "
                    "(see the import report); run plan to see what remains"
                )
                return Outcome(
                    "import",
                    status,
                    EXIT_OK if not importer.ambiguous else EXIT_FAILED,
                    counts,
                    self._requests(client),
                    reports,
                    message,
                    {"ambiguous": len(importer.ambiguous)},
                )

        return self._run(work)

    def rollback_preview(self) -> Outcome:
        """What `rollback()` would undo, from the ledger alone: no network, no write."""
        from migrator import undo
        from migrator.ledger import Ledger

        with Ledger.open(self.ledger_path, self.credentials.pair, create=False) as ledger:
            counts: dict[str, dict[str, int]] = {}
            first: list[dict[str, Any]] = []
            total = 0
            for spec in kinds.ROLLBACK_ORDER:
                todo = undo.targets(ledger, spec)
                counts[spec.kind.value] = {spec.undo.value: len(todo), "already_inactive": undo.already_undone(ledger, spec)}
                total += len(todo)
                first += [
                    {"kind": e.kind.value, "key": e.key, "v2_id": e.v2_id, "label": kinds.label(e), "undo": spec.undo.value}
                    for e in todo[: PREVIEW_ITEMS - len(first)]
                ]
        return Outcome(
            "rollback",
            "preview",
            EXIT_OK,
            counts,
            {},
            [],
            f"rollback would undo {total} objects this tool created; pass --yes to do it",
            {"first": first, "total": total},
        )

    def rollback(self) -> Outcome:
        async def work(stop: asyncio.Event) -> Outcome:
            async with self._session("rollback") as (client, ledger, run_id):
                from migrator import undo
                from migrator.load import Loader

                loader = Loader(client, ledger, run_id, stop=stop)
                await loader.reconcile_in_flight()
                summary = await undo.rollback(client, ledger, run_id)
                status, code = ("complete", EXIT_OK) if not summary.errors else ("failed", EXIT_FAILED)
                counts = {kind.value: dict(tally) for kind, tally in summary.counts.items() if tally}
                reports, warnings = self._reports_after_writes(
                    "rollback", _reports().rollback_report(status, summary, self._mappings().route)
                )
                message = (
                    _rollback_line(counts, self._mappings().route.target_title)
                    if not summary.errors
                    else f"{len(summary.errors)} objects could not be rolled back"
                )
                if warnings and code == EXIT_OK:
                    code, message = EXIT_FAILED, f"the rollback itself finished ({message}), but its report was not written"
                return Outcome("rollback", status, code, counts, self._requests(client), reports, message, {"warnings": warnings})

        return self._run(work)


# ------------------------------------------------------------------ ledger-only commands
def status(ledger: Path | None, credentials_file: Path | None = None, profiles: tuple[str, str] = DEFAULT_PROFILES) -> Outcome:
    """Progress per kind and state, from the ledger alone (no network). Exit 3 while work remains.

    `profiles`: the (source, target) whose credentials name the default ledger when `ledger` is None."""
    from migrator.ledger import Ledger

    ledger_path = ledger_files.ledger_path_for_reading(ledger, credentials_file, profiles=profiles)
    with Ledger.open(ledger_path, None, lock=False, create=False) as book:
        counts = {kind.value: dict(states) for kind, states in book.counts().items()}
        running = book.is_locked()
        extracted = book.extract_complete()
        remaining = book.remaining()
        last = book.last_run()
        source_profile, target_profile = book.route()  # None, None: a ledger from before 2026-12-08
        source = PROFILES[source_profile].title if source_profile in PROFILES else "the source"
        details = {
            "route": {"source": source_profile, "target": target_profile},
            "v1_org": book.meta("v1_org"),
            "v2_org": book.meta("v2_org"),
            "snapshot_at": book.meta("snapshot_at"),
            "running": running,
            "extract_complete": extracted,
            "remaining": remaining,
            "last_run": dataclasses.asdict(last) if last else None,
        }
    failed = sum(n for states in counts.values() for s, n in states.items() if s in ("failed", "unmappable", "conflict"))
    if running:
        state, code, message = "running", EXIT_PARTIAL, f"a run is in progress; {remaining} entities to go so far"
    elif not extracted:
        state, code, message = "partial", EXIT_PARTIAL, f"the last extract did not finish: run migrate to read {source} again"
    elif remaining:
        state, code, message = "partial", EXIT_PARTIAL, f"{remaining} entities to go, {failed} failed or unmappable"
    elif failed:
        state, code, message = "failed", EXIT_FAILED, f"nothing left to write; {failed} failed or unmappable"
    else:
        state, code, message = "complete", EXIT_OK, "complete: nothing left to write"
    return Outcome("status", state, code, counts, {}, [], message, details)


def export_ids(
    ledger: Path | None,
    fmt: str,
    output: Path | None,
    credentials_file: Path | None = None,
    shard: Shard | None = None,
    profiles: tuple[str, str] = DEFAULT_PROFILES,
) -> tuple[Outcome, str]:
    """The id map of what the ledger holds; with `shard`, only if the ledger is that shard's."""
    from migrator import export
    from migrator.ledger import Ledger

    if fmt not in ("csv", "json"):
        raise ConfigError(f"unknown export format {fmt!r}; choose csv or json")
    ledger_path = ledger_files.ledger_path_for_reading(ledger, credentials_file, shard.label if shard else None, profiles)
    with Ledger.open(ledger_path, None, lock=False, create=False) as book:
        if shard is not None:
            book.bind_shard(shard.label)
        text = export.render(book, fmt)
        counts = {kind.value: dict(states) for kind, states in book.counts().items()}
    if output is not None:  # owner-only, like reports: it holds emails
        output.parent.mkdir(parents=True, exist_ok=True)
        _reports().files.write_atomically(output, (text,))
    return Outcome(
        "export-ids",
        "complete",
        EXIT_OK,
        counts,
        {},
        [str(output)] if output else [],
        f"wrote {output}" if output else "id map on stdout",
    ), text


def backup_ledger(
    ledger: Path | None, target: Path, credentials_file: Path | None = None, profiles: tuple[str, str] = DEFAULT_PROFILES
) -> Outcome:
    """A single-file copy of the ledger (WAL included) that a later run can use as its ledger."""
    from migrator.ledger import backup

    source = ledger_files.ledger_path_for_reading(ledger, credentials_file, profiles=profiles)
    size = backup(source, target)
    return Outcome(
        "ledger backup", "complete", EXIT_OK, {}, {}, [str(target)], f"copied ledger {source} to {target} ({size} bytes)"
    )


def _count_line(counts: dict[str, dict[str, int]]) -> str:
    parts = []
    for kind, c in counts.items():
        shown = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in c.items() if n)
        if shown:
            parts.append(f"{kind}s {shown}")
    return "; ".join(parts) or "nothing to do"


def _kinds_line(counts: dict[str, int]) -> str:
    """`5 presets, 100 participants` (a sentence, not a dict)."""
    return ", ".join(f"{n} {kind}s" for kind, n in counts.items() if n) or "nothing"


def _rollback_line(by_kind: dict[str, dict[str, int]], target: str) -> str:
    """`rolled back: deleted 12 participants, 3 webhooks; 3 meetings set INACTIVE` (each kind as it is undone)."""
    undone = {spec: by_kind.get(spec.kind.value, {}).get("rolled_back", 0) for spec in kinds.ROLLBACK_ORDER}
    if not any(undone.values()):
        return f"nothing to roll back: {target} holds nothing this tool created"
    deleted = _kinds_line({spec.kind.value: n for spec, n in undone.items() if spec.undo is kinds.Undo.DELETE})
    closed = [f"{n} {spec.label} set INACTIVE" for spec, n in undone.items() if spec.undo is kinds.Undo.DEACTIVATE and n]
    return "rolled back: " + "; ".join([f"deleted {deleted}", *closed])


def _plan_line(summary: PlanSummary) -> str:
    totals: Counter[str] = Counter()
    for actions in summary.counts.values():
        totals.update({a.value: n for a, n in actions.items()})
    return "plan: " + ", ".join(f"{n} {a}" for a, n in sorted(totals.items()) if n)


__all__ = ["Migration", "Options", "Outcome", "ProgressEvent", "status", "export_ids", "backup_ledger"]


def _check_refresh(refresh: bool, saved_plan: Path | None) -> None:
    """A saved plan fingerprints what the target held: it is made and applied with the target read."""
    if not isinstance(refresh, bool):
        raise ConfigError(f"refresh must be true or false, not {refresh!r}")
    if not refresh and saved_plan is not None:
        raise ConfigError("--no-refresh cannot make or apply a saved plan: a saved plan is checked against the target")
