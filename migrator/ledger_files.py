"""Where the ledger lives, and how to copy it whole.

A ledger whose path depends on the working folder is lost by changing folder, and a lost
ledger makes the next run create everything again. So the default ledger lives in the
user's state directory (platformdirs), keyed by the (v1 org, v2 org) pair: every command
finds it from the credentials alone. `--ledger` / `DYTE_MIGRATE_LEDGER` still choose
another file. `backup` makes a single-file copy with SQLite's backup API, which reads
through the write-ahead log: copying `ledger.sqlite` alone after a crash can miss the
latest state, still in `ledger.sqlite-wal`.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import tempfile
from contextlib import closing
from pathlib import Path

import platformdirs

from migrator.errors import ConfigError, CredentialError, LedgerError
from migrator.settings import Credentials, load_credentials

APP_NAME = "dyte-migrate"
LEDGER_FILE = "ledger.sqlite"
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


def default_ledger(pair: tuple[str, str]) -> Path:
    return pair_dir(pair) / LEDGER_FILE


def pair_lock(pair: tuple[str, str]) -> Path:
    """One run per org pair at a time, whichever ledger file it uses."""
    return pair_dir(pair) / "run.lock"


def ledger_path(given: Path | None, credentials: Credentials) -> Path:
    """The ledger a command with credentials uses: the given one, else the pair's default."""
    return Path(given) if given is not None else default_ledger(credentials.pair)


def ledger_path_for_reading(given: Path | None, credentials_file: Path | None) -> Path:
    """The ledger of a command that needs no network (status, export-ids).

    Credentials are read only to find the default ledger; without them, one line says
    what to pass instead.
    """
    if given is not None:
        return Path(given)
    try:
        credentials = load_credentials(credentials_file)
    except CredentialError as exc:
        raise ConfigError(f"which ledger? pass --ledger PATH (or set DYTE_MIGRATE_LEDGER), or the credentials "
                          f"whose org pair names the default ledger ({exc})") from None
    return default_ledger(credentials.pair)


def backup(source: Path, target: Path) -> int:
    """Copy a ledger, write-ahead log included, into one self-contained file; returns its size.

    The copy is written beside the target and renamed into place, so a target that
    existed is either the old file or the whole new one, never half of each.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise LedgerError(f"no ledger at {source}")
    if target.exists() and os.path.samefile(source, target):
        raise ConfigError(f"the backup {target} is the ledger itself")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the backup {target}: {exc.strerror}") from None
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(partial)) as dst:
            src.execute("SELECT count(*) FROM meta").fetchone()  # a dyte-migrate ledger, not any file
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal beside the copy
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"ledger {source} cannot be copied ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"cannot write the backup {target}: {exc.strerror}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target.stat().st_size
