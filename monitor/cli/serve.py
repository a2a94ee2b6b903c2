"""`pledgewatch serve`: the HTTP API and the web pages on uvicorn."""

from __future__ import annotations

import os

import click

from monitor.cli.app import App, pass_app


@click.command()
@click.option("--host", help="Address to bind (default: [api] host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="Port (default: [api] port, 8080).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Worker processes (each opens its own database connections).",
)
@pass_app
def serve(app: App, host: str | None, port: int | None, workers: int) -> None:
    """Serve the API (/api/, /docs, /openapi.json) and the web pages."""
    import uvicorn

    from monitor.api.app import create_app

    host = host or app.settings.api.host
    port = app.settings.api.port if port is None else port
    if host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"warning: serving on {host}; reads are "
            f"{'public' if app.settings.api.public_reads else 'token-only'}, "
            "writes need a token",
            err=True,
        )
    if workers > 1:
        # Workers build their own app from the environment: pass them these settings.
        os.environ["PLEDGEWATCH_DB"] = app.settings.database.url
        if app.config_file:
            os.environ["PLEDGEWATCH_CONFIG"] = app.config_file
        uvicorn.run(
            "monitor.api.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        return
    db = app.db
    click.echo(f"serving on http://{host}:{port}/ (API docs at /docs)", err=True)
    uvicorn.run(
        create_app(app.settings, db), host=host, port=port, log_level="warning", access_log=False
    )


COMMANDS = [serve]
