"""The CLI as users of Terraform, uv and gh expect it (issue #14), against the real sandbox:
one JSON object on stdout under --json, global options after the subcommand, tables and
sentences instead of Python reprs, owner-only id maps."""

from __future__ import annotations

import json
import re
import stat

import pytest
from click.testing import CliRunner

from migrator.cli import cli
from migrator.errors import EXIT_OK, EXIT_USAGE

from .helpers import Workspace

PYTHON_REPR = re.compile(r"\{'|\{\}|': [{\d]")  # `{'preset': 5`, `{}`, `'participant': {...}`


@pytest.fixture
def org(sandbox_factory):
    return sandbox_factory(rate_limit=0, meetings=4, participants=3)


@pytest.fixture
def ws(tmp_path, org):
    return Workspace.for_sandbox(tmp_path, org)


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def only_json(stdout: str) -> dict:
    """Stdout must be exactly one JSON object: json.loads of the whole text, not of its last line."""
    value = json.loads(stdout)
    assert isinstance(value, dict)
    return value


def test_under_json_stdout_is_one_object_and_human_lines_go_to_stderr(ws):
    for command in (
        ["check"],
        ["extract"],
        ["plan"],
        ["migrate"],
        ["status"],
        ["verify"],
        ["export-ids", "--output", str(ws.root / "ids.csv")],
        ["rollback", "--yes"],
    ):
        result = invoke(ws.args(*command))
        outcome = only_json(result.stdout)
        assert outcome["command"] == command[0] and outcome["exit_code"] == result.exit_code, result.output
        assert result.stderr.strip(), f"{command}: the human summary belongs on stderr"


def test_a_failure_under_json_is_one_object_too(ws):
    creds = json.loads(ws.credentials.read_text())
    creds["v1"]["api_key"] = "wrong-key"
    ws.credentials.write_text(json.dumps(creds))
    result = invoke(ws.args("plan"))
    assert result.exit_code == EXIT_USAGE
    outcome = only_json(result.stdout)
    assert outcome["status"] == "failed" and outcome["exit_code"] == EXIT_USAGE and "401" in outcome["error"]


def test_global_options_after_the_subcommand(ws):
    """Every global option typed after `migrate`, as `dyte-migrate migrate --json` users write it."""
    result = invoke(["migrate", *ws.args()])
    assert result.exit_code == EXIT_OK, result.output
    assert only_json(result.stdout)["status"] == "complete"
    assert ws.ledger.exists() and (ws.reports / "migrate.json").exists()


def test_export_ids_under_json_without_output_carries_the_ids(ws):
    assert invoke(ws.args("migrate")).exit_code == EXIT_OK
    result = invoke(ws.args("export-ids", "--format", "csv"))
    assert result.exit_code == EXIT_OK, result.output
    outcome = only_json(result.stdout)
    participants = [row for row in outcome["ids"] if row["kind"] == "participant"]
    assert len(participants) == 4 * 3 and all(row["v2_id"] for row in participants)
    meetings = {row["v1_id"]: row["v2_id"] for row in outcome["ids"] if row["kind"] == "meeting"}
    assert len(meetings) == 4 and all(meetings.values())


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_exported_id_maps_are_readable_by_their_owner_only(ws, fmt):
    assert invoke(ws.args("migrate")).exit_code == EXIT_OK
    target = ws.root / f"ids.{fmt}"
    assert invoke(ws.args("export-ids", "--format", fmt, "--output", str(target))).exit_code == EXIT_OK
    assert "@" in target.read_text()  # it does hold emails
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def human(ws, *command: str):
    result = invoke(ws.args(*command, json_out=False))
    assert not PYTHON_REPR.search(result.stdout), result.stdout
    return result


def test_human_output_is_tables_and_sentences_never_a_python_repr(ws):
    result = human(ws, "rollback", "--yes")  # nothing created yet
    assert result.exit_code == EXIT_OK, result.output
    assert "nothing to roll back" in result.stdout
    result = human(ws, "extract")
    assert re.search(r"extracted .*\b12 participants\b", result.stdout), result.stdout
    result = human(ws, "migrate")
    assert re.search(r"^\s*participant\s+.*\b12\b", result.stdout, re.M), result.stdout  # a per-kind table row
    result = human(ws, "status")
    assert re.search(r"^\s*kind\s+", result.stdout, re.M), result.stdout
    result = human(ws, "rollback", "--yes")
    assert result.exit_code == EXIT_OK, result.output
    assert re.search(r"rolled back.*12 participants", result.stdout), result.stdout
    assert re.search(r"; [1-4] meetings set INACTIVE", result.stdout), result.stdout
