"""`pledgewatch poll`: fetch the due feeds once, store and flag, and print what happened."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from feeds.subscriptions import unknown_feed_ids
from monitor.cli.app import App, pass_app
from monitor.poll.claims import count_due_feeds
from monitor.poll.cycle import poll_due_feeds
from monitor.poll.report import FeedPollResult


def describe(res: FeedPollResult) -> str:
    """One line per feed, with the same fields the poller logs."""
    if not res.ok:
        return (
            f"feed_id={res.feed_id} url={res.url} status={res.status or '-'} "
            f"error={res.error_kind}: {res.error}"
        )
    state = "not_modified" if res.not_modified else f"new={res.new} updated={res.updated}"
    extra = f" moved_to={res.moved_to}" if res.moved_to else ""
    extra += f" degraded={res.degraded}" if res.degraded else ""
    return (
        f"feed_id={res.feed_id} url={res.url} status={res.status} {state} flags={res.flags}{extra}"
    )


@contextmanager
def progress_reporter(total: int | None) -> Iterator[Callable[[FeedPollResult], None]]:
    """A progress bar on a terminal, else one line per feed on stdout."""
    if not sys.stderr.isatty():
        yield lambda res: click.echo(describe(res))
        return
    columns = (
        TextColumn("polling"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[failed]} failed"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("poll", total=total, failed=0)
        failed = 0

        def update(res: FeedPollResult) -> None:
            nonlocal failed
            failed += 0 if res.ok else 1
            progress.update(task, advance=1, failed=failed)
            if not res.ok:
                progress.console.print(describe(res), markup=False, highlight=False)

        yield update


@click.command()
@click.option(
    "--feed",
    "feed_ids",
    type=int,
    multiple=True,
    metavar="ID",
    help="Poll this feed now, due or not (repeatable).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Poll at most this many due feeds.")
@pass_app
def poll(app: App, feed_ids: tuple[int, ...], limit: int | None) -> None:
    """Fetch every due feed once (or the feeds named), store new articles and flag them.

    Feeds are claimed with leases, so this is safe while a daemon runs. Prints one line
    per feed (a progress bar on a terminal) and a summary. Exits 0 when the poll ran,
    even if some feeds failed: each failure is recorded on its feed (see `feeds list`)
    and retried with backoff. Exits 1 only when the poll itself could not run.
    """
    if feed_ids:
        with app.db.session() as session:
            unknown = unknown_feed_ids(session, list(feed_ids))
        if unknown:
            raise click.ClickException(
                f"no feed with id {', '.join(map(str, unknown))} (see `pledgewatch feeds list`)"
            )
    total = len(feed_ids) if feed_ids else count_due_feeds(db=app.db)
    if limit is not None:
        total = min(total, limit)
    # Each feed is reported here; its log line would say the same again at the default
    # level (at --log-level INFO or DEBUG both show).
    poll_log = logging.getLogger("monitor.poll.cycle")
    level = poll_log.level
    if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
        poll_log.setLevel(logging.ERROR)
    try:
        with progress_reporter(total) as on_progress:
            report = poll_due_feeds(
                db=app.db,
                settings=app.settings,
                limit=limit,
                feed_ids=list(feed_ids) or None,
                on_progress=on_progress,
            )
    finally:
        poll_log.setLevel(level)
    for fid in report.skipped:
        click.echo(f"feed_id={fid} skipped: another poller holds its lease", err=True)
    ok = len(report.results) - len(report.failed)
    click.echo(
        f"polled {len(report.results)} feeds in {report.elapsed:.1f}s: {ok} ok "
        f"({report.not_modified} not modified), {len(report.failed)} failed; "
        f"{report.new} new articles, {report.flags} new flags"
    )


COMMANDS = [poll]
