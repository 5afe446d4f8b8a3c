"""The `dyte-migrate` command line: a thin layer over `migrator.api`.

Each command prints a short human summary; with `--json` the last line of stdout is one
JSON object describing the outcome. Expected failures print one line and exit with the
documented code (PRODUCT.md): 0 done, 1 failures or mismatches, 2 usage/config,
3 stopped early (resumable), 4 ledger locked or foreign.
"""

from __future__ import annotations

import importlib
import json
import logging
import sqlite3
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import click

from migrator import api, demo as demo_module
from migrator.errors import EXIT_FAILED, EXIT_PARTIAL, EXIT_USAGE, MigratorError, scrub
from migrator.apps import ensure_app
from migrator.model import Kind
from migrator.progress import ProgressDisplay
from migrator.settings import DEFAULT_SOURCE, DEFAULT_TARGET, SOURCES, TARGETS, load_credentials


class LazyGroup(click.Group):
    """Loads some subcommands on first use, so product code never imports the sandbox."""

    lazy_commands = {"sandbox": "migrator.sandbox.cli:sandbox"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module, attr = self.lazy_commands[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


class _ScrubbingFormatter(logging.Formatter):
    """Log lines pass `scrub` like every other output: libraries log what they like (httpx: full URLs)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


@dataclass
class Context:
    options: api.Options
    credentials_file: Path | None
    as_json: bool
    verbose: int
    ledger_given: bool
    progress: bool
    target: str = DEFAULT_TARGET
    create_app: str | None = None
    source: str = DEFAULT_SOURCE

    def migration(self) -> api.Migration:
        credentials = load_credentials(self.credentials_file, target=self.target, source=self.source,
                                       app_optional=self.create_app is not None)
        if self.create_app is not None:
            choice = ensure_app(credentials, self.create_app, self.options.ledger, self.options.timeout)
            verb = "created" if choice.created else "recorded in the ledger by an earlier run, reused"
            click.echo(f"realtimekit app {choice.app_id} ({verb})", err=True)
            credentials = choice.credentials
        return api.Migration(credentials, self.options, progress=ProgressDisplay(self.progress))


def _emit(ctx: Context, outcome: api.Outcome, human: list[str] | None = None) -> None:
    lines = human if human is not None else [outcome.message]
    for line in lines:
        if line:
            click.echo(scrub(line))
    if outcome.reports:
        click.echo(scrub("reports: " + ", ".join(outcome.reports)))
    if ctx.as_json:
        click.echo(scrub(json.dumps(outcome.as_json(), ensure_ascii=False, default=str)))
    sys.exit(outcome.exit_code)


def read_outcome(stdout: str) -> dict[str, Any] | None:
    """The `--json` outcome a run printed: its last non-blank stdout line, if that is one JSON object."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        value = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _run(command: str, action: Callable[[Context], None]) -> None:
    """Call `action`, turning every expected failure into one line and its exit code."""
    ctx: Context = click.get_current_context().find_object(Context)  # type: ignore[assignment]
    try:
        action(ctx)
    except MigratorError as exc:
        _fail(ctx, command, str(exc), exc.exit_code)
    except KeyboardInterrupt:
        _fail(ctx, command, "interrupted", 3)
    except sqlite3.DatabaseError as exc:  # damage inside the ledger file that opening it could not see
        _fail(ctx, command, f"ledger {ctx.options.ledger} is corrupt or unusable ({exc})", EXIT_USAGE)
    except (SystemExit, click.exceptions.Exit, click.ClickException):
        raise
    except Exception as exc:  # a bug: still one line, the traceback only with -v
        if ctx.verbose:
            click.echo(scrub(traceback.format_exc()), err=True)
        _fail(ctx, command, f"internal error: {type(exc).__name__}: {exc}", EXIT_FAILED)


def _fail(ctx: Context, command: str, message: str, code: int) -> None:
    message = scrub(message.splitlines()[0] if message else "unknown error")
    click.echo(f"error: {message}", err=True)
    if ctx.as_json:
        status = "partial" if code == EXIT_PARTIAL else "failed"  # exit 3: stopped early, resumable
        click.echo(json.dumps({"command": command, "status": status, "exit_code": code, "error": message,
                               "counts": {}, "requests": {}, "reports": []}))
    sys.exit(code)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--ledger", type=click.Path(path_type=Path), envvar="DYTE_MIGRATE_LEDGER",
              default=Path(".dyte-migrate/ledger.sqlite"), show_default=True, help="SQLite ledger file.")
@click.option("--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="Where reports are written.")
@click.option("--mappings", "mappings_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of mapping YAML files (default: the project's mappings/).")
@click.option("--credentials", "credentials_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON credentials file (the format `sandbox serve --credentials-out` writes). "
                   "Default: DYTE_V1_*/DYTE_V2_* environment variables.")
@click.option("--target", type=click.Choice(TARGETS), envvar="DYTE_MIGRATE_TARGET", default=DEFAULT_TARGET,
              show_default=True, help="Where to migrate: Dyte v2, or Cloudflare RealtimeKit.")
@click.option("--source", type=click.Choice(SOURCES), envvar="DYTE_MIGRATE_SOURCE", default=DEFAULT_SOURCE,
              show_default=True, help="What to migrate: a Dyte v1 org, or a Dyte v2 org (to --target realtimekit).")
@click.option("--create-app", metavar="NAME", default=None,
              help="realtimekit: create an app named NAME when no REALTIMEKIT_APP_ID is given (once; recorded in the ledger).")
@click.option("--rate-limit", type=click.FloatRange(min=0), default=2000, show_default=True,
              help="Dyte's requests per minute, shared by v1 and v2 (0 = no pacing).")
@click.option("--target-rate-limit", type=click.FloatRange(min=0), default=None,
              help="Requests per minute for a target with its own limit (default: RealtimeKit's 250 per 10 s = 1500).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds per request.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object on the last line of stdout.")
@click.option("--no-progress", is_flag=True, help="No progress display (it is off anyway when stderr is not a terminal).")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (never secrets).")
@click.pass_context
def cli(click_ctx: click.Context, ledger: Path, reports_dir: Path, mappings_dir: Path | None,
        credentials_file: Path | None, target: str, source: str, create_app: str | None, rate_limit: float,
        target_rate_limit: float | None, timeout: float, as_json: bool, no_progress: bool, verbose: int) -> None:
    """Move a Dyte organization from the v1 REST API to the v2 REST API or to Cloudflare RealtimeKit.

    Typical use: plan, read reports/plan.html, migrate, verify, export-ids.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ScrubbingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
                        handlers=[handler])
    options = api.Options(ledger=ledger, reports_dir=reports_dir, rate_per_minute=rate_limit, timeout=timeout,
                          target_rate_per_minute=target_rate_limit)
    if mappings_dir is not None:
        options.mappings_dir = mappings_dir
    ledger_source = click_ctx.get_parameter_source("ledger")
    given = ledger_source is not None and ledger_source.name != "DEFAULT"
    click_ctx.obj = Context(options, credentials_file, as_json, verbose, given, not no_progress, target, create_app, source)


@cli.command()
def check() -> None:
    """Preflight: both credentials work, the ledger is usable, the mappings load."""

    def action(ctx: Context) -> None:
        outcome = ctx.migration().check()
        d = outcome.details
        _emit(ctx, outcome, [
            f"v1: {d['v1']['base_url']} org {d['v1']['org_id']}: reachable",
            f"v2: {d['v2']['base_url']} org {d['v2']['org_id']}: reachable",
            f"ledger: {d['ledger']['path']} ({d['ledger']['entities']} entities)",
            f"mappings: {d['mappings']['dir']} ({', '.join(d['mappings']['files'])})",
            outcome.message,
        ])

    _run("check", action)


@cli.command()
def extract() -> None:
    """Read the whole v1 org into the ledger (a snapshot with a hash per object)."""
    _run("extract", lambda ctx: _emit(ctx, ctx.migration().extract()))


@cli.command()
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Also save the plan to FILE, for `migrate --plan FILE` to apply exactly.")
def plan(out: Path | None) -> None:
    """Dry run: extract, map, compare with v2, write reports. Makes no v2 write."""
    _run("plan", lambda ctx: _emit(ctx, ctx.migration().plan(out=out)))


@cli.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="Requests in flight at once.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Stop (exit 3) after this many v2 writes.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop starting writes after this many seconds (exit 3 if work remains).")
@click.option("--only", default=None,
              help=f"Comma list of kinds ({', '.join(k.plural for k in Kind)}; singular works too).")
@click.option("--plan", "saved_plan", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Apply exactly this saved plan (`plan --out FILE`); refuse (exit 2) if v1, v2 or the mappings changed.")
@click.option("--allow-existing", is_flag=True,
              help="Create even though this ledger knows nothing of v2 and v2 already holds objects that match v1.")
@click.option("--prune", is_flag=True,
              help="Delete what this tool created for v1 objects deleted since (meetings: set INACTIVE).")
def migrate(concurrency: int, batch_size: int | None, max_seconds: float | None, only: str | None,
            saved_plan: Path | None, allow_existing: bool, prune: bool) -> None:
    """Plan and apply; resumes from the ledger; a re-run after completion writes nothing."""

    def action(ctx: Context) -> None:
        ctx.options.concurrency = concurrency
        _emit(ctx, ctx.migration().migrate(batch_size=batch_size, max_seconds=max_seconds, only=only, plan=saved_plan,
                                           allow_existing=allow_existing, prune=prune))

    _run("migrate", action)


@cli.command("import")
def import_command() -> None:
    """Rebuild the ledger from what v2 already holds (a lost ledger): match, never guess; no v2 write."""
    _run("import", lambda ctx: _emit(ctx, ctx.migration().import_()))


@cli.command()
def status() -> None:
    """Progress per kind and state, from the ledger alone (no network)."""

    def action(ctx: Context) -> None:
        outcome = api.status(ctx.options.ledger)
        lines = [f"{kind}: " + (", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "none")
                 for kind, states in outcome.counts.items()]
        _emit(ctx, outcome, lines + [outcome.message])

    _run("status", action)


@cli.command()
def verify() -> None:
    """Read v1 and v2 again; check v2 holds what the mappings say. Writes a report."""
    _run("verify", lambda ctx: _emit(ctx, ctx.migration().verify()))


@cli.command("export-ids")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File to write (default: stdout).")
def export_ids(fmt: str, output: Path | None) -> None:
    """The v1 -> v2 id map (meetings, participants, presets, webhooks, recordings)."""

    def action(ctx: Context) -> None:
        outcome, text = api.export_ids(ctx.options.ledger, fmt, output)
        if output is None and not ctx.as_json:
            click.echo(text, nl=False)
            sys.exit(0)
        _emit(ctx, outcome)

    _run("export-ids", action)


@cli.command()
@click.option("--yes", is_flag=True, help="Really undo: delete what this tool created, set its meetings INACTIVE.")
def rollback(yes: bool) -> None:
    """Undo what the ledger says this tool created in v2; without --yes, only show what it would do."""

    def action(ctx: Context) -> None:
        if yes:
            _emit(ctx, ctx.migration().rollback())
            return
        preview = ctx.migration().rollback_preview()
        lines = [f"{kind}: " + ", ".join(f"{n} to {what.replace('_', ' ')}" if what != "already_inactive"
                                          else f"{n} already inactive" for what, n in c.items())
                 for kind, c in preview.counts.items()]
        lines += [f"  {item['undo']} {item['kind']} {item['v2_id']} ({item['label']})" for item in preview.details["first"]]
        _emit(ctx, preview, lines + [preview.message])

    _run("rollback", action)


@cli.command()
@click.option("--meetings", type=click.IntRange(1, 100000), default=20, show_default=True)
@click.option("--participants", type=click.IntRange(0, 10000), default=5, show_default=True, help="Per meeting.")
@click.option("--target", type=click.Choice(TARGETS), default=None,
              help="Migrate to Dyte v2 or to the sandbox's RealtimeKit (default: the global --target).")
@click.option("--source", type=click.Choice(SOURCES), default=None,
              help="Migrate the sandbox's v1 org, or its v2 org (seeded from v1 first; default: the global --source).")
def demo(meetings: int, participants: int, target: str | None, source: str | None) -> None:
    """Start the sandbox with sample data, run plan, migrate, verify and a repeat migrate."""

    def action(ctx: Context) -> None:
        outcome, lines = demo_module.run_demo(ctx.options, meetings=meetings, participants=participants,
                                              ledger_given=ctx.ledger_given, target=target or ctx.target,
                                              source=source or ctx.source)
        _emit(ctx, outcome, lines)

    _run("demo", action)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--target", type=click.Choice(["dyte-v2", "realtimekit"]), default="dyte-v2", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="File to write (default: stdout).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching this .gitignore pattern (repeatable).")
def scan(paths: tuple[Path, ...], target: str, fmt: str, output: Path | None, exclude: tuple[str, ...]) -> None:
    """Find Dyte v1 REST usage in application code and say what to change; exit 1 if any is found."""

    def action(ctx: Context) -> None:
        from migrator import scan as scanner  # not at start-up: ast-grep is only needed here

        result = scanner.scan_paths(paths, target, exclude=exclude, mappings_dir=ctx.options.mappings_dir)
        report = scanner.render(result, fmt)
        if output is None:
            click.echo(report, nl=False)
        else:
            output.write_text(report, encoding="utf-8")
        sys.exit(EXIT_FAILED if result.findings else 0)

    _run("scan", action)


def main() -> None:
    try:
        cli()  # click answers usage errors itself, with exit code 2
    except KeyboardInterrupt:  # a Ctrl-C outside a command's own handling (start-up, shutdown)
        click.echo("error: interrupted", err=True)
        sys.exit(EXIT_PARTIAL)
