"""The settings of a run, and where each came from: flag > environment > config file > built-in default.

The config file (`dyte-migrate.toml` in the working folder, or `--config FILE`, or the
environment variable DYTE_MIGRATE_CONFIG) is read with tomllib and validated with
pydantic, so a typo is one line and exit 2 before anything is read or written. It never
holds credentials: those come from the environment or `--credentials FILE` only, and a
credential-like key in the file is refused (its value is never shown).

Mapping overrides: the file can name a mappings folder (`mappings`) and the org default
preset (`default_preset`); overriding individual mapping rules from the file is not
supported (copy the mapping files with `dyte-migrate init --with-mappings DIR` and edit them).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from migrator.errors import ConfigError
from migrator.mapping.folder import default_directory
from migrator.settings import DEFAULT_TARGET

if TYPE_CHECKING:
    from migrator.config_file import ConfigFile

CONFIG_FILE = Path("dyte-migrate.toml")
CONFIG_ENV = "DYTE_MIGRATE_CONFIG"
# Keys that name or hold a secret or an account identity: they belong in the environment or --credentials.
_CREDENTIAL_KEY = re.compile(
    r"(api_?key|token|secret|password|credential|org_id|account_id|^v1$|^v2$|^realtimekit$)", re.IGNORECASE
)


@dataclass(frozen=True)
class Setting:
    name: str  # the config key, and the Options field it feeds (see cli)
    flag: str
    env: str
    default: Any
    is_path: bool = False


SETTINGS = (
    Setting("default_preset", "--default-preset", "DYTE_MIGRATE_DEFAULT_PRESET", None),
    Setting("ledger", "--ledger", "DYTE_MIGRATE_LEDGER", None, is_path=True),  # None: the org pair's default ledger
    Setting("reports_dir", "--reports-dir", "DYTE_MIGRATE_REPORTS_DIR", Path("reports"), is_path=True),
    Setting("rate_limit", "--rate-limit", "DYTE_MIGRATE_RATE_LIMIT", 2000.0),
    Setting("concurrency", "--concurrency", "DYTE_MIGRATE_CONCURRENCY", 8),
    Setting("target", "--target", "DYTE_MIGRATE_TARGET", DEFAULT_TARGET),
    Setting("mappings", "--mappings", "DYTE_MIGRATE_MAPPINGS", None, is_path=True),
)
DEFAULT_SOURCE = "built-in default"


@dataclass(frozen=True)
class Resolved:
    values: dict[str, Any]
    sources: dict[str, str]
    file: Path | None  # the config file read, if any


def _credential_keys(table: Mapping[str, Any], prefix: str = "") -> list[str]:
    found = []
    for key, value in table.items():
        if _CREDENTIAL_KEY.search(key):
            found.append(prefix + key)
        elif isinstance(value, dict):
            found += _credential_keys(value, f"{prefix}{key}.")
    return found


def read_config(path: Path) -> ConfigFile:
    """Parse and validate one config file; ConfigError (exit 2, one line) otherwise."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist (create one with `dyte-migrate init`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {type(exc).__name__}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    secrets = _credential_keys(table)
    if secrets:
        raise ConfigError(
            f"config file {path} holds a credential ({', '.join(secrets)}): credentials never go in the "
            "config file; use the environment (DYTE_V1_*, DYTE_V2_*) or --credentials FILE"
        )
    from migrator.config_file import checked

    config = checked(table, f"config file {path}")
    base = path.parent  # relative paths in the file are relative to the file, wherever the command runs
    return config.model_copy(
        update={
            s.name: base / getattr(config, s.name)
            for s in SETTINGS
            if s.is_path and getattr(config, s.name) is not None and not getattr(config, s.name).is_absolute()
        }
    )


def find_config(given: Path | None, env: Mapping[str, str]) -> tuple[Path | None, bool]:
    """The config file to read and whether it was asked for (then it must exist)."""
    if given is not None:
        return given, True
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]), True
    return (CONFIG_FILE, False) if CONFIG_FILE.is_file() else (None, False)


def resolve(flags: Mapping[str, Any], env: Mapping[str, str], config_path: Path | None) -> Resolved:
    """Each setting from the first that sets it: a flag given on the command line (`flags`), the
    environment, the config file, the built-in default."""
    config = read_config(config_path) if config_path is not None else None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        raw_env = env.get(setting.env, "")
        if setting.name in flags:
            values[setting.name], sources[setting.name] = flags[setting.name], setting.flag
        elif raw_env.strip():
            from migrator.config_file import checked

            parsed = checked({setting.name: raw_env.strip()}, f"environment variable {setting.env}")
            values[setting.name], sources[setting.name] = getattr(parsed, setting.name), f"env {setting.env}"
        elif config is not None and getattr(config, setting.name) is not None:
            values[setting.name], sources[setting.name] = getattr(config, setting.name), f"config file {config_path}"
        else:
            values[setting.name], sources[setting.name] = setting.default, DEFAULT_SOURCE
    if values["mappings"] is None:
        values["mappings"] = default_directory()
    if sources["default_preset"] == DEFAULT_SOURCE:
        sources["default_preset"] = "presets.yaml resolution.org_default_preset"
    return Resolved(values, sources, config_path)


# ------------------------------------------------------------------ init
TEMPLATE = """\
# dyte-migrate settings for this folder (read by every dyte-migrate command run here).
# Precedence: a command-line flag > an environment variable > this file > the built-in default;
# `dyte-migrate check` shows where each value came from.
#
# Credentials never go here: set DYTE_V1_ORG_ID, DYTE_V1_API_KEY, DYTE_V2_ORG_ID, DYTE_V2_API_KEY
# (or CLOUDFLARE_* for RealtimeKit) in the environment, or pass --credentials FILE.
# A credential-like key in this file stops every command (exit 2).

# The v1 preset that participants get when neither they nor their meeting name one.
# `dyte-migrate check` lists your org's v1 presets and counts the participants that need it.
# (flag --default-preset, env DYTE_MIGRATE_DEFAULT_PRESET; default: presets.yaml's
# resolution.org_default_preset, "group_call")
{default_preset}

# The SQLite ledger: what was read, planned and written (keep it until you are done).
# (flag --ledger, env DYTE_MIGRATE_LEDGER)
# ledger = ".dyte-migrate/ledger.sqlite"

# Where plan, migrate and verify reports are written. (flag --reports-dir, env DYTE_MIGRATE_REPORTS_DIR)
# reports_dir = "reports"

# Requests per minute, shared by v1 and v2 (0: no pacing). (flag --rate-limit, env DYTE_MIGRATE_RATE_LIMIT)
# rate_limit = 2000

# Requests in flight at once during migrate, 1 to 64. (flag migrate --concurrency, env DYTE_MIGRATE_CONCURRENCY)
# concurrency = 8

# Where to migrate: "dyte-v2" or "realtimekit". (flag --target, env DYTE_MIGRATE_TARGET)
# target = "dyte-v2"

# A folder of mapping files to use instead of the packaged ones; relative to this file.
# `dyte-migrate init --with-mappings DIR` copies the packaged ones there for you to edit.
# Individual rules cannot be overridden here: edit the copied files.
# (flag --mappings, env DYTE_MIGRATE_MAPPINGS)
{mappings}
"""


def render_template(mappings: Path | None, base: Path) -> str:
    """The commented config file `init` writes; `mappings` is set when init copied the mapping files."""
    if mappings is not None:
        shown = mappings.resolve()
        try:
            shown = shown.relative_to(base.resolve())
        except ValueError:
            pass
        mapping_line = f"mappings = {_toml_string(str(shown))}"
    else:
        mapping_line = '# mappings = "mappings"'
    return TEMPLATE.format(default_preset='# default_preset = "group_call"', mappings=mapping_line)


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def copy_mappings(destination: Path, force: bool) -> list[Path]:
    """Copy the packaged mapping files (with target overlays) to `destination`, never over a file without `force`."""
    source = default_directory()
    files = sorted(p for p in source.rglob("*.y*ml") if p.is_file())
    targets = [destination / p.relative_to(source) for p in files]
    existing = [t for t in targets if t.exists()]
    if existing and not force:
        raise ConfigError(f"{existing[0]} already exists; pass --force to overwrite the mapping files in {destination}")
    for src, dst in zip(files, targets, strict=True):
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
    return targets
