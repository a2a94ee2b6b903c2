"""`pledgewatch ingest PATH...`: read feed files once, store and flag."""

from __future__ import annotations

import gc
import logging
import sys
from contextlib import ExitStack
from datetime import UTC, datetime

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from monitor.cli.app import App, pass_app
from monitor.ingest.pipeline import (
    BATCH_ENTRIES,
    SourceResult,
    expand_inputs,
    fetch_sources,
    ingest_files,
    is_url,
)
from monitor.poll.settings import fetch_options
from monitor.store.db import error_line

log = logging.getLogger(__name__)

# Fewer inputs than this print one line each even on a terminal.
PROGRESS_MIN_FILES = 20


def _line(res: SourceResult) -> str:
    """One line per input, key=value like `poll`'s and with the fields ingest logs."""
    if res.error:
        return (
            f"ingest failed source={res.source} error={res.error_kind} message={res.error_message}"
        )
    note = f" degraded={res.degraded}" if res.degraded else ""
    return (
        f"ingested source={res.source} entries={res.entries} new={res.new} "
        f"updated={res.updated} flags={res.flags}{note}"
    )


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Parser processes (default: one per core; 0 or 1 parses in-process).",
)
@click.option(
    "--batch-entries",
    type=click.IntRange(1, 1_000_000),
    default=BATCH_ENTRIES,
    show_default=True,
    help="Entries written per database transaction.",
)
@pass_app
def ingest(app: App, inputs: tuple[str, ...], workers: int | None, batch_entries: int) -> None:
    """Parse feed files (or the feed files under a directory: *.xml, *.rss, *.atom,
    *.rdf, *.feed, gzipped or not, and any *.gz; or feed URLs) once, store new articles,
    flag them and print a summary.

    URLs are fetched once with the poller's limits and address rules; to watch a feed
    over time, subscribe with `feeds add`.

    Exits 0 when every input was read, 1 when some were rejected (each named with its
    reason; the rest are stored). On a terminal, large ingests show a progress bar.
    """
    urls = [i for i in inputs if is_url(i)]
    paths = expand_inputs([i for i in inputs if not is_url(i)])
    if not paths and not urls:
        raise click.UsageError("no files found in the given directories")
    fetched = fetch_sources(urls, fetch_options(app.settings), datetime.now(UTC)) if urls else []
    # Everything imported so far lives as long as the process: keep the collector off it,
    # and keep forked workers from copying those pages (see gc.freeze).
    gc.freeze()
    tty = sys.stderr.isatty() and len(paths) >= PROGRESS_MIN_FILES
    with ExitStack() as stack:
        if tty:
            bar: list[tuple[Progress, TaskID]] = []
            new_total = 0

            def on_progress(res: SourceResult) -> None:
                nonlocal new_total
                if not bar:
                    # Started on the first result, after the workers are forked: the bar's
                    # refresh thread must not exist when they are.
                    progress = stack.enter_context(Progress(
                        TextColumn("ingesting"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[articles]} new articles"),
                        TimeRemainingColumn(), console=Console(stderr=True), transient=True,
                    ))  # fmt: skip
                    bar.append((progress, progress.add_task("ingest", total=len(paths),
                                                            articles=0)))  # fmt: skip
                progress, task = bar[0]
                new_total += res.new
                progress.update(task, advance=1, articles=new_total)
                if res.error or res.degraded:
                    progress.console.print(_line(res), markup=False, highlight=False)
        else:

            def on_progress(res: SourceResult) -> None:
                click.echo(_line(res), err=bool(res.error))

        # Each input is reported here; its log line would say the same again at the
        # default level (at --log-level INFO or DEBUG both show), as in `poll`.
        pipeline_log = logging.getLogger("monitor.ingest.pipeline")
        level = pipeline_log.level
        if logging.getLogger().getEffectiveLevel() >= logging.WARNING:
            pipeline_log.setLevel(logging.ERROR)
        try:
            report = ingest_files(
                db=lambda: app.db,
                paths=paths,
                on_progress=on_progress,
                workers=workers,
                batch_entries=batch_entries,
                fetched=fetched,
                max_bytes=app.settings.feeds.max_bytes,
            )
        except click.ClickException:
            raise
        except Exception as exc:
            log.debug("ingest stopped", exc_info=True)
            raise click.ClickException(
                f"ingest stopped ({type(exc).__name__}: {error_line(exc)}); articles of the "
                "batches written so far are kept, and running the same ingest again completes it"
            ) from exc
        finally:
            pipeline_log.setLevel(level)
    ok = len(report.sources) - len(report.rejected)
    click.echo(
        f"ingested {ok}/{len(report.sources)} inputs: {report.new} new articles, "
        f"{report.flags} new flags"
    )
    if report.rejected:
        reasons: dict[str, int] = {}
        for res in report.rejected:
            kind = res.error_kind or ""
            reasons[kind] = reasons.get(kind, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items()))
        click.echo(f"rejected {len(report.rejected)} inputs: {summary}", err=True)
        raise SystemExit(1)


COMMANDS = [ingest]
