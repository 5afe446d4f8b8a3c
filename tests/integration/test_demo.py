"""`dyte-migrate demo`: leaves no temporary folder behind, never overwrites reports unasked,
and ends with what to do next."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator.cli import cli
from migrator.errors import EXIT_OK, EXIT_USAGE

SMALL = ("--meetings", "2", "--participants", "1")


@pytest.fixture
def temp_root(tmp_path, monkeypatch) -> Path:
    """The folder tempfile uses, so that what the demo leaves behind can be counted."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    return root


def demo(tmp_path: Path, *args: str):
    return CliRunner().invoke(
        cli, ["--reports-dir", str(tmp_path / "reports"), "--no-progress", "demo", *SMALL, *args], catch_exceptions=False
    )


def test_demo_cleans_up_and_ends_with_next_steps(tmp_path, temp_root):
    result = demo(tmp_path)
    assert result.exit_code == EXIT_OK, result.output
    assert list(temp_root.iterdir()) == [], "the demo's ledger and sandbox credentials must not outlive it"
    assert (tmp_path / "reports" / "plan.html").exists()
    tail = result.stdout.strip().splitlines()[-4:]
    assert any("reports" in line and "plan.html" in line for line in tail), tail
    assert any("DYTE_V1_API_KEY" in line for line in tail) and "dyte-migrate check" in result.stdout.split("next")[-1]
    assert "a second migrate made 0 Dyte v2 writes" in result.stdout


def test_demo_names_its_target(tmp_path, temp_root):
    result = demo(tmp_path, "--target", "realtimekit")
    assert result.exit_code == EXIT_OK, result.output
    assert "verify: clean - clean: RealtimeKit holds exactly what the mappings say" in result.stdout
    assert "a second migrate made 0 RealtimeKit writes" in result.stdout


def test_demo_cleans_up_when_it_fails(tmp_path, temp_root):
    taken = tmp_path / "ledger.sqlite"
    taken.write_bytes(b"")
    result = demo(tmp_path, "--ledger", str(taken))  # a demo needs a fresh ledger: refused
    assert result.exit_code == EXIT_USAGE
    assert list(temp_root.iterdir()) == []


def test_demo_does_not_overwrite_reports_unasked(tmp_path, temp_root):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "plan.md").write_text("my own plan\n")
    result = demo(tmp_path)  # stdin is not a terminal: nobody to ask
    assert result.exit_code == EXIT_USAGE
    assert (reports / "plan.md").read_text() == "my own plan\n"
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 1 and "--force" in errors[0] and str(reports) in errors[0]
    result = demo(tmp_path, "--force")
    assert result.exit_code == EXIT_OK, result.output
    assert "my own plan" not in (reports / "plan.md").read_text()
    assert list(temp_root.iterdir()) == []
