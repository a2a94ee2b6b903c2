"""`pledgewatch feeds add|import|export|list|remove|suggest`: subscriptions and their health."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from feeds.addresses import AddressPolicy, check_feed_url, check_feed_urls, check_url
from feeds.errors import FeedError, UnsafeURLError
from feeds.opml import MAX_OPML_BYTES, OpmlError, OpmlFeed, read_opml, write_opml
from feeds.redact import redact_text, redact_url
from feeds.subscriptions import (
    FeedExistsError,
    add_feed,
    feed_health,
    find_feed,
    import_feeds,
    list_feeds,
    remove_feed,
    to_opml_feeds,
)
from localfiles import LocalFileError, read_local_file
from monitor.cli.app import FORMATS, App, emit, pass_app
from monitor.cli.tables import Col
from monitor.poll.settings import address_policy
from monitor.query.suggest import UnknownPledgeError, suggest_feeds

LIST_COLUMNS = [
    "id",
    "name",
    "state",
    "last_fetch",
    "last_success",
    "http_status",
    "consecutive_errors",
    "next_due",
    "entries",
    "last_error",
]
# On a narrow terminal the name is cut and the rest of a feed's health goes below it.
LIST_TABLE = [
    Col("id", fixed=True, right=True),
    Col("state", fixed=True),
    Col("http_status", fixed=True, header="http"),
    Col("consecutive_errors", fixed=True, header="errors", right=True),
    Col("last_fetch", fixed=True),
    Col("next_due", fixed=True),
    Col("name"),
    Col("last_success", second=True, labelled=True, header="last success"),
    Col("entries", second=True, labelled=True),
    Col("last_error", second=True),
]
SUGGESTED_CATEGORY = "News searches"
# Feeds checked and stored per transaction by `feeds import`.
IMPORT_BATCH = 500
# Host lookups in flight at once while checking an OPML file's feeds, and the seconds a
# batch waits for them: a host still unanswered is added with a note, as one that does
# not resolve (every fetch checks it again), so slow name servers cannot stall an import.
DNS_LOOKUPS = 16
DNS_BUDGET = 15.0
# Files with fewer feeds import in a blink: no bar.
PROGRESS_MIN_FEEDS = 100
DNS_NOTE = "added anyway, it is checked again at every fetch"


def checked_url(url: str, policy: AddressPolicy) -> tuple[str, str | None]:
    """The normalised URL and a note, or ClickException when the URL is refused.

    A host that does not resolve now is accepted with a note: every fetch resolves and
    checks it again before connecting.
    """
    try:
        return check_feed_url(url, policy), None
    except UnsafeURLError as exc:
        raise click.ClickException(redact_text(f"{url}: {exc}")) from exc
    except FeedError as exc:
        if exc.kind != "dns":
            raise click.ClickException(redact_text(f"{url}: {exc}")) from exc
        return check_url(url), f"{exc}; {DNS_NOTE}"


@click.group()
def feeds() -> None:
    """Subscribe to feeds, import and export OPML, and see each feed's health."""


ADD_EXAMPLES = """\b
Examples:
  pledgewatch feeds add https://news.example.org/feed.xml --category Climate
  pledgewatch feeds add https://news.example.org/rss --name "Example News"
"""


@feeds.command(epilog=ADD_EXAMPLES)
@click.argument("url")
@click.option("--name", help="Display name (default: the feed's own title).")
@click.option("--category", help="Folder, as in OPML (nested folders as A/B).")
@pass_app
def add(app: App, url: str, name: str | None, category: str | None) -> None:
    """Subscribe to a feed URL (http or https, on a public address unless allowed)."""
    normal, note = checked_url(url, address_policy(app.settings))
    try:
        with app.db.write() as session:
            feed = add_feed(
                session,
                url=normal,
                name=name,
                category=category,
                interval_seconds=app.settings.feeds.interval_minutes * 60,
            )
    except FeedExistsError as exc:
        raise click.ClickException(f"{redact_url(normal)}: {exc}") from exc
    if note:
        click.echo(f"note: {redact_text(note)}", err=True)
    click.echo(
        f"added feed {feed.id}: {redact_url(feed.url)} (polled on the next `pledgewatch poll`)"
    )


@feeds.command("import")
@click.argument("opml_file", type=click.Path(path_type=Path))
@pass_app
def import_(app: App, opml_file: Path) -> None:
    """Subscribe to every feed in an OPML file (Miniflux, FreshRSS, Feedly and others).

    Feeds already subscribed are left as they are. Exits 1 when some were refused
    (each named with its reason); the others are added. Feeds are checked and stored
    in batches, so an interrupted import keeps what it stored and running it again
    adds the rest. A file with more than `[feeds] max_opml_outlines` outlines is refused.
    """
    cap = app.settings.feeds.max_opml_outlines
    try:
        entries = read_opml(read_local_file(opml_file, max_bytes=MAX_OPML_BYTES), max_outlines=cap)
    except LocalFileError as exc:
        raise click.ClickException(str(exc)) from exc
    except OpmlError as exc:
        capped = f"over {cap} outlines" in str(exc)
        hint = " (raise [feeds] max_opml_outlines to import it)" if capped else ""
        raise click.ClickException(f"{opml_file}: {exc}{hint}") from exc
    policy = address_policy(app.settings)
    interval = app.settings.feeds.interval_minutes * 60
    added = existing = 0
    refused: list[str] = []
    with import_progress(len(entries)) as report:
        for start in range(0, len(entries), IMPORT_BATCH):
            batch = entries[start : start + IMPORT_BATCH]
            accepted: list[OpmlFeed] = []
            checks = check_feed_urls(
                [e.url for e in batch], policy, concurrency=DNS_LOOKUPS, timeout=DNS_BUDGET
            )
            for entry, outcome in zip(batch, checks, strict=True):
                if isinstance(outcome, str):
                    accepted.append(dataclasses.replace(entry, url=outcome))
                elif outcome.kind == "dns":
                    report(redact_text(f"note: {entry.url}: {outcome}; {DNS_NOTE}"))
                    accepted.append(dataclasses.replace(entry, url=check_url(entry.url)))
                else:
                    refused.append(redact_text(f"{entry.url}: {outcome}"))
            # One transaction per batch: what is stored stays if the import is stopped.
            with app.db.write() as session:
                done = import_feeds(session, accepted, interval_seconds=interval)
            added += len(done.added)
            existing += len(done.existing)
            report(None, advance=len(batch))
    for reason in refused:
        click.echo(f"refused {reason}", err=True)
    click.echo(
        f"imported {added} feeds ({existing} already subscribed, {len(refused)} refused) "
        f"from {opml_file}"
    )
    if refused:
        raise SystemExit(1)


@contextmanager
def import_progress(total: int) -> Iterator[Callable[..., None]]:
    """report(line, advance=n): a progress bar on a terminal for big files; lines to stderr."""
    if not sys.stderr.isatty() or total < PROGRESS_MIN_FEEDS:

        def plain(line: str | None, advance: int = 0) -> None:
            if line:
                click.echo(line, err=True)

        yield plain
        return
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("import", total=total)

        def bar(line: str | None, advance: int = 0) -> None:
            if line:
                progress.console.print(line, markup=False, highlight=False)
            if advance:
                progress.update(task, advance=advance)

        yield bar


@feeds.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@click.option(
    "--include-secrets",
    is_flag=True,
    help="Keep passwords and API keys in feed URLs (default: masked).",
)
@pass_app
def export(app: App, output: Path | None, include_secrets: bool) -> None:
    """Write every subscription as OPML 2.0 (to stdout by default).

    Passwords and secret-looking query parameters (apikey, token...) in feed URLs are
    masked unless --include-secrets is given, so an export can be shared safely.
    """
    with app.reader(catalogue=False).session() as session:
        feeds = list_feeds(session)
        data = write_opml(to_opml_feeds(feeds, include_secrets=include_secrets))
    masked = sum(1 for f in feeds if redact_url(f.url) != f.url)
    if masked and not include_secrets:
        click.echo(
            f"note: {masked} feed URLs carry credentials, masked here; "
            "--include-secrets keeps them (for a backup)",
            err=True,
        )
    if output is None:
        click.echo(data.decode("utf-8"), nl=False)
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)


@feeds.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def list_(app: App, fmt: str) -> None:
    """Feeds with their health: last fetch and success, HTTP status, errors, next poll."""
    with app.reader(catalogue=False).session() as session:
        rows = [feed_health(f) for f in list_feeds(session)]
    emit(rows, LIST_TABLE if fmt == "table" else LIST_COLUMNS, fmt, title="Feeds")


@feeds.command()
@click.argument("id_or_url")
@pass_app
def remove(app: App, id_or_url: str) -> None:
    """Unsubscribe from a feed (by id or URL); its articles and flags are kept."""
    with app.db.write() as session:
        feed = find_feed(session, id_or_url)
        if feed is None:
            raise click.ClickException(
                f"no feed {id_or_url!r} (give an id or URL from `pledgewatch feeds list`)"
            )
        feed_id, url = feed.id, feed.url
        remove_feed(session, feed)
    click.echo(f"removed feed {feed_id}: {redact_url(url)} (its articles are kept)")


@feeds.command()
@click.argument("pledge_id")
@click.option("--add", "subscribe", is_flag=True, help="Subscribe to the suggested feeds.")
@pass_app
def suggest(app: App, pledge_id: str, subscribe: bool) -> None:
    """News-search feeds (Google News, Bing News) that watch one pledge.

    The searches ask for the company's name or an alias together with one of the
    pledge's subject phrases. With --add they are subscribed (those already subscribed
    are left as they are).
    """
    with app.db.session() as session:
        try:
            suggestions = suggest_feeds(session, pledge_id)
        except UnknownPledgeError as exc:
            raise click.ClickException(str(exc)) from exc
    for s in suggestions:
        click.echo(f"{s.name}\n  {s.url}")
    if not subscribe:
        return
    policy = address_policy(app.settings)
    accepted = []
    for s in suggestions:
        normal, _note = checked_url(s.url, policy)
        accepted.append(OpmlFeed(url=normal, title=s.name, category=SUGGESTED_CATEGORY))
    with app.db.write() as session:
        report = import_feeds(
            session, accepted, interval_seconds=app.settings.feeds.interval_minutes * 60
        )
    for feed in report.added:
        click.echo(f"added feed {feed.id}: {feed.url}")
    for url in report.existing:
        click.echo(f"already subscribed: {url}")


COMMANDS = [feeds]
