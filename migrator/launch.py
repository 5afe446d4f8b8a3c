"""The `dyte-migrate` executable: signal handling first, then the (slow to import) CLI.

Until a command starts its work, SIGINT or SIGTERM ends the process at once with one line and
128 + the signal number (130, 143): nothing was done. This module imports only what the
interpreter has loaded anyway, so the handlers are in place within a millisecond or two of
start-up; the CLI's imports that follow take up to seconds on a busy machine.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import NoReturn

_NAMES: dict[int, str] = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


def before_work(signum: int, _frame: object) -> None:
    """One line on stderr (and the JSON object on stdout under --json), then exit 128 + signum."""
    message = f"stopped by {_NAMES.get(signum, signum)} before any work started; nothing was done"
    os.write(2, f"error: {message}\n".encode())
    if "--json" in sys.argv[1:]:  # the text is plain ASCII: no need to load the json module here
        os.write(
            1,
            (
                f'{{"command": null, "status": "failed", "exit_code": {128 + signum}, "error": "{message}", '
                '"counts": {}, "requests": {}, "reports": []}\n'
            ).encode(),
        )
    os._exit(128 + signum)


def without_httpx_cli() -> None:
    """Keep httpx from importing its own command line (`httpx._main`: rich, pygments), which it
    does on import whenever those are installed, as ours are: a tenth of a second of every start.
    This process never runs httpx's command line; its `httpx.main` stays a stub that says so."""
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]  # None: importing it fails


def main() -> None:
    for sig in _NAMES:
        signal.signal(sig, before_work)
    without_httpx_cli()
    from migrator import interrupts
    from migrator.cli import cli  # httpx, pydantic, rich...

    try:
        cli()  # click's standalone mode ends with SystemExit, the command's exit code
    except SystemExit as done:
        code = _exit_code(done.code)
    else:  # pragma: no cover - click always exits
        code = 0
    finally:
        interrupts.settle()  # the interpreter is shutting down: a late signal must not print a traceback
    exit_at_once(code)


def _exit_code(code: object) -> int:
    """What the interpreter would exit with for `SystemExit(code)`: a message goes to stderr, 1."""
    if code is None or isinstance(code, int):
        return code or 0
    print(code, file=sys.stderr)
    return 1


def exit_at_once(code: int) -> NoReturn:
    """End the process without tearing the interpreter down. The command is over and its ledger
    closed; what is left is to flush the output. Freeing every object and module one by one
    (the mappings, the v2 spec, the report stack) took 0.3-0.4 s after the last line of every
    command, which a CI job and `--json` callers wait out for nothing."""
    import logging

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader is gone, or the stream was closed
            pass
    os._exit(code)
