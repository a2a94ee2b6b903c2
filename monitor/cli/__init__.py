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

# Command name -> (module, attribute, summary). Modules load only when their command
# runs, so a quick `flags list` does not pay for importing the daemon, the API and the
# mailer; the summaries (each command's first docstring sentence, kept equal by a test)
# let `pledgewatch --help` list them without importing any.
LAZY_COMMANDS: dict[str, tuple[str, str, str]] = {
    "articles": ("articles", "articles", "Open stored articles (the ids that `search` prints)."),
    "catalogue": (
        "catalogue",
        "catalogue",
        "Validate, load and describe pledge catalogues (folders of YAML files).",
    ),
    "companies": (
        "companies",
        "companies",
        "Query companies: their names, products, pledges and incidents.",
    ),
    "config": (
        "config",
        "config",
        "Check the configuration (TOML file plus PLEDGEWATCH_* environment variables).",
    ),
    "daemon": (
        "daemon",
        "daemon",
        "Run the scheduler: poll due feeds, send due digests, maintain the database.",
    ),
    "db": ("db", "db", "Database maintenance."),
    "detector": (
        "detector",
        "detector",
        "The model that scores candidate flags: show it, refit it.",
    ),
    "digest": (
        "digest",
        "digest",
        "The weekly digest: preview it, send what is due, inspect the outbox.",
    ),
    "eval": (
        "evaluate",
        "evaluate",
        "Sync each corpus's catalogue into a temporary database, ingest its feeds, score flags.",
    ),
    "export": (
        "export",
        "export_",
        "Export every pledge, flag or article as CSV or JSON, streamed in batches.",
    ),
    "feeds": (
        "feeds",
        "feeds",
        "Subscribe to feeds, import and export OPML, and see each feed's health.",
    ),
    "flags": (
        "flags",
        "flags",
        "List, inspect and review flags (possible breaches and rollbacks).",
    ),
    "ingest": (
        "ingest",
        "ingest",
        "Parse feed files (or the feed files under a directory: *.xml, *.rss, *.atom, "
        "*.rdf, *.feed, gzipped or not, and any *.gz; or feed URLs) once, store new "
        "articles, flag them and print a summary.",
    ),
    "maintain": (
        "daemon",
        "maintain_",
        "Run maintenance once: prune old unflagged article text, optimise the database.",
    ),
    "pledges": ("pledges", "pledges", "Query the pledges in the database."),
    "poll": (
        "poll",
        "poll",
        "Fetch every due feed once (or the feeds named), store new articles and flag them.",
    ),
    "rescan": (
        "rescan",
        "rescan_",
        "Re-run detection over stored articles after a catalogue or detector change.",
    ),
    "search": (
        "search",
        "search",
        "Search stored articles (title and text) for WORDS, best match first.",
    ),
    "serve": ("serve", "serve", "Serve the API (/api/, /docs, /openapi.json) and the web pages."),
    "status": (
        "daemon",
        "status",
        "Daemons, jobs, failing feeds, flags to review, digests; exit 3 if no daemon is alive.",
    ),
    "token": ("token", "token", "Manage API tokens (stored hashed; shown once, when created)."),
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's command list, with each command not loaded yet standing in by its
        summary (shortened as click shortens help): `--help` imports no command module."""
        commands = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
            else:
                command = click.Command(name, help=LAZY_COMMANDS[name][2])
            if not command.hidden:
                commands.append((name, command))
        if commands:
            limit = formatter.width - 6 - max(len(name) for name, _ in commands)
            with formatter.section("Commands"):
                formatter.write_dl([(n, c.get_short_help_str(limit)) for n, c in commands])

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS and cmd_name not in self.commands:
            module_name, attr, _ = LAZY_COMMANDS[cmd_name]
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
