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
from migrator.settings import load_credentials

KINDS = ("presets", "meetings", "participants", "webhooks")


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

    def migration(self) -> api.Migration:
        return api.Migration(load_credentials(self.credentials_file), self.options)


def _emit(ctx: Context, outcome: api.Outcome, human: list[str] | None = None) -> None:
    lines = human if human is not None else [outcome.message]
    for line in lines:
        if line:
            click.echo(scrub(line))
    for warning in outcome.details.get("warnings") or []:
        click.echo(scrub(f"warning: {warning}"), err=True)
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
        _fail(ctx, command, f"ledger {ctx.options.ledger or '(default)'} is corrupt or unusable ({exc})", EXIT_USAGE)
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
@click.option("--ledger", type=click.Path(path_type=Path), envvar="DYTE_MIGRATE_LEDGER", default=None,
              help="SQLite ledger file. Default: one per (v1 org, v2 org) pair in the user's state directory.")
@click.option("--reports-dir", type=click.Path(path_type=Path), default=Path("reports"), show_default=True,
              help="Where reports are written.")
@click.option("--mappings", "mappings_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder of mapping YAML files (default: the project's mappings/).")
@click.option("--credentials", "credentials_file", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="JSON credentials file (the format `sandbox serve --credentials-out` writes). "
                   "Default: DYTE_V1_*/DYTE_V2_* environment variables.")
@click.option("--rate-limit", type=click.FloatRange(min=0), default=2000, show_default=True,
              help="Requests per minute shared by v1 and v2 (0 = no pacing).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds per request.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as one JSON object on the last line of stdout.")
@click.option("--no-progress", is_flag=True, help="No progress display (it is off anyway when stderr is not a terminal).")
@click.option("-v", "--verbose", count=True, help="More logging on stderr (never secrets).")
@click.pass_context
def cli(click_ctx: click.Context, ledger: Path | None, reports_dir: Path, mappings_dir: Path | None,
        credentials_file: Path | None, rate_limit: float, timeout: float, as_json: bool, no_progress: bool,
        verbose: int) -> None:
    """Move a Dyte organization from the v1 REST API to the v2 REST API.

    Typical use: plan, read reports/plan.html, migrate, verify, export-ids.
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ScrubbingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING,
                        handlers=[handler])
    options = api.Options(ledger=ledger, reports_dir=reports_dir, rate_per_minute=rate_limit, timeout=timeout,
                          progress=not no_progress)
    if mappings_dir is not None:
        options.mappings_dir = mappings_dir
    click_ctx.obj = Context(options, credentials_file, as_json, verbose, ledger is not None)


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
def plan() -> None:
    """Dry run: extract, map, compare with v2, write reports. Makes no v2 write."""
    _run("plan", lambda ctx: _emit(ctx, ctx.migration().plan()))


def _parse_only(value: str | None) -> set[str] | None:
    if not value:
        return None
    chosen = {v.strip() for v in value.split(",") if v.strip()}
    unknown = chosen - set(KINDS)
    if unknown:
        raise click.BadParameter(f"unknown kind(s) {', '.join(sorted(unknown))}; choose from {', '.join(KINDS)}")
    return {k[:-1] for k in chosen}


@cli.command()
@click.option("--concurrency", type=click.IntRange(1, 64), default=8, show_default=True, help="Requests in flight at once.")
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Stop (exit 3) after this many v2 writes.")
@click.option("--max-seconds", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop starting writes after this many seconds (exit 3 if work remains).")
@click.option("--only", default=None, help="Comma list of kinds: presets,meetings,participants,webhooks.")
def migrate(concurrency: int, batch_size: int | None, max_seconds: float | None, only: str | None) -> None:
    """Plan and apply; resumes from the ledger; a re-run after completion writes nothing."""
    kinds = _parse_only(only)

    def action(ctx: Context) -> None:
        ctx.options.concurrency = concurrency
        _emit(ctx, ctx.migration().migrate(batch_size=batch_size, max_seconds=max_seconds, only=kinds))

    _run("migrate", action)


@cli.command()
def status() -> None:
    """Progress per kind and state, from the ledger alone (no network)."""

    def action(ctx: Context) -> None:
        outcome = api.status(ctx.options.ledger, ctx.credentials_file)
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
        outcome, text = api.export_ids(ctx.options.ledger, fmt, output, ctx.credentials_file)
        if output is None and not ctx.as_json:
            click.echo(text, nl=False)
            sys.exit(0)
        _emit(ctx, outcome)

    _run("export-ids", action)


@cli.command()
@click.option("--yes", is_flag=True, help="Really undo: delete what this tool created, set its meetings INACTIVE.")
def rollback(yes: bool) -> None:
    """Undo what the ledger says this tool created in v2."""

    def action(ctx: Context) -> None:
        if not yes:
            raise click.UsageError("rollback deletes v2 participants, presets and webhooks this tool created; pass --yes")
        _emit(ctx, ctx.migration().rollback())

    _run("rollback", action)


@cli.group("ledger")
def ledger_group() -> None:
    """Work with the ledger file itself."""


@ledger_group.command("backup")
@click.argument("target", type=click.Path(path_type=Path, dir_okay=False))
def ledger_backup(target: Path) -> None:
    """Copy the ledger (write-ahead log included) into one file TARGET, e.g. to keep it in CI."""

    def action(ctx: Context) -> None:
        _emit(ctx, api.backup_ledger(ctx.options.ledger, target, ctx.credentials_file))

    _run("ledger backup", action)


@cli.command()
@click.option("--meetings", type=click.IntRange(1, 100000), default=20, show_default=True)
@click.option("--participants", type=click.IntRange(0, 10000), default=5, show_default=True, help="Per meeting.")
def demo(meetings: int, participants: int) -> None:
    """Start the sandbox with sample data, run plan, migrate, verify and a repeat migrate."""

    def action(ctx: Context) -> None:
        outcome, lines = demo_module.run_demo(ctx.options, meetings=meetings, participants=participants,
                                              ledger_given=ctx.ledger_given)
        _emit(ctx, outcome, lines)

    _run("demo", action)


def main() -> None:
    try:
        cli()  # click answers usage errors itself, with exit code 2
    except KeyboardInterrupt:  # a Ctrl-C outside a command's own handling (start-up, shutdown)
        click.echo("error: interrupted", err=True)
        sys.exit(EXIT_PARTIAL)
