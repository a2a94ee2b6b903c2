"""Shared state for CLI commands: settings, the database, output helpers."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import SQLAlchemyError

from feeds.redact import RedactSecrets, redact_url
from monitor.cli.tables import Col, print_table
from monitor.config import Settings
from monitor.query.export import csv_safe
from monitor.store.db import (
    NEXT_STEP,
    Database,
    DatabaseError,
    error_line,
    open_database,
    open_existing_database,
)

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = click.Choice(["table", "json", "csv"])
# `--format text|json` for commands that show one thing (a flag, a pledge, status).
text_or_json = click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output format.",
)
# `--jobs N` for commands that refit a model fold by fold (`eval --cv`, `detector fit`).
jobs_option = click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Processes that run the cross-validation folds, at most one per core (default: "
    "one per core, up to 8); the figures and the model are the same whatever N.",
)


@dataclass
class App:
    """What every command needs, built once per invocation."""

    settings: Settings
    config_file: str | None = None
    _db: Database | None = field(default=None, repr=False)

    @property
    def db(self) -> Database:
        """The database, opened and upgraded on first use."""
        if self._db is None:
            try:
                self._db = open_database(self.settings.database.url)
            except DatabaseError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._db

    def reader(self, *, catalogue: bool = True) -> Database:
        """The database for a read command: never created; with `catalogue`, not empty."""
        if self._db is None:
            try:
                self._db = open_existing_database(self.settings.database.url)
            except DatabaseError as exc:
                raise click.ClickException(str(exc)) from exc
        if catalogue:
            from sqlmodel import func, select

            from pledges.models import Pledge

            with self._db.session() as session:
                if not session.exec(select(func.count()).select_from(Pledge)).one():
                    raise click.ClickException(
                        f"database {self._db.safe_url} holds no pledges yet; "
                        + NEXT_STEP.replace("create it", "load them")
                    )
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
            self._db = None


pass_app = click.make_pass_decorator(App)

# Driver messages that mean the same thing whatever the command, with what to check.
_DATABASE_HINTS = {
    "readonly database": "the database is read-only: check the permissions of the file "
    "and its folder",
    "database is locked": "another process holds the write lock for too long",
    "disk I/O error": "check the disk and the file system",
    "database or disk is full": "free some space",
}


def error_message(exc: Exception, app: App | None) -> str:
    """One line for an error no command turned into a message itself."""
    line = error_line(exc)
    if isinstance(exc, SQLAlchemyError):
        where = redact_url(app.settings.database.url) if app is not None else "the database"
        hint = next((h for k, h in _DATABASE_HINTS.items() if k in line), None)
        return f"database {where}: {line}" + (f" ({hint})" if hint else "")
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.filename}: {exc.strerror}" if exc.filename else exc.strerror
    return f"{type(exc).__name__}: {line} (--log-level DEBUG shows where it happened)"


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, for log aggregation."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created).astimezone().isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            data["exc"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(data)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactSecrets())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def console() -> Console:
    # Pipes and CI logs get a wide console so tables stay readable, unless COLUMNS
    # asks for a width (rich reads it itself).
    if sys.stdout.isatty() or os.environ.get("COLUMNS", "").strip().isdigit():
        return Console(soft_wrap=False)
    return Console(soft_wrap=False, width=160)


def print_hanging(out: Console, prefix: str, body: Text) -> None:
    """`prefix` then `body`, its wrapped lines aligned under the body's first character."""
    # At least 20 columns for the body, so a narrow terminal still reads as prose.
    lines = body.wrap(out, max(20, out.width - len(prefix)))
    for i, line in enumerate(lines):
        line.rstrip()
        head = Text(prefix if i == 0 else " " * len(prefix))
        out.print(head.append(line), soft_wrap=True)


def echo_wrapped(message: str, *, err: bool = False) -> None:
    """A one-paragraph message wrapped to 79 columns, later lines indented.

    Words (paths, URLs, option names) are never split, so a long one overflows whole.
    """
    click.echo(
        textwrap.fill(
            message,
            width=79,
            subsequent_indent="  ",
            break_long_words=False,
            break_on_hyphens=False,
        ),
        err=err,
    )


def print_url(out: Console, url: str, indent: str = "  ", style: str = "") -> None:
    """A URL on a line of its own, never broken, so it can be copied or clicked whole."""
    out.print(Text(f"{indent}{url}", style=style), soft_wrap=True)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def to_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=_plain, ensure_ascii=False)


def emit(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str | Col],
    fmt: str,
    *,
    title: str | None = None,
    json_rows: Sequence[Any] | None = None,
) -> None:
    """Print rows as a table, JSON (full objects) or CSV (the columns).

    Columns given as `Col` make a table that fits the terminal (`monitor.cli.tables`).
    """
    names = [c.name if isinstance(c, Col) else c for c in columns]
    if fmt == "table" and any(isinstance(c, Col) for c in columns):
        cols = [c if isinstance(c, Col) else Col(c) for c in columns]
        print_table([[_cell(row.get(c.name)) for c in cols] for row in rows], cols)
        return
    if fmt == "json":
        click.echo(to_json(list(json_rows if json_rows is not None else rows)))
        return
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=names, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _csv_cell(row.get(k)) for k in names})
        click.echo(buf.getvalue(), nl=False)
        return
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in names:
        narrow = c in ("id", "date", "score", "kind", "status", "pledge_id", "made_on")
        table.add_column(c, overflow="fold", no_wrap=narrow)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in names))
    console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list | tuple | dict):
        return csv_safe(json.dumps(value, default=_plain, ensure_ascii=False))
    return csv_safe(_plain(value))


def parse_date(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}", param_hint=option) from exc
