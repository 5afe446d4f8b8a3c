"""Where the ledger lives, and how to copy it whole.

A ledger whose path depends on the working folder is lost by changing folder, and a lost
ledger makes the next run create everything again. So the default ledger lives in the
user's state directory (platformdirs), keyed by the (v1 org, v2 org) pair: every command
finds it from the credentials alone. `--ledger` / `DYTE_MIGRATE_LEDGER` still choose
another file. (`ledger.backup` makes the single-file copy to keep in CI.)
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import platformdirs

from migrator.errors import ConfigError, CredentialError
from migrator.settings import DEFAULT_PROFILES, Credentials, load_credentials

APP_NAME = "dyte-migrate"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def state_dir() -> Path:
    """The user's state directory for this tool (e.g. ~/.local/state/dyte-migrate on Linux)."""
    return platformdirs.user_state_path(APP_NAME)


def _folder_name(org_id: str) -> str:
    """An org id as one path segment; ids that had to change keep a hash, so two never meet."""
    safe = _UNSAFE.sub("_", org_id).strip(".") or "_"
    if safe == org_id and "--" not in org_id:
        return org_id
    return f"{safe.replace('--', '_')}-{hashlib.sha1(org_id.encode()).hexdigest()[:8]}"


def pair_dir(pair: tuple[str, str]) -> Path:
    """The state folder of one (v1 org, v2 org) pair: its default ledger and its run lock."""
    return state_dir() / f"{_folder_name(pair[0])}--{_folder_name(pair[1])}"


def _shard_suffix(shard: str | None) -> str:
    """`2/4` -> `-shard-2-of-4`: each shard of a split migration has its own default ledger and lock."""
    return "" if shard is None else "-shard-" + shard.replace("/", "-of-")


def default_ledger(pair: tuple[str, str], shard: str | None = None) -> Path:
    return pair_dir(pair) / f"ledger{_shard_suffix(shard)}.sqlite"


def pair_locks(pair: tuple[str, str], shard: str | None = None) -> list[tuple[Path, bool]]:
    """(lock file, exclusive?) to hold for a run of this pair, whichever ledger file it uses.

    An unsharded run holds the pair's lock alone; a shard shares it with the other shards
    (so neither can run beside an unsharded run) and holds its own shard's lock alone.
    """
    if shard is None:
        return [(pair_dir(pair) / "run.lock", True)]
    return [(pair_dir(pair) / "run.lock", False), (pair_dir(pair) / f"run{_shard_suffix(shard)}.lock", True)]


def ledger_path(given: Path | None, credentials: Credentials, shard: str | None = None) -> Path:
    """The ledger a command with credentials uses: the given one, else the pair's (or its shard's) default."""
    return Path(given) if given is not None else default_ledger(credentials.pair, shard)


def ledger_path_for_reading(
    given: Path | None,
    credentials_file: Path | None,
    shard: str | None = None,
    profiles: tuple[str, str] = DEFAULT_PROFILES,
) -> Path:
    """The ledger of a command that needs no network (status, export-ids, ledger backup).

    Credentials of the (source, target) `profiles` are read only to find the default ledger
    (a RealtimeKit target's is named after its app, not the Dyte v2 org); without them, one
    line says what to pass instead.
    """
    if given is not None:
        return Path(given)
    try:
        credentials = load_credentials(credentials_file, source=profiles[0], target=profiles[1])
    except CredentialError as exc:
        raise ConfigError(
            f"which ledger? pass --ledger PATH (or set DYTE_MIGRATE_LEDGER), or the credentials "
            f"whose org pair names the default ledger ({exc})"
        ) from None
    return default_ledger(credentials.pair, shard)
