"""`pledgewatch serve`: the HTTP API and the web pages on uvicorn."""

from __future__ import annotations

import os
import socket

import click

from monitor.cli.app import App, pass_app


def tcp_socket(host: str, port: int) -> socket.socket:
    """A listening socket the worker processes share."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # Say IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that declare
    # TCP, and without it every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


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

    from monitor.web.app import create_app

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
        from uvicorn.supervisors.multiprocess import Multiprocess

        # Workers build their own app from the environment: pass them these settings.
        os.environ["PLEDGEWATCH_DB"] = app.settings.database.url
        if app.config_file:
            os.environ["PLEDGEWATCH_CONFIG"] = app.config_file
        config = uvicorn.Config(
            "monitor.web.app:create_app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )
        try:
            sock = tcp_socket(host, port)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
        click.echo(f"serving on http://{host}:{port}/ with {workers} workers", err=True)
        Multiprocess(config, sockets=[sock]).run()
        return
    db = app.db
    click.echo(f"serving on http://{host}:{port}/ (API docs at /docs)", err=True)
    uvicorn.run(
        create_app(app.settings, db), host=host, port=port, log_level="warning", access_log=False
    )


COMMANDS = [serve]
