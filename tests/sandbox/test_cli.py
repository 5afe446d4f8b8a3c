"""`sandbox serve` as a user runs it: a subprocess, its stdout line, its credentials file, its signals."""

from __future__ import annotations

import json
import re
import selectors
import signal
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from migrator.sandbox.cli import sandbox

Serve = Callable[..., "tuple[subprocess.Popen[str], str]"]
LISTENING = re.compile(r"^sandbox listening on (http://127\.0\.0\.1:\d+)$")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    processes: list[subprocess.Popen[str]] = []

    def start(*args: str) -> tuple[subprocess.Popen[str], str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "migrator.sandbox", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        processes.append(process)
        selector = selectors.DefaultSelector()
        selector.register(process.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
        assert selector.select(timeout=30), "no 'listening' line within 30 s"
        line = process.stdout.readline().strip()  # type: ignore[union-attr]
        match = LISTENING.match(line)
        assert match, f"unexpected first line {line!r}"
        return process, match.group(1)

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serves_writes_credentials_and_stops_cleanly(serve: Serve, tmp_path: Path, stop: signal.Signals) -> None:
    credentials_file = tmp_path / "out" / "creds.json"
    process, url = serve("--dataset", "empty", "--credentials-out", str(credentials_file), "--random-seed", "3")
    credentials = json.loads(credentials_file.read_text())
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    assert [p.name for p in credentials_file.parent.iterdir()] == ["creds.json"]  # no temp file left behind
    assert credentials["v1"]["base_url"] == f"{url}/v1" and credentials["v2"]["base_url"] == f"{url}/v2"
    assert set(credentials["v1"]) == set(credentials["v2"]) == {"base_url", "org_id", "api_key"}
    assert credentials["v1"]["org_id"] != credentials["v2"]["org_id"]
    v2 = credentials["v2"]
    assert httpx.get(f"{v2['base_url']}/meetings", auth=(v2["org_id"], v2["api_key"])).status_code == 200
    process.send_signal(stop)
    assert process.wait(timeout=15) == 0
    assert "Traceback" not in process.stderr.read()  # type: ignore[union-attr]


def test_same_seed_gives_same_credentials_and_data(serve: Serve, tmp_path: Path) -> None:
    answers = []
    for run in ("a", "b"):
        out = tmp_path / f"{run}.json"
        process, _ = serve("--meetings", "3", "--participants", "2", "--credentials-out", str(out))
        v1 = json.loads(out.read_text())["v1"]
        listing = httpx.get(f"{v1['base_url']}/organizations/{v1['org_id']}/meetings", headers={"Authorization": v1["api_key"]})
        answers.append((v1["org_id"], v1["api_key"], listing.json()))
        process.terminate()
        process.wait(timeout=15)
    assert answers[0] == answers[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--host", "0.0.0.0"], "loopback"),
        (["--host", "192.168.1.10"], "loopback"),
        (["--faults", "flood:0.5"], "unknown fault"),
        (["--dataset", "/nonexistent/data.json"], "cannot read dataset"),
    ],
)
def test_bad_options_fail_with_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(sandbox, ["serve", *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_a_dataset_that_is_not_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"v1": {"meetings": [')
    result = CliRunner().invoke(sandbox, ["serve", "--dataset", str(bad)])
    assert result.exit_code == 2 and "not valid JSON" in result.output
    wrong_shape = tmp_path / "shape.json"
    wrong_shape.write_text('{"v1": {"meetings": [{"participants": "many"}]}}')
    result = CliRunner().invoke(sandbox, ["serve", "--dataset", str(wrong_shape)])
    assert result.exit_code == 2 and "v1.meetings[0].participants must be a list" in result.output


def test_main_cli_exposes_the_sandbox_group() -> None:
    from migrator.cli import cli

    result = CliRunner().invoke(cli, ["sandbox", "serve", "--help"])
    assert result.exit_code == 0 and "--credentials-out" in result.output and "--fault-hang-seconds" in result.output
