"""The `dyte-migrate` command line: a thin layer over `migrator.api`.

Each command prints a short human summary (tables and sentences). With `--json`, stdout holds
exactly one JSON object describing the outcome, whatever happens (usage errors included), and
the human lines go to stderr. Expected failures print one line and exit with the documented
code (PRODUCT.md): 0 done, 1 failures or mismatches, 2 usage/config, 3 stopped early
(resumable), 4 ledger locked or foreign.

Global options (`--ledger`, `--json`, ...) are accepted before or after the subcommand: every
subcommand declares them too, and a value given after the subcommand wins.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import sqlite3
import sys
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from migrator import api, interrupts
from migrator import config as config_module
from migrator.errors import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, ConfigError, MigratorError, scrub
from migrator.model import Kind
from migrator.progress import ProgressDisplay
from migrator.settings import DEFAULT_SOURCE, DEFAULT_TARGET, SOURCES, TARGETS, load_credentials

if TYPE_CHECKING:  # rich is imported when a table is printed, at the end of a command
    from rich.console import Console
    from rich.table import Table

# ------------------------------------------------------------------ help: layout, examples, env, exit codes
_NO_BREAK_HYPHEN = "\u2011"

EXIT_CODES = {
    0: "done and clean",
    1: "finished, but some entities failed or verify found mismatches",
    2: "usage, configuration, credential or mapping-file error; nothing written",
    3: "stopped early (--batch-size, --max-seconds, SIGINT, SIGTERM) with work left; run again to resume",
    4: "the ledger is locked by another run or belongs to another pair of orgs",
}
CREDENTIAL_ENV = tuple(
    (f"DYTE_{side}_{name}", f"{side.lower()} {what}")
    for side in ("V1", "V2")
    for name, what in (
        ("ORG_ID", "org id (unless --credentials FILE)"),
        ("API_KEY", "API key (unless --credentials FILE)"),
        ("BASE_URL", f"default https://api.dyte.io/{side.lower()}"),
    )
) + (
    ("CLOUDFLARE_ACCOUNT_ID", "realtimekit account id (with --target realtimekit)"),
    ("CLOUDFLARE_API_TOKEN", "realtimekit API token"),
    ("REALTIMEKIT_APP_ID", "realtimekit app id (or --create-app NAME)"),
    ("REALTIMEKIT_BASE_URL", "realtimekit base URL, for a local server"),
    ("DYTE_MIGRATE_TARGET", "dyte-v2 or realtimekit, as --target"),
    ("DYTE_MIGRATE_SOURCE", "dyte-v1 or dyte-v2, as --source"),
)
LEDGER_ENV = (("DYTE_MIGRATE_LEDGER", "the ledger file, as --ledger"),)
SUMMARY_ENV = (("GITHUB_STEP_SUMMARY", "when set, the Markdown report is appended to this file"),)


class HelpFormatter(click.HelpFormatter):
    """Click's layout, except that a line never breaks at a hyphen (it cut `.dyte-migrate/` in two)."""

    def _keeping_hyphens(self, write: Callable[..., None], *args: Any) -> None:
        start = len(self.buffer)
        write(*args)
        self.buffer[start:] = [chunk.replace(_NO_BREAK_HYPHEN, "-") for chunk in self.buffer[start:]]

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        kept = [(term, text.replace("-", _NO_BREAK_HYPHEN)) for term, text in rows]
        self._keeping_hyphens(super().write_dl, kept, col_max, col_spacing)

    def write_text(self, text: str) -> None:
        self._keeping_hyphens(super().write_text, text.replace("-", _NO_BREAK_HYPHEN))


class CliContext(click.Context):
    formatter_class = HelpFormatter


class DocumentedCommand(click.Command):
    """A subcommand whose help ends with an example, the environment it reads and its exit codes."""

    context_class = CliContext

    def __init__(
        self, *args: Any, example: str, env: Iterable[tuple[str, str]], exit_codes: Iterable[int], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.example, self.env, self.exit_codes = example, tuple(env), tuple(exit_codes)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        with formatter.section("Example"):
            for line in self.example.splitlines():
                formatter.write(f"{'':>{formatter.current_indent}}{line}\n")
        with formatter.section("Environment"):
            formatter.write_dl(self.env)
        with formatter.section("Exit codes"):
            formatter.write_dl([(str(code), EXIT_CODES[code]) for code in self.exit_codes])


class LazyGroup(click.Group):
    """The top-level group: loads some subcommands on first use (product code never imports the
    sandbox), and keeps the --json promise for click's own usage errors."""

    context_class = CliContext
    lazy_commands = {"sandbox": "migrator.sandbox.cli:sandbox"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module, attr = self.lazy_commands[name].split(":")
            command: click.Command = getattr(importlib.import_module(module), attr)
            return command
        return super().get_command(ctx, name)

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **kwargs: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **kwargs)
        argv = list(sys.argv[1:] if args is None else args)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **kwargs)
        except click.ClickException as exc:  # usage errors: click's message on stderr, the JSON object on stdout
            exc.show()
            if "--json" in argv:
                failed: click.Context | None = getattr(exc, "ctx", None)  # usage errors carry their context
                command = failed.command.name if failed is not None and failed.parent else None
                _print_json(_failure(command, exc.format_message(), exc.exit_code))
            sys.exit(exc.exit_code)
        except click.Abort:  # click's form of a KeyboardInterrupt while it read the options
            _fail(json_out="--json" in argv, command=None, message="interrupted before any work started", code=130)
        sys.exit(code if isinstance(code, int) else 0)


# ------------------------------------------------------------------ global options
class _ScrubbingFormatter(logging.Formatter):
    """Log lines pass `scrub` like every other output: libraries log what they like (httpx: full URLs)."""

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


GLOBAL_OPTIONS = (
    click.option(
        "--config",
        "config_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help=f"Settings file (env {config_module.CONFIG_ENV}; default: ./dyte-migrate.toml if present; "
        "`dyte-migrate init` writes one). Flags beat environment variables beat this file.",
    ),
    click.option(
        "--default-preset",
        metavar="NAME",
        default=None,
        help="The v1 preset for participants whose meeting names none (env DYTE_MIGRATE_DEFAULT_PRESET, "
        "config default_preset; default: presets.yaml resolution.org_default_preset). "
        "`check` lists the choices.",
    ),
    click.option(
        "--ledger",
        type=click.Path(path_type=Path),
        default=None,
        help="SQLite ledger file (env DYTE_MIGRATE_LEDGER, config ledger). Default: one per "
        "(source org, target) pair in the user's state directory.",
    ),
    click.option(
        "--reports-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="Where reports are written (env DYTE_MIGRATE_REPORTS_DIR, config reports_dir; default: reports).",
    ),
    click.option(
        "--mappings",
        "mappings_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Folder of mapping YAML files (env DYTE_MIGRATE_MAPPINGS, config mappings; default: the mapping "
        "files shipped with dyte-migrate; `init --with-mappings DIR` copies them to edit).",
    ),
    click.option(
        "--credentials",
        "credentials_file",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        help="JSON credentials file (the format `sandbox serve --credentials-out` writes). "
        "Default: DYTE_V1_*/DYTE_V2_* environment variables.",
    ),
    click.option(
        "--target",
        type=click.Choice(TARGETS),
        default=None,
        metavar="TARGET",
        help=f"Where to migrate: {' or '.join(TARGETS)} (env DYTE_MIGRATE_TARGET, config target; default: {DEFAULT_TARGET}).",
    ),
    click.option(
        "--source",
        type=click.Choice(SOURCES),
        envvar="DYTE_MIGRATE_SOURCE",
        default=DEFAULT_SOURCE,
        metavar="SOURCE",
        show_default=True,
        help=f"What to migrate: {' or '.join(SOURCES)} (a Dyte v2 org moves to --target realtimekit).",
    ),
    click.option(
        "--create-app",
        metavar="NAME",
        default=None,
        help="realtimekit: create an app named NAME when no REALTIMEKIT_APP_ID is given (once; recorded in the ledger).",
    ),
    click.option(
        "--rate-limit",
        type=click.FloatRange(min=0),
        default=None,
        metavar="N",
        help="Dyte's requests per minute, shared by v1 and v2, 0 = no pacing (env DYTE_MIGRATE_RATE_LIMIT, "
        "config rate_limit; default: 2000).",
    ),
    click.option(
        "--target-rate-limit",
        type=click.FloatRange(min=0),
        default=None,
        metavar="N",
        help="Requests per minute for a target with its own limit (default: RealtimeKit's 250 per 10 s = 1500).",
    ),
    click.option("--timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True, help="Seconds per request."),
    click.option(
        "--json", "as_json", is_flag=True, help="Stdout holds exactly one JSON object (the outcome); human lines go to stderr."
    ),
    click.option("--no-progress", is_flag=True, help="No progress display (it is off anyway when stderr is not a terminal)."),
    click.option("-v", "--verbose", count=True, help="More logging on stderr (never secrets)."),
)
GLOBAL_NAMES = (
    "config_file",
    "default_preset",
    "ledger",
    "reports_dir",
    "mappings_dir",
    "credentials_file",
    "target",
    "source",
    "create_app",
    "rate_limit",
    "target_rate_limit",
    "timeout",
    "as_json",
    "no_progress",
    "verbose",
)


def with_global_options(function: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(GLOBAL_OPTIONS):
        function = option(function)
    return function


APP_OUTCOMES = {
    "created": "created",
    "adopted": "adopted: created by this run or an earlier one whose answer was lost",
    "reused": "recorded in the ledger by an earlier run, reused",
}


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

    @property
    def profiles(self) -> tuple[str, str]:
        """(source, target): whose credentials name the default ledger."""
        return (self.source, self.target)

    def migration(self) -> api.Migration:
        credentials = load_credentials(
            self.credentials_file, target=self.target, source=self.source, app_optional=self.create_app is not None
        )
        if self.create_app is not None:
            from migrator.apps import ensure_app  # only for --create-app: keeps start-up light

            if self.options.ledger is None:  # the default ledger is named after the app it would create
                raise ConfigError("--create-app needs --ledger PATH: the app id it creates is recorded there")
            choice = ensure_app(credentials, self.create_app, self.options.ledger, self.options.timeout)
            click.echo(f"realtimekit app {choice.app_id} ({APP_OUTCOMES[choice.outcome]})", err=True)
            credentials = choice.credentials
        return api.Migration(credentials, self.options, progress=ProgressDisplay(self.progress))

    def echo(self, line: str = "") -> None:
        """A human line: stdout, or stderr when stdout is reserved for the JSON object."""
        click.echo(scrub(line), err=self.as_json)

    def console(self) -> Console:
        from rich.console import Console

        return Console(file=sys.stderr if self.as_json else sys.stdout, highlight=False, soft_wrap=False)


def _merged_globals(click_ctx: click.Context, own: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The group's global values, overridden by those typed after the subcommand; and whether
    --ledger was given at all (rather than defaulted)."""
    group = click_ctx.find_root() if click_ctx.parent is not None else None  # `ledger backup`: the root's options
    values = dict(group.params) if group is not None else {}
    given = False
    for name in GLOBAL_NAMES:
        source = click_ctx.get_parameter_source(name)
        if source == ParameterSource.COMMANDLINE or name not in values:
            values[name] = own[name]
        if name == "ledger":
            sources = {source, group.get_parameter_source(name) if group is not None else None}
            given = bool(sources & {ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT})
    return values, given


def _settings(click_ctx: click.Context, values: dict[str, Any]) -> config_module.Resolved:
    """The one place where flags, environment and the config file become settings (flag > env > file > default)."""
    if click_ctx.info_name == "init":  # init writes the config file: it must work without (or over) one
        return config_module.resolve({}, {}, None)
    given = {
        "default_preset": values["default_preset"],
        "ledger": values["ledger"],
        "reports_dir": values["reports_dir"],
        "rate_limit": values["rate_limit"],
        "target": values["target"],
        "mappings": values["mappings_dir"],
    }
    try:
        return config_module.resolve(
            {k: v for k, v in given.items() if v is not None},
            os.environ,
            config_module.find_config(values["config_file"], os.environ)[0],
        )
    except MigratorError as exc:
        _fail(values["as_json"], click_ctx.info_name, str(exc), exc.exit_code)
        raise  # _fail exits


def _context(click_ctx: click.Context, own: dict[str, Any]) -> Context:
    values, _ = _merged_globals(click_ctx, own)
    verbose = values["verbose"]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ScrubbingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING, handlers=[handler])
    settings = _settings(click_ctx, values)
    chosen = settings.values
    options = api.Options(
        ledger=chosen["ledger"],
        reports_dir=chosen["reports_dir"],
        mappings_dir=chosen["mappings"],
        concurrency=chosen["concurrency"],
        rate_per_minute=chosen["rate_limit"],
        timeout=values["timeout"],
        target_rate_per_minute=values["target_rate_limit"],
        default_preset=chosen["default_preset"],
        sources=settings.sources,
    )
    ledger_given = settings.sources["ledger"] != config_module.DEFAULT_SOURCE
    return Context(
        options,
        values["credentials_file"],
        values["as_json"],
        verbose,
        ledger_given,
        not values["no_progress"],
        chosen["target"],
        values["create_app"],
        values["source"],
    )


def command(
    name: str,
    *,
    example: str,
    exit_codes: Iterable[int],
    network: bool = True,
    reports: bool = False,
    group: click.Group | None = None,
    **attrs: Any,
) -> Callable[[Callable[..., None]], click.Command]:
    """A subcommand with the global options, its documented epilog, and a `Context` as first argument."""
    env = (*(CREDENTIAL_ENV if network else ()), *LEDGER_ENV, *(SUMMARY_ENV if reports else ()))

    def decorate(function: Callable[..., None]) -> click.Command:
        @functools.wraps(function)
        def callback(**kwargs: Any) -> None:
            own = {key: kwargs.pop(key) for key in GLOBAL_NAMES}
            function(_context(click.get_current_context(), own), **kwargs)

        return (group or cli).command(name, cls=DocumentedCommand, example=example, env=env, exit_codes=exit_codes, **attrs)(
            with_global_options(callback)
        )

    return decorate


# ------------------------------------------------------------------ output
def _print_json(value: dict[str, Any]) -> None:
    """One line whatever the data holds: ASCII-escaped, so no U+2028 or NEL in a title can split it."""
    click.echo(scrub(json.dumps(value, ensure_ascii=True, default=str)))


def _failure(command: str | None, message: str, code: int) -> dict[str, Any]:
    status = "partial" if code == EXIT_PARTIAL else "failed"  # exit 3: stopped early, resumable
    return {
        "command": command,
        "status": status,
        "exit_code": code,
        "error": message,
        "counts": {},
        "requests": {},
        "reports": [],
    }


def counts_table(counts: dict[str, dict[str, int]], title: str | None = None) -> Table:
    """One row per kind, one column per count name (actions, outcomes or states), in first-seen order."""
    from rich import box
    from rich.table import Table

    columns = list(dict.fromkeys(name for tally in counts.values() for name in tally))
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("kind")
    for column in columns:
        table.add_column(column, justify="right")
    for kind, tally in counts.items():
        table.add_row(kind, *(str(tally.get(column, 0)) for column in columns))
    return table


def _emit(
    ctx: Context,
    outcome: api.Outcome,
    human: list[str] | None = None,
    *,
    table: bool = True,
    extra: dict[str, Any] | None = None,
    closing: Sequence[str] = (),
) -> None:
    """Print the outcome (tables and sentences; the JSON object under --json) and exit with its code."""
    interrupts.settle()
    for line in outcome.notices:
        ctx.echo(line)
    if table and any(outcome.counts.values()):
        ctx.console().print(counts_table(outcome.counts))
    for line in human if human is not None else [outcome.message]:
        if line:
            ctx.echo(line)
    for warning in outcome.details.get("warnings") or []:
        click.echo(scrub(f"warning: {warning}"), err=True)
    if outcome.reports:
        ctx.echo("reports: " + ", ".join(outcome.reports))
    for line in closing:
        ctx.echo(line)
    if ctx.as_json:
        _print_json({**outcome.as_json(), **(extra or {})})
    sys.exit(outcome.exit_code)


def read_outcome(stdout: str) -> dict[str, Any] | None:
    """The `--json` outcome a run printed: its last non-blank stdout line, if that is one JSON object."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    try:
        value = json.loads(lines[-1]) if lines else None
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _run(ctx: Context, command: str, action: Callable[[], None]) -> None:
    """Call `action`, turning every expected failure (and a signal) into one line and its exit code."""
    try:
        with interrupts.work_phase():
            action()
    except MigratorError as exc:
        _fail(ctx.as_json, command, str(exc), exc.exit_code)
    except interrupts.Stopped as exc:
        _fail(ctx.as_json, command, f"stopped by {exc.signal_name}; run the command again to resume", EXIT_PARTIAL)
    except KeyboardInterrupt:
        _fail(ctx.as_json, command, "interrupted; run the command again to resume", EXIT_PARTIAL)
    except sqlite3.DatabaseError as exc:  # damage inside the ledger file that opening it could not see
        _fail(ctx.as_json, command, f"ledger {ctx.options.ledger or '(default)'} is corrupt or unusable ({exc})", EXIT_USAGE)
    except (SystemExit, click.exceptions.Exit, click.ClickException):
        raise
    except Exception as exc:  # a bug: still one line, the traceback only with -v
        if ctx.verbose:
            click.echo(scrub(traceback.format_exc()), err=True)
        _fail(ctx.as_json, command, f"internal error: {type(exc).__name__}: {exc}", EXIT_FAILED)


def _parse_shard(click_ctx: click.Context, param: click.Parameter, value: str | None) -> Any:
    """`--shard I/N` as a Shard; a bad one is a usage error (exit 2)."""
    from migrator.shards import Shard

    if value is None:
        return None
    try:
        return Shard.parse(value)
    except MigratorError as exc:
        raise click.BadParameter(str(exc)) from None


shard_option = click.option(
    "--shard",
    metavar="I/N",
    default=None,
    callback=_parse_shard,
    help="Do shard I of N (a CI matrix job): the meetings whose source id hashes to I, with their participants; "
    "one ledger per shard, combined by `ledger merge`.",
)

refresh_option = click.option(
    "--refresh/--no-refresh",
    default=True,
    help="Read the target's listings for objects deleted there since they were written, and create them again "
    "(default). --no-refresh skips those reads (one per migrated meeting): for batch runs right after one another.",
)


def _fail(json_out: bool, command: str | None, message: str, code: int) -> None:
    interrupts.settle()
    message = scrub(message.splitlines()[0] if message else "unknown error")
    click.echo(f"error: {message}", err=True)
    if json_out:
        _print_json(_failure(command, message, code))
    sys.exit(code)


# ------------------------------------------------------------------ commands
@click.group(
    name="dyte-migrate",
    cls=LazyGroup,
    invoke_without_command=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="Global options work before or after the subcommand. `dyte-migrate COMMAND --help` shows "
    "each command's example, environment and exit codes.",
)
@click.version_option(package_name="dyte-migrate", prog_name="dyte-migrate", message="%(prog)s %(version)s")
@with_global_options
@click.pass_context
def cli(click_ctx: click.Context, /, **_globals: Any) -> None:
    """Move a Dyte organization from the v1 REST API to the v2 REST API, or from v1 or v2 to Cloudflare RealtimeKit.

    Typical use: check, plan, read reports/plan.html, migrate, verify, export-ids.
    """
    if click_ctx.invoked_subcommand is None:  # bare `dyte-migrate`: the help, and success
        click.echo(click_ctx.get_help())
        click_ctx.exit(0)


_SHOWN_SETTINGS = (
    ("default_preset", "default_preset"),
    ("ledger", "ledger"),
    ("reports_dir", "reports_dir"),
    ("rate_limit", "rate_per_minute"),
    ("concurrency", "concurrency"),
    ("target", "target"),
    ("mappings", "mappings_dir"),
)


@command("check", example="dyte-migrate check --default-preset webinar_host", exit_codes=(0, 2, 3, 4))
def check(ctx: Context) -> None:
    """Preflight: credentials, ledger, mappings, settings, and the org default preset.

    Reads the v1 org into the ledger (the same extract plan and migrate run; nothing is
    written to the target) to count the participants that need the org default preset.
    Exit 2 when some do and it is unset or not a v1 preset of the org.
    """

    def action() -> None:
        settings = {}
        for name, field in _SHOWN_SETTINGS:
            value = ctx.target if name == "target" else getattr(ctx.options, field)
            if value is None and name == "ledger":
                value = "the org pair's ledger in the user state directory"
            settings[name] = {"value": str(value), "from": ctx.options.sources.get(name, "Options")}
            if not ctx.as_json:  # first, so a wrong value is visible even when a preflight fails
                ctx.echo(f"setting {name} = {value} ({settings[name]['from']})")
        migration = ctx.migration()
        outcome = migration.check()
        outcome.details["settings"] = settings  # under --json: in the one object (stderr holds one line on failure)
        d = outcome.details
        source, target = migration.credentials.v1.profile.title, migration.credentials.v2.profile.title
        _emit(
            ctx,
            outcome,
            [
                f"{source}: {d['v1']['base_url']} org {d['v1']['org_id']}: reachable",
                f"{target}: {d['v2']['base_url']} org {d['v2']['org_id']}: reachable",
                f"ledger: {d['ledger']['path']} ({d['ledger']['entities']} entities)",
                f"mappings: {d['mappings']['dir']} ({', '.join(d['mappings']['files'])})",
                outcome.message,
            ],
        )

    _run(ctx, "check", action)


@command("extract", example="dyte-migrate extract", exit_codes=(0, 1, 2, 3, 4))
def extract(ctx: Context) -> None:
    """Read the whole source org into the ledger (a snapshot with a hash per object)."""
    _run(ctx, "extract", lambda: _emit(ctx, ctx.migration().extract()))


@command(
    "plan",
    example="dyte-migrate plan --out reviewed.plan.json   # then read reports/plan.html",
    exit_codes=(0, 1, 2, 3, 4),
    reports=True,
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Also save the plan to FILE, for `migrate --plan FILE` to apply exactly.",
)
@refresh_option
@shard_option
def plan(ctx: Context, out: Path | None, refresh: bool, shard: Any) -> None:
    """Dry run: extract, map, compare with the target, write reports. Writes nothing to the target."""
    ctx.options.shard = shard
    _run(ctx, "plan", lambda: _emit(ctx, ctx.migration().plan(out=out, refresh=refresh)))


@command(
    "migrate",
    example="dyte-migrate migrate --max-seconds 1500 --json   # exit 3: run it again",
    exit_codes=(0, 1, 2, 3, 4),
    reports=True,
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Requests in flight at once (env DYTE_MIGRATE_CONCURRENCY, config concurrency; default: 8).",
)
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=None, help="Stop (exit 3) after this many writes to the target."
)
@click.option(
    "--max-seconds",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Stop starting writes after this many seconds (exit 3 if work remains).",
)
@click.option("--only", default=None, help=f"Comma list of kinds ({', '.join(k.plural for k in Kind)}; singular works too).")
@click.option(
    "--plan",
    "saved_plan",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Apply exactly this saved plan (`plan --out FILE`); refuse (exit 2) if the source, the target or the mappings changed.",
)
@click.option(
    "--allow-existing",
    is_flag=True,
    help="Create even though this ledger knows nothing of the target and the target already holds objects that match the source.",
)
@click.option(
    "--prune", is_flag=True, help="Delete what this tool created for source objects deleted since (meetings: set INACTIVE)."
)
@click.option(
    "--meeting",
    "meetings",
    multiple=True,
    metavar="V1_ID",
    help="Canary: migrate just this source meeting (repeatable), its participants and the presets they need.",
)
@refresh_option
@shard_option
def migrate(
    ctx: Context,
    concurrency: int | None,
    batch_size: int | None,
    max_seconds: float | None,
    only: str | None,
    saved_plan: Path | None,
    allow_existing: bool,
    prune: bool,
    meetings: tuple[str, ...],
    refresh: bool,
    shard: Any,
) -> None:
    """Plan and apply; resumes from the ledger; a re-run after completion writes nothing."""

    def action() -> None:
        if concurrency is not None:
            ctx.options.concurrency, ctx.options.sources["concurrency"] = concurrency, "--concurrency"
        ctx.options.shard = shard
        _emit(
            ctx,
            ctx.migration().migrate(
                batch_size=batch_size,
                max_seconds=max_seconds,
                only=only,
                plan=saved_plan,
                allow_existing=allow_existing,
                prune=prune,
                meetings=meetings or None,
                refresh=refresh,
            ),
        )

    _run(ctx, "migrate", action)


@command("status", example="dyte-migrate status --ledger ci/ledger.sqlite", exit_codes=(0, 2, 3), network=False)
def status(ctx: Context) -> None:
    """Progress per kind and state, from the ledger alone (no network)."""
    _run(ctx, "status", lambda: _emit(ctx, api.status(ctx.options.ledger, ctx.credentials_file, ctx.profiles)))


@command("verify", example="dyte-migrate verify || cat reports/verify.md", exit_codes=(0, 1, 2, 3, 4), reports=True)
@shard_option
def verify(ctx: Context, shard: Any) -> None:
    """Read the source and the target again; check the target holds what the mappings say. Writes a report."""
    ctx.options.shard = shard
    _run(ctx, "verify", lambda: _emit(ctx, ctx.migration().verify()))


@command(
    "export-ids",
    example="dyte-migrate export-ids --format csv --output ids.csv",
    exit_codes=(0, 2),
    network=False,
    epilog="The file is readable by its owner only (it holds emails). Without --output the id map goes to "
    "stdout; with --json it is the `ids` list of the JSON object (the rows --format json writes).",
)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="File to write (default: stdout).")
@shard_option
def export_ids(ctx: Context, fmt: str, output: Path | None, shard: Any) -> None:
    """The source -> target id map (meetings, participants, presets, webhooks, recordings)."""

    def action() -> None:
        if output is None and ctx.as_json:
            outcome, text = api.export_ids(ctx.options.ledger, "json", None, ctx.credentials_file, shard, ctx.profiles)
            ids = json.loads(text)["ids"]
            _emit(
                ctx, outcome, [f"id map: {len(ids)} rows, in the `ids` list of the JSON object"], table=False, extra={"ids": ids}
            )
        outcome, text = api.export_ids(ctx.options.ledger, fmt, output, ctx.credentials_file, shard, ctx.profiles)
        if output is None:
            interrupts.settle()
            click.echo(text, nl=False)
            sys.exit(0)
        _emit(ctx, outcome, table=False)

    _run(ctx, "export-ids", action)


@command(
    "rollback",
    example="dyte-migrate rollback   # shows what it would undo; then: rollback --yes",
    exit_codes=(0, 1, 2, 3, 4),
    reports=True,
)
@click.option("--yes", is_flag=True, help="Really undo: delete what this tool created, set its meetings INACTIVE.")
def rollback(ctx: Context, yes: bool) -> None:
    """Undo what the ledger says this tool created in the target; without --yes, only show what it would do."""

    def action() -> None:
        if yes:
            _emit(ctx, ctx.migration().rollback())
            return
        preview = ctx.migration().rollback_preview()
        items = [f"  {item['undo']} {item['kind']} {item['v2_id']} ({item['label']})" for item in preview.details["first"]]
        _emit(ctx, preview, [*items, preview.message])

    _run(ctx, "rollback", action)


@command(
    "import",
    example="dyte-migrate --ledger new.sqlite import   # then plan: it should show nothing to create",
    exit_codes=(0, 1, 2, 3, 4),
    reports=True,
)
def import_command(ctx: Context) -> None:
    """Rebuild the ledger from what the target already holds (a lost ledger): match, never guess; writes nothing there."""
    _run(ctx, "import", lambda: _emit(ctx, ctx.migration().import_()))


NEXT_STEPS = (
    "next: open {plan} to see what a plan shows. For your own org:",
    "  set DYTE_V1_ORG_ID, DYTE_V1_API_KEY, DYTE_V2_ORG_ID and DYTE_V2_API_KEY (or pass --credentials FILE), then",
    "  dyte-migrate check && dyte-migrate plan   # then migrate, verify, export-ids (README: Using it on a real org)",
)


def _may_write_reports(ctx: Context, force: bool) -> None:
    """Reports already in the folder are overwritten only with --force or a yes at the terminal."""
    folder = ctx.options.reports_dir
    existing = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    if not existing or force:
        return
    question = f"{folder} already holds reports; overwrite them?"
    if not (sys.stdin.isatty() and click.confirm(question, default=False, err=True)):
        raise ConfigError(
            f"{folder} already holds reports: pass --force to overwrite them, or --reports-dir DIR to write elsewhere"
        )


@command("demo", example="dyte-migrate demo --force", exit_codes=(0, 1, 2, 3), network=False)
@click.option("--meetings", type=click.IntRange(1, 100000), default=20, show_default=True)
@click.option("--participants", type=click.IntRange(0, 10000), default=5, show_default=True, help="Per meeting.")
@click.option("--force", is_flag=True, help="Overwrite reports already in --reports-dir without asking.")
def demo(ctx: Context, meetings: int, participants: int, force: bool) -> None:  # the global --target and --source
    """Start the sandbox with sample data, run plan, migrate, verify and a repeat migrate.

    Work files (ledger, sandbox credentials) live in a temporary folder that is removed at the end.
    Existing reports are overwritten only with --force or after a yes at the terminal; without a
    terminal to ask, the demo refuses (exit 2).
    """

    def action() -> None:
        _may_write_reports(ctx, force)
        from migrator import demo as demo_module  # the sandbox launcher: only for the demo

        outcome, lines = demo_module.run_demo(
            ctx.options,
            meetings=meetings,
            participants=participants,
            ledger_given=ctx.ledger_given,
            target=ctx.target,
            source=ctx.source,
        )
        plan_page = ctx.options.reports_dir / "plan.html"
        next_steps = [line.format(plan=plan_page) for line in NEXT_STEPS] if outcome.exit_code == EXIT_OK else []
        _emit(ctx, outcome, lines, closing=next_steps)

    _run(ctx, "demo", action)


@command("scan", example="dyte-migrate scan src/ --format sarif --output dyte.sarif", exit_codes=(0, 1, 2), network=False)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "sarif"]), default="text", show_default=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), default=None, help="File to write (default: stdout).")
@click.option("--exclude", multiple=True, metavar="GLOB", help="Skip paths matching this .gitignore pattern (repeatable).")
def scan(ctx: Context, paths: tuple[Path, ...], fmt: str, output: Path | None, exclude: tuple[str, ...]) -> None:
    """Find Dyte v1 REST usage in application code and say what to change; exit 1 if any is found.

    `--target realtimekit` suggests RealtimeKit's paths and auth instead of Dyte v2's.
    """

    def action() -> None:
        from migrator import scan as scanner  # not at start-up: ast-grep is only needed here

        result = scanner.scan_paths(paths, ctx.target, exclude=exclude, mappings_dir=ctx.options.mappings_dir)
        report = scanner.render(result, fmt)
        interrupts.settle()
        if output is None:
            click.echo(report, nl=False)
        else:
            output.write_text(report, encoding="utf-8")
        sys.exit(EXIT_FAILED if result.findings else 0)

    _run(ctx, "scan", action)


@cli.group("ledger", context_settings={"help_option_names": ["-h", "--help"]})
def ledger_group() -> None:
    """Work with the ledger file itself: keep a copy of it, or combine shard ledgers."""


@command("backup", example="dyte-migrate ledger backup ci/ledger-copy.sqlite", exit_codes=(0, 2), group=ledger_group)
@click.argument("copy", metavar="FILE", type=click.Path(path_type=Path, dir_okay=False))
def ledger_backup(ctx: Context, copy: Path) -> None:
    """Copy the ledger (write-ahead log included) into one FILE, e.g. to keep it in CI."""
    _run(
        ctx, "ledger backup", lambda: _emit(ctx, api.backup_ledger(ctx.options.ledger, copy, ctx.credentials_file, ctx.profiles))
    )


@command(
    "merge",
    example="dyte-migrate ledger merge shard-*/ledger.sqlite --output merged.sqlite",
    exit_codes=(0, 2, 4),
    network=False,
    group=ledger_group,
)
@click.argument("ledgers", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--output",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The merged ledger to write (must not exist yet).",
)
def ledger_merge(ctx: Context, ledgers: tuple[Path, ...], output: Path) -> None:
    """Combine the ledgers of every shard (`--shard I/N`) into one, for status, verify, export-ids and later runs."""

    def action() -> None:
        from migrator.merge import merge_ledgers

        merged = merge_ledgers(list(ledgers), output)
        message = (
            f"merged shards {', '.join(merged.shards)} of source org {merged.pair[0]} -> target {merged.pair[1]} into {output}"
        )
        _emit(ctx, api.Outcome("ledger merge", "complete", counts=merged.counts, reports=[str(output)], message=message))

    _run(ctx, "ledger merge", action)


@command(
    "init", example="dyte-migrate init --with-mappings mappings   # then edit dyte-migrate.toml", exit_codes=(0, 2), network=False
)
@click.option(
    "--with-mappings",
    "copy_to",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Also copy the packaged mapping files to DIR to edit, and point the config file at them.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing config file or mapping files.")
@click.option(
    "--to",
    "config_to",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Where to write the config file (default: ./dyte-migrate.toml).",
)
def init(ctx: Context, copy_to: Path | None, force: bool, config_to: Path | None) -> None:
    """Write a commented dyte-migrate.toml (and, with --with-mappings DIR, a copy of the mapping files to edit)."""

    def action() -> None:
        target = config_to or config_module.CONFIG_FILE
        if target.exists() and not force:
            raise ConfigError(f"{target} already exists; pass --force to overwrite it")
        copied = config_module.copy_mappings(copy_to, force) if copy_to is not None else []
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(config_module.render_template(copy_to, target.parent), encoding="utf-8")
        ctx.echo(f"wrote {target}" + (f" and {len(copied)} mapping files in {copy_to}" if copied else ""))
        ctx.echo("next: set your credentials in the environment, then run `dyte-migrate check`")
        sys.exit(EXIT_OK)

    _run(ctx, "init", action)
