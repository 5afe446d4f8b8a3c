"""`dyte-migrate sandbox serve`: the local Dyte server on loopback."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from migrator.sandbox.faults import FaultPlan, FaultSpecError
from migrator.sandbox.loader import DatasetError
from migrator.sandbox.options import DEFAULT_SEED, ServeOptions, is_loopback


class ServeError(click.ClickException):
    """A one-line `Error: ...` and exit code 2 (usage or configuration), as for every dyte-migrate command."""

    exit_code = 2


@click.group()
def sandbox() -> None:
    """A local Dyte server (v1 + v2) for trying and testing migrations."""


@sandbox.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback address to listen on.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port.")
@click.option("--dataset", default="sample", show_default=True, help="sample, empty, or a dataset JSON file (docs/sandbox.md).")
@click.option("--meetings", default=20, show_default=True, type=click.IntRange(0), help="Sample: number of v1 meetings.")
@click.option("--participants", default=5, show_default=True, type=click.IntRange(0), help="Sample: participants per meeting.")
@click.option(
    "--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0), help="Added to every API and document answer."
)
@click.option(
    "--rate-limit",
    default=2000.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Requests per minute per client IP; 0 turns it off.",
)
@click.option("--faults", default="", help="e.g. 503:0.05,reset:0.02,timeout:0.01,commit-then-drop:0.01,429:0.01,500:0.01")
@click.option(
    "--fault-hang-seconds", default=5.0, show_default=True, type=click.FloatRange(0), help="How long a `timeout` fault hangs."
)
@click.option("--random-seed", default=DEFAULT_SEED, show_default=True, type=int, help="Seeds data, ids and faults.")
@click.option(
    "--credentials-out", type=click.Path(dir_okay=False, path_type=Path), help="Write both sides' credentials here (JSON)."
)
def serve(
    host: str,
    port: int,
    dataset: str,
    meetings: int,
    participants: int,
    latency_ms: float,
    rate_limit: float,
    faults: str,
    fault_hang_seconds: float,
    random_seed: int,
    credentials_out: Path | None,
) -> None:
    """Serve /v1 and /v2 on one loopback port until SIGINT or SIGTERM."""
    # Imported here so that `--help` and option errors never load uvicorn.
    from migrator.sandbox.server import SandboxServer

    if not is_loopback(host):
        raise ServeError(f"--host must be a loopback address (e.g. 127.0.0.1), not {host!r}")
    try:
        FaultPlan.parse(faults)
    except FaultSpecError as exc:
        raise ServeError(f"--faults: {exc}") from None
    options = ServeOptions(
        host=host,
        port=port,
        dataset=dataset,
        meetings=meetings,
        participants=participants,
        latency_ms=latency_ms,
        rate_limit=rate_limit,
        faults=faults,
        fault_hang_seconds=fault_hang_seconds,
        random_seed=random_seed,
        credentials_out=credentials_out,
    )
    try:
        server = SandboxServer(options)
        server.bind()
    except DatasetError as exc:
        raise ServeError(str(exc)) from None
    except OSError as exc:
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    def announce() -> None:
        click.echo(f"sandbox listening on {server.base_url}")
        sys.stdout.flush()

    server.serve_forever(announce)
