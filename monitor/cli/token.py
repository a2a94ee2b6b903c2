"""`pledgewatch token create|list|revoke`: bearer tokens for API writes."""

from __future__ import annotations

import click

from monitor.auth.tokens import TokenError, create_token, list_tokens, revoke_token
from monitor.cli.app import FORMATS, App, emit, pass_app


@click.group()
def token() -> None:
    """Manage API tokens (stored hashed; shown once, when created)."""


@token.command()
@click.argument("name")
@pass_app
def create(app: App, name: str) -> None:
    """Create a token named NAME and print it (the only time it is shown)."""
    try:
        with app.db.write() as session:
            secret = create_token(session=session, name=name)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(secret)
    click.echo(
        f"token {name!r} created; it is stored hashed and cannot be shown again. "
        "Send it as `Authorization: Bearer <token>`.",
        err=True,
    )


@token.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def list_(app: App, fmt: str) -> None:
    """List tokens: name, status and dates (never the token itself)."""
    with app.db.session() as session:
        rows = list_tokens(session)
    emit(
        rows,
        ["name", "status", "created_at", "last_used_at", "revoked_at"],
        fmt,
        title="API tokens",
    )


@token.command()
@click.argument("name")
@pass_app
def revoke(app: App, name: str) -> None:
    """Revoke the token named NAME; requests with it are refused from now on (403)."""
    try:
        with app.db.write() as session:
            changed = revoke_token(session=session, name=name)
    except TokenError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"token {name!r} revoked" if changed else f"token {name!r} was already revoked")


COMMANDS = [token]
