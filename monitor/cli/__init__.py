"""The `pledgewatch` command line: thin commands over the library.

Each command group lives in its own module and is registered here. Commands parse
options, call the library and turn library errors into clear messages (no tracebacks).
"""

from __future__ import annotations

import logging
import sys

import click

from monitor.cli.app import App, setup_logging
from monitor.config import ConfigError, load_settings


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--db",
    "db_url",
    envvar="PLEDGEWATCH_DB",
    metavar="URL",
    help="Database URL or SQLite path (default: pledgewatch.db here).",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="TOML config file (default: pledgewatch.toml here, if present).",
)
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log verbosity.",
)
@click.option(
    "--log-format",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json"]),
    help="Log line format.",
)
@click.version_option(package_name="pledgewatch")
@click.pass_context
def cli(
    ctx: click.Context, db_url: str | None, config_file: str | None, log_level: str, log_format: str
) -> None:
    """Track corporate pledges, read the news and flag possible breaches."""
    setup_logging(log_level, log_format)
    try:
        settings = load_settings(config_file, database_url=db_url)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.obj = App(settings=settings, config_file=config_file)
    ctx.call_on_close(ctx.obj.close)


def _register() -> None:
    from monitor.cli import (
        catalogue,
        companies,
        config,
        daemon,
        db,
        digest,
        evaluate,
        export,
        feeds,
        flags,
        ingest,
        pledges,
        poll,
        rescan,
        search,
        serve,
        token,
    )

    for module in (
        catalogue,
        config,
        daemon,
        db,
        digest,
        evaluate,
        flags,
        ingest,
        pledges,
        companies,
        export,
        feeds,
        poll,
        rescan,
        search,
        serve,
        token,
    ):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main() -> None:
    """Console entry point."""
    try:
        cli.main(prog_name="pledgewatch")
    except KeyboardInterrupt:
        logging.getLogger(__name__).warning("interrupted")
        sys.exit(130)
