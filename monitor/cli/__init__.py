"""The `pledgewatch` command line: thin commands over the library.

Each command group lives in its own module and is registered here. Commands parse
options, call the library and turn library errors into clear messages (no tracebacks).
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import click

from monitor.cli.app import App, error_message, setup_logging
from monitor.config import ConfigError, load_settings

log = logging.getLogger(__name__)

# Command name -> (module, attribute). Modules load only when their command runs, so a
# quick `flags list` does not pay for importing the daemon, the API and the mailer.
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "articles": ("articles", "articles"),
    "catalogue": ("catalogue", "catalogue"),
    "companies": ("companies", "companies"),
    "config": ("config", "config"),
    "daemon": ("daemon", "daemon"),
    "db": ("db", "db"),
    "detector": ("detector", "detector"),
    "digest": ("digest", "digest"),
    "eval": ("evaluate", "evaluate"),
    "export": ("export", "export_"),
    "feeds": ("feeds", "feeds"),
    "flags": ("flags", "flags"),
    "ingest": ("ingest", "ingest"),
    "maintain": ("daemon", "maintain_"),
    "pledges": ("pledges", "pledges"),
    "poll": ("poll", "poll"),
    "rescan": ("rescan", "rescan_"),
    "search": ("search", "search"),
    "serve": ("serve", "serve"),
    "status": ("daemon", "status"),
    "token": ("token", "token"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use.

    It is also where any error a command did not turn into a message becomes one line
    and exit 1, instead of a traceback.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from monitor.query.filters import UnknownFilterValue

        try:
            return super().invoke(ctx)
        except UnknownFilterValue as exc:
            # A mistyped --pledge or --company must not look like "no flags".
            raise click.BadParameter(str(exc), param_hint=f"--{exc.field}") from exc
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:
            # `pledgewatch flags list | head`: the reader left; say nothing more to it.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except Exception as exc:
            app = ctx.obj if isinstance(ctx.obj, App) else None
            log.debug("command failed", exc_info=True)
            raise click.ClickException(error_message(exc, app)) from exc

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module_name, attr = LAZY_COMMANDS[cmd_name]
            module = importlib.import_module(f"monitor.cli.{module_name}")
            command: click.Command = getattr(module, attr)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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


def main() -> None:
    """Console entry point."""
    try:
        cli.main(prog_name="pledgewatch")
    except KeyboardInterrupt:
        logging.getLogger(__name__).warning("interrupted")
        sys.exit(130)
