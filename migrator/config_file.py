"""What dyte-migrate.toml may set, as a pydantic model.

Apart from `migrator.config` so that a run with neither a config file nor a DYTE_MIGRATE_*
setting in its environment does not import pydantic before its first API call.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from migrator.errors import ConfigError


class ConfigFile(BaseModel):
    """What dyte-migrate.toml may set (every key optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    default_preset: str | None = Field(default=None, min_length=1)
    ledger: Path | None = None
    reports_dir: Path | None = None
    rate_limit: float | None = Field(default=None, ge=0)
    concurrency: int | None = Field(default=None, ge=1, le=64)
    target: Literal["dyte-v2", "realtimekit"] | None = None
    mappings: Path | None = None  # a mappings folder (a copy made by `init --with-mappings`)


def checked(table: Mapping[str, Any], where: str) -> ConfigFile:
    """The settings of `table`, or ConfigError (exit 2) naming `where`, the first bad key and why."""
    try:
        return ConfigFile.model_validate(table)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(file)"
        raise ConfigError(f"{where}: key {key!r}: {first['msg']}") from None
