"""`pledgewatch db upgrade`."""

from __future__ import annotations

import click

from monitor.cli.app import App, pass_app


@click.group()
def db() -> None:
    """Database maintenance."""


@db.command()
@pass_app
def upgrade(app: App) -> None:
    """Apply schema migrations (also done automatically on start)."""
    database = app.db
    click.echo(f"database {database.safe_url} is up to date")


COMMANDS = [db]
