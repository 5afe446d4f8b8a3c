"""The command line's own habits, no sandbox needed: --version, help, global options anywhere,
and the --json contract for usage errors (issue #14)."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

import migrator
from migrator.cli import cli
from migrator.errors import EXIT_USAGE

NETWORK_COMMANDS = ("check", "extract", "plan", "migrate", "verify", "rollback")
SUBCOMMANDS = (*NETWORK_COMMANDS, "status", "export-ids", "demo")


def invoke(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_version_prints_the_package_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"dyte-migrate {migrator.__version__}"


def test_bare_command_shows_help_and_exits_0() -> None:
    result = invoke()
    assert result.exit_code == 0
    assert "Usage: dyte-migrate" in result.stdout or "Usage: cli" in result.stdout
    assert "migrate" in result.stdout and "Commands" in result.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_help_has_an_example_env_vars_and_exit_codes(name: str) -> None:
    result = invoke(name, "--help", terminal_width=100)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert re.search(rf"Example:\s*\n\s+dyte-migrate .*{name}", text), text
    assert "DYTE_MIGRATE_LEDGER" in text, text
    assert ("DYTE_V1_API_KEY" in text) == (name in NETWORK_COMMANDS), text
    codes = text.split("Exit codes:")[1]
    assert re.search(r"^\s+0\s+done", codes, re.M) and re.search(r"^\s+2\s+usage", codes, re.M), text


@pytest.mark.parametrize("width", [60, 80, 120])
def test_help_never_cuts_a_word_at_its_hyphen(width: int) -> None:
    text = invoke("--help", terminal_width=width).stdout
    assert "./dyte-migrate.toml" in text, text
    assert not re.search(r"\w-\n", text), text


def test_mappings_help_names_the_packaged_copy() -> None:
    text = " ".join(invoke("plan", "--help", terminal_width=200).stdout.split())
    assert "project's mappings/" not in text
    assert "mapping files shipped with dyte-migrate" in text


@pytest.mark.parametrize(
    "args",
    [
        ["--ledger", "{before}", "status", "--json"],
        ["status", "--json", "--ledger", "{before}"],
        ["--json", "status", "--ledger", "{before}"],
        ["--ledger", "elsewhere.sqlite", "--json", "status", "--ledger", "{before}"],  # the subcommand's value wins
    ],
)
def test_global_options_work_before_or_after_the_subcommand(tmp_path, args: list[str]) -> None:
    ledger = tmp_path / "missing.sqlite"
    result = invoke(*[a.format(before=ledger) for a in args])
    assert result.exit_code == EXIT_USAGE, result.output
    outcome = json.loads(result.stdout)  # --json took effect wherever it stood
    assert str(ledger) in outcome["error"]


@pytest.mark.parametrize(
    "args",
    [
        ["--json", "migrate", "--concurrency", "0"],
        ["migrate", "--no-such-option", "--json"],
        ["--json", "no-such-command"],
        ["export-ids", "--format", "xml", "--json"],
    ],
)
def test_a_usage_error_under_json_is_one_json_object_on_stdout(args: list[str]) -> None:
    result = invoke(*args)
    assert result.exit_code == EXIT_USAGE
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "failed" and outcome["exit_code"] == EXIT_USAGE and outcome["error"]
    assert "Usage:" in result.stderr or "Error:" in result.stderr


def test_a_usage_error_without_json_prints_no_json() -> None:
    result = invoke("migrate", "--concurrency", "0")
    assert result.exit_code == EXIT_USAGE
    assert result.stdout == ""


def test_completion_script_is_generated_by_click(monkeypatch) -> None:
    result = CliRunner().invoke(cli, [], env={"_DYTE_MIGRATE_COMPLETE": "bash_source"}, prog_name="dyte-migrate")
    assert result.exit_code == 0
    assert "_DYTE_MIGRATE_COMPLETE" in result.stdout and "complete" in result.stdout
