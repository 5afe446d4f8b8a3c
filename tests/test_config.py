"""Settings precedence (flag > env > config file > built-in default), option by option, as `check` shows it.

`check` prints the settings before any network use, so these runs need no sandbox: they stop
at the missing credentials (exit 2) after showing every value and where it came from.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator import api
from migrator.cli import Context, cli
from migrator.config import SETTINGS
from migrator.errors import EXIT_USAGE

# option -> (flag args, env value, config line, shown value for flag, env, config, default)
CASES = {
    "default_preset": (
        ["--default-preset", "flagged"],
        "from_env",
        'default_preset = "from_file"',
        ("flagged", "from_env", "from_file", "None"),
    ),
    "ledger": (
        ["--ledger", "flag.sqlite"],
        "env.sqlite",
        'ledger = "file.sqlite"',
        ("flag.sqlite", "env.sqlite", "file.sqlite", "the org pair's ledger in the user state directory"),
    ),
    "reports_dir": (
        ["--reports-dir", "flag-reports"],
        "env-reports",
        'reports_dir = "file-reports"',
        ("flag-reports", "env-reports", "file-reports", "reports"),
    ),
    "rate_limit": (["--rate-limit", "11"], "22", "rate_limit = 33", ("11.0", "22.0", "33.0", "2000.0")),
    "concurrency": (None, "5", "concurrency = 6", (None, "5", "6", "8")),
    "target": (
        ["--target", "realtimekit"],
        "realtimekit",
        'target = "realtimekit"',
        ("realtimekit", "realtimekit", "realtimekit", "dyte-v2"),
    ),
    "mappings": (["--mappings", "flag-maps"], "env-maps", 'mappings = "file-maps"', ("flag-maps", "env-maps", "file-maps", None)),
}
LEVELS = ("flag", "env", "config", "default")


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A working folder with no credentials and no DYTE_MIGRATE_* in the environment."""
    for name in [n for n in os.environ if n.startswith(("DYTE_", "CLOUDFLARE_", "REALTIMEKIT_"))]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def shown(output: str, name: str) -> str:
    line = next(line for line in output.splitlines() if line.startswith(f"setting {name} = "))
    return line.removeprefix(f"setting {name} = ")


def test_every_setting_is_covered():
    assert set(CASES) == {s.name for s in SETTINGS}


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_precedence(folder: Path, monkeypatch, name: str, level: str):
    flag, env_value, config_line, expected = CASES[name]
    if level == "flag" and flag is None:
        pytest.skip("a migrate option: see test_migrate_concurrency_flag_beats_env")
    env_name = next(s.env for s in SETTINGS if s.name == name)
    rank = LEVELS.index(level)
    if rank <= 2:  # every level below the one tested is set too, so the test shows it wins
        (folder / "dyte-migrate.toml").write_text(config_line + "\n")
    if rank <= 1:
        monkeypatch.setenv(env_name, env_value)
    args = (flag or []) if rank == 0 else []
    result = CliRunner().invoke(cli, [*args, "check"])
    assert result.exit_code == EXIT_USAGE  # no credentials: stops after showing the settings
    value = shown(result.output, name)
    source = {
        "flag": f"({flag[0] if flag else ''})",
        "env": f"(env {env_name})",
        "config": "(config file dyte-migrate.toml)",
        "default": "(built-in default)",
    }[level]
    if name == "default_preset" and level == "default":
        source = "(presets.yaml resolution.org_default_preset)"
    assert value.endswith(source), value
    if expected[rank] is not None:
        assert value.startswith(expected[rank] + " ("), value


def test_migrate_concurrency_flag_beats_env_and_file(folder: Path, monkeypatch):
    """--concurrency belongs to migrate: the options migrate runs with show who set it."""
    seen: list[api.Options] = []

    def fake_migrate(self: api.Migration, **_: object) -> api.Outcome:
        seen.append(self.options)
        return api.Outcome("migrate", "complete")

    def fake_migration(self: Context) -> api.Migration:
        migration = api.Migration.__new__(api.Migration)  # no credentials needed to see the options
        migration.options = self.options
        return migration

    monkeypatch.setattr(api.Migration, "migrate", fake_migrate)
    monkeypatch.setattr(Context, "migration", fake_migration)
    (folder / "dyte-migrate.toml").write_text("concurrency = 6\n")
    monkeypatch.setenv("DYTE_MIGRATE_CONCURRENCY", "5")
    assert CliRunner().invoke(cli, ["migrate", "--concurrency", "3"]).exit_code == 0
    assert CliRunner().invoke(cli, ["migrate"]).exit_code == 0
    assert [(o.concurrency, o.sources["concurrency"]) for o in seen] == [
        (3, "--concurrency"),
        (5, "env DYTE_MIGRATE_CONCURRENCY"),
    ]


def test_config_file_path_from_flag_and_env(folder: Path, monkeypatch):
    (folder / "a.toml").write_text('default_preset = "from_a"\n')
    (folder / "b.toml").write_text('default_preset = "from_b"\n')
    result = CliRunner().invoke(cli, ["--config", "a.toml", "check"])
    assert shown(result.output, "default_preset") == "from_a (config file a.toml)"
    monkeypatch.setenv("DYTE_MIGRATE_CONFIG", "b.toml")
    result = CliRunner().invoke(cli, ["check"])
    assert shown(result.output, "default_preset") == "from_b (config file b.toml)"
    result = CliRunner().invoke(cli, ["--config", "a.toml", "check"])
    assert shown(result.output, "default_preset") == "from_a (config file a.toml)"


@pytest.mark.parametrize(
    "content",
    [
        '[v1]\napi_key = "sekrit-value-1"\n',
        'api_key = "sekrit-value-1"\n',
        'dyte_v2_token = "sekrit-value-1"\n',
    ],
)
def test_a_credential_in_the_config_file_is_exit_2_in_one_line(folder: Path, content: str):
    (folder / "dyte-migrate.toml").write_text(content)
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == EXIT_USAGE
    assert result.output.count("\n") == 1 and "holds a credential" in result.output
    assert "sekrit-value-1" not in result.output


@pytest.mark.parametrize(
    "content, words",
    [
        ("concurrency = 0\n", "concurrency"),
        ("target = 'dyte-v3'\n", "target"),
        ("ledgr = 'x'\n", "ledgr"),
        ("rate_limit = \n", "not valid TOML"),
    ],
)
def test_a_bad_config_file_is_exit_2_in_one_line(folder: Path, content: str, words: str):
    (folder / "dyte-migrate.toml").write_text(content)
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == EXIT_USAGE
    assert result.output.count("\n") == 1 and words in result.output, result.output


def test_a_named_config_file_must_exist(folder: Path):
    result = CliRunner().invoke(cli, ["--config", "missing.toml", "plan"])
    assert result.exit_code == EXIT_USAGE and "does not exist" in result.output


def test_a_bad_environment_value_is_exit_2(folder: Path, monkeypatch):
    monkeypatch.setenv("DYTE_MIGRATE_RATE_LIMIT", "fast")
    result = CliRunner().invoke(cli, ["plan"])
    assert result.exit_code == EXIT_USAGE and "DYTE_MIGRATE_RATE_LIMIT" in result.output


def test_init_never_overwrites_without_force(folder: Path):
    assert CliRunner().invoke(cli, ["init"]).exit_code == 0
    (folder / "dyte-migrate.toml").write_text("# mine\n")
    result = CliRunner().invoke(cli, ["init"])
    assert result.exit_code == EXIT_USAGE and "--force" in result.output
    assert (folder / "dyte-migrate.toml").read_text() == "# mine\n"
    assert CliRunner().invoke(cli, ["init", "--with-mappings", "maps", "--force"]).exit_code == 0
    (folder / "maps" / "presets.yaml").write_text("edited")
    result = CliRunner().invoke(cli, ["init", "--with-mappings", "maps"])
    assert result.exit_code == EXIT_USAGE
    assert (folder / "maps" / "presets.yaml").read_text() == "edited"
