"""The `dyte-migrate` command line: a thin layer over `migrator.api`."""

from __future__ import annotations

import importlib

import click


class LazyGroup(click.Group):
    """Loads some subcommands on first use, so product code never imports the sandbox."""

    lazy_commands = {"sandbox": "migrator.sandbox.cli:sandbox"}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy_commands:
            module, attr = self.lazy_commands[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup)
def cli() -> None:
    """Move a Dyte organization from the v1 REST API to the v2 REST API."""


def main() -> None:
    cli()
