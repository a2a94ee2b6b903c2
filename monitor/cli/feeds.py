"""`pledgewatch feeds add|import|export|list|remove|suggest`: subscriptions and their health."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from feeds.addresses import AddressPolicy, check_feed_url, check_url
from feeds.errors import FeedError, UnsafeURLError
from feeds.opml import OpmlError, OpmlFeed, read_opml, write_opml
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


def checked_url(url: str, policy: AddressPolicy) -> tuple[str, str | None]:
    """The normalised URL and a note, or ClickException when the URL is refused.

    A host that does not resolve now is accepted with a note: every fetch resolves and
    checks it again before connecting.
    """
    try:
        return check_feed_url(url, policy), None
    except UnsafeURLError as exc:
        raise click.ClickException(f"{url}: {exc}") from exc
    except FeedError as exc:
        if exc.kind != "dns":
            raise click.ClickException(f"{url}: {exc}") from exc
        return check_url(url), f"{exc}; added anyway, it is checked again at every fetch"


@click.group()
def feeds() -> None:
    """Subscribe to feeds, import and export OPML, and see each feed's health."""


@feeds.command()
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
        raise click.ClickException(f"{normal}: {exc}") from exc
    if note:
        click.echo(f"note: {note}", err=True)
    click.echo(f"added feed {feed.id}: {feed.url} (polled on the next `pledgewatch poll`)")


@feeds.command("import")
@click.argument("opml_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_app
def import_(app: App, opml_file: Path) -> None:
    """Subscribe to every feed in an OPML file (Miniflux, FreshRSS, Feedly and others).

    Feeds already subscribed are left as they are. Exits 1 when some were refused
    (each named with its reason); the others are added.
    """
    try:
        entries = read_opml(opml_file.read_bytes())
    except OpmlError as exc:
        raise click.ClickException(f"{opml_file}: {exc}") from exc
    policy = address_policy(app.settings)
    accepted: list[OpmlFeed] = []
    refused: list[str] = []
    for entry in entries:
        try:
            normal, note = checked_url(entry.url, policy)
        except click.ClickException as exc:
            refused.append(exc.message)
            continue
        if note:
            click.echo(f"note: {entry.url}: {note}", err=True)
        accepted.append(dataclasses.replace(entry, url=normal))
    with app.db.write() as session:
        report = import_feeds(
            session, accepted, interval_seconds=app.settings.feeds.interval_minutes * 60
        )
    for reason in refused:
        click.echo(f"refused {reason}", err=True)
    click.echo(
        f"imported {len(report.added)} feeds ({len(report.existing)} already "
        f"subscribed, {len(refused)} refused) from {opml_file}"
    )
    if refused:
        raise SystemExit(1)


@feeds.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write to this file instead of stdout.",
)
@pass_app
def export(app: App, output: Path | None) -> None:
    """Write every subscription as OPML 2.0 (to stdout by default)."""
    with app.reader(catalogue=False).session() as session:
        data = write_opml(to_opml_feeds(list_feeds(session)))
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
    click.echo(f"removed feed {feed_id}: {url} (its articles are kept)")


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
