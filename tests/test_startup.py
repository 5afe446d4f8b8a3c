"""Start-up (issue 15): what a migration imports before its first API call, and what it loads meanwhile.

The guard runs the real command line in a fresh interpreter, with the session's first step (the
preflight calls, with the mappings loading beside them) replaced by a probe that lists the heavy
modules already imported and exits: a behavioural check of the import graph, not a timing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from migrator.api import Migration, Options, default_mappings_dir
from migrator.errors import EXIT_USAGE, ConfigError, MappingFileError
from migrator.settings import load_credentials

# Loaded by later stages (mappings, ledger, reports, tables), never needed for the first call.
HEAVY = (
    "deepdiff",
    "jinja2",
    "jsonschema",
    "pydantic",
    "pygments",
    "rich",
    "sqlite_utils",
    "yaml",
    "migrator.ledger",
    "migrator.load",
    "migrator.mapping.mapping_set",
    "migrator.plan",
    "migrator.reports",
)

PROBE = """
import json, os, sys
from migrator import launch
launch.without_httpx_cli()
from migrator import api

async def first_call(self, client):
    print(json.dumps(sorted(name for name in {heavy!r} if name in sys.modules)), flush=True)
    os._exit(0)

api.Migration._preflight_and_mappings = first_call
sys.argv = ["dyte-migrate", *{argv!r}]
launch.main()
"""


def _credentials(tmp_path: Path, base_url: str) -> Path:
    path = tmp_path / "creds.json"
    path.write_text(
        json.dumps({side: {"base_url": f"{base_url}/{side}", "org_id": f"org-{side}", "api_key": "k"} for side in ("v1", "v2")})
    )
    return path


@pytest.mark.parametrize("command", ["migrate", "plan"])
def test_a_command_reaches_its_first_call_without_the_heavy_modules(tmp_path: Path, command: str) -> None:
    argv = ["--credentials", str(_credentials(tmp_path, "http://127.0.0.1:9")), "--ledger", str(tmp_path / "l.sqlite")]
    argv += ["--reports-dir", str(tmp_path / "r"), "--no-progress", "--json", command]
    run = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, argv=argv)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == [], "imported before the first API call"
    assert not (tmp_path / "l.sqlite").exists()


def _broken_mappings(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    folder.mkdir()
    for path in default_mappings_dir().glob("*.yaml"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "meetings.yaml").write_text("kind: [meeting\n")
    return folder


def test_a_broken_mappings_folder_is_the_error_even_when_the_hosts_are_unreachable(tmp_path: Path) -> None:
    """The mappings load while the preflight calls run; when both fail, the mapping file is named
    (as when it was read before any call), and no ledger is created."""
    credentials = load_credentials(_credentials(tmp_path, "http://127.0.0.1:9"), env={})
    options = Options(ledger=tmp_path / "l.sqlite", reports_dir=tmp_path / "r", mappings_dir=_broken_mappings(tmp_path))
    options.timeout = 2
    with pytest.raises(MappingFileError) as caught:
        Migration(credentials, options).migrate()
    assert "meetings.yaml" in str(caught.value) and caught.value.exit_code == EXIT_USAGE
    assert not (tmp_path / "l.sqlite").exists()


def test_good_mappings_and_an_unreachable_host_name_the_host(tmp_path: Path) -> None:
    credentials = load_credentials(_credentials(tmp_path, "http://127.0.0.1:9"), env={})
    options = Options(ledger=tmp_path / "l.sqlite", reports_dir=tmp_path / "r", timeout=2)
    with pytest.raises(ConfigError, match=r"cannot reach the Dyte v1 API at http://127\.0\.0\.1:9/v1"):
        Migration(credentials, options).migrate()
    assert not (tmp_path / "l.sqlite").exists()


def test_an_unreachable_source_is_named_at_once_while_the_target_has_not_answered(tmp_path: Path) -> None:
    """The two probes go side by side; the source's refusal (after its retries, ~12 s) ends the preflight without waiting out
    a target that never answers (its probe is cancelled)."""
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        path = tmp_path / "creds.json"
        path.write_text(
            json.dumps(
                {
                    "v1": {"base_url": "http://127.0.0.1:9/v1", "org_id": "org-v1", "api_key": "k"},
                    "v2": {"base_url": f"http://127.0.0.1:{port}/v2", "org_id": "org-v2", "api_key": "k"},
                }
            )
        )
        options = Options(ledger=tmp_path / "l.sqlite", reports_dir=tmp_path / "r", timeout=60)
        started = time.monotonic()
        with pytest.raises(ConfigError, match=r"cannot reach the Dyte v1 API at http://127\.0\.0\.1:9/v1"):
            Migration(load_credentials(path, env={}), options).migrate()
        assert time.monotonic() - started < 40, "the preflight waited out the target's 60 s timeout"
    assert not (tmp_path / "l.sqlite").exists()
