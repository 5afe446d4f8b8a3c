"""The `dyte-migrate` executable: signal handling first, then the (slow to import) CLI."""

from __future__ import annotations

from migrator import interrupts


def main() -> None:
    interrupts.install_startup_handlers()
    from migrator.cli import cli  # imports httpx, pydantic, rich...: seconds on a busy machine

    try:
        cli()
    finally:
        interrupts.settle()  # the interpreter is shutting down: a late signal must not print a traceback
