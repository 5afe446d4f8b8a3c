"""dyte-migrate: move a Dyte organization from the v1 REST API to v2, exactly once and resumably.

    from migrator import Migration, Options, load_credentials

    outcome = Migration(load_credentials(), Options()).migrate(only="meetings,participants")
    print(outcome.status, outcome.exit_code, outcome.counts)

The names below are the public face; everything else is internal. They load on first
use, so `import migrator` (and the CLI's start-up) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrator.lazy import loader

__version__ = "0.1.0"

_PUBLIC = {
    "Migration": "migrator.api",
    "Options": "migrator.api",
    "Outcome": "migrator.api",
    "ProgressEvent": "migrator.api",
    "Kind": "migrator.model",
    "load_credentials": "migrator.settings",
    "MigratorError": "migrator.errors",
    "ConfigError": "migrator.errors",
    "CredentialError": "migrator.errors",
    "LedgerConflict": "migrator.errors",
    "Interrupted": "migrator.errors",
}

if TYPE_CHECKING:
    from migrator.api import Migration, Options, Outcome, ProgressEvent
    from migrator.errors import ConfigError, CredentialError, Interrupted, LedgerConflict, MigratorError
    from migrator.model import Kind
    from migrator.settings import load_credentials


__getattr__ = loader(__name__, _PUBLIC)


__all__ = [
    "ConfigError",
    "CredentialError",
    "Interrupted",
    "Kind",
    "LedgerConflict",
    "Migration",
    "MigratorError",
    "Options",
    "Outcome",
    "ProgressEvent",
    "load_credentials",
]
