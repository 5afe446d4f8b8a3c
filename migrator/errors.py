"""Errors that carry their exit code, and the scrubber that keeps secrets out of them.

Every failure a user can cause or meet ends as one of these, so the CLI can print one
line and exit with the documented code instead of a traceback.
"""

from __future__ import annotations

import re
import threading

EXIT_OK = 0
EXIT_FAILED = 1  # finished, but entities failed or verify found mismatches
EXIT_USAGE = 2  # usage, configuration, credential or mapping-file error; nothing written
EXIT_PARTIAL = 3  # stopped early with work remaining; resumable
EXIT_LOCKED = 4  # ledger locked by another run, or bound to another pair of orgs

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_TOKEN_LIKE = re.compile(
    r"(?i)(authorization|api[_-]?key|token|authtoken|signature)(\"?\s*[:=]\s*\"?)((?:basic|bearer)\s+)?([^\s\",}&]+)"
)


def register_secret(value: str | None) -> None:
    """Remember a secret so that `scrub` removes it from any text leaving the process."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def scrub(text: str) -> str:
    """Replace every registered secret, and anything shaped like a credential, with ***."""
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, "***")
    return _TOKEN_LIKE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3) or ''}***", text)


class MigratorError(Exception):
    """Base of every expected failure; `str()` is the one line the user sees."""

    exit_code = EXIT_FAILED

    def __str__(self) -> str:
        return scrub(super().__str__())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class ConfigError(MigratorError):
    """Bad usage, configuration or credentials: nothing was written."""

    exit_code = EXIT_USAGE


class CredentialError(ConfigError):
    pass


class MappingFileError(ConfigError):
    """A mapping file is invalid; names the file, the key and the problem."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file, self.key, self.problem = file, key, problem
        super().__init__(f"mapping file {file}: {key}: {problem}")


class LedgerError(ConfigError):
    """The ledger file is unreadable or corrupt."""


class LedgerConflict(MigratorError):
    """The ledger is locked by another run or belongs to another pair of orgs."""

    exit_code = EXIT_LOCKED


class LedgerWriteError(MigratorError):
    """The ledger could not be written after v2 writes started (a full disk, an I/O error).

    Not exit 2: something was written. Resumable, as every write's intent was committed
    before it was sent: once the ledger can be written again, migrate picks up from it.
    """

    exit_code = EXIT_PARTIAL


class Interrupted(MigratorError):
    """Stopped early (signal, --batch-size, --max-seconds) with work remaining."""

    exit_code = EXIT_PARTIAL


class ApiError(MigratorError):
    """The API answered with an error status; carries the API's own message."""

    def __init__(self, api: str, method: str, path: str, status: int, message: str) -> None:
        self.api, self.method, self.path, self.status, self.api_message = api, method, path, status, message
        super().__init__(f"{api} {method} {path} -> {status}: {message}")


class AuthError(ApiError, CredentialError):
    """401/403: the credentials for one side are wrong."""

    exit_code = EXIT_USAGE


class TransportError(MigratorError):
    """The host could not be reached or kept dropping the connection after all retries."""


class WriteOutcomeUnknown(TransportError):
    """A non-idempotent write may or may not have been applied: reconcile before retrying."""


class MalformedResponse(MigratorError):
    """The API answered 2xx with a body we cannot use (not JSON, wrong shape)."""
