"""`pledgewatch ingest PATH...`: read feed files once, store and flag."""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

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
    Stage,
    expand_inputs,
    fetch_sources,
    ingest_files,
    is_url,
)
from monitor.poll.settings import fetch_options
from monitor.store.db import error_line

log = logging.getLogger(__name__)


def _line(res: SourceResult) -> str:
    """One line per input, key=value like `poll`'s and with the fields ingest logs."""
    if res.error:
        return (
            f"ingest failed source={res.source} error={res.error_kind} message={res.error_message}"
        )
    note = f" degraded={res.degraded}" if res.degraded else ""
    empty = f" empty={res.empty}" if res.empty else ""
    return (
        f"ingested source={res.source} entries={res.entries}{empty} new={res.new} "
        f"updated={res.updated} flags={res.flags}{note}"
    )


class _Bar:
    """A progress display on stderr: files done and, for the file at hand, its entries.

    It starts on the first report, after any parse workers are forked: the display's
    refresh thread must not exist when they are.
    """

    def __init__(self, stack: ExitStack, files: int) -> None:
        self.stack, self.files = stack, files
        self.progress: Progress | None = None
        self.shown: tuple[str, str] | None = None
        self.file_task: TaskID | None = None
        self.entry_task: TaskID | None = None
        self.new_total = 0

    def _start(self) -> Progress:
        if self.progress is None:
            self.progress = self.stack.enter_context(
                Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("{task.fields[unit]}"),
                    TimeRemainingColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
            )
            if self.files > 1:
                self.file_task = self.progress.add_task(
                    "ingesting", total=self.files, unit="files · 0 new articles"
                )
        return self.progress

    def stage(self, stage: Stage) -> None:
        progress = self._start()
        name = Path(stage.source).name
        if self.entry_task is None:
            self.entry_task = progress.add_task("", total=None, unit="entries")
        if stage.stage == "parsing":
            progress.update(self.entry_task, description=f"parsing {name}", total=None, completed=0)
        else:
            progress.update(
                self.entry_task,
                description=f"{stage.stage} {name}",
                total=stage.total,
                completed=stage.done,
            )
        if (stage.stage, name) != self.shown:
            # Each stage is drawn at least once, however quickly it passes.
            self.shown = (stage.stage, name)
            progress.refresh()

    def file_done(self, res: SourceResult) -> None:
        progress = self._start()
        self.new_total += res.new
        if self.file_task is not None:
            progress.update(
                self.file_task, advance=1, unit=f"files · {self.new_total} new articles"
            )
        if res.error or res.degraded:
            progress.console.print(_line(res), markup=False, highlight=False)


INGEST_EXAMPLES = """\b
Examples:
  pledgewatch ingest examples/feeds/*.xml
  pledgewatch ingest saved-feeds/ https://news.example.org/feed.xml"""


@click.command(epilog=INGEST_EXAMPLES)
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
    reason; the rest are stored). On a terminal a progress display shows the files done
    and, for a file parsed here, its entries as they are scanned.
    """
    urls = [i for i in inputs if is_url(i)]
    paths = expand_inputs([i for i in inputs if not is_url(i)])
    if not paths and not urls:
        raise click.UsageError("no files found in the given directories")
    fetched = fetch_sources(urls, fetch_options(app.settings), datetime.now(UTC)) if urls else []
    # Everything imported so far lives as long as the process: keep the collector off it,
    # and keep forked workers from copying those pages (see gc.freeze).
    gc.freeze()
    tty = sys.stderr.isatty()
    with ExitStack() as stack:
        on_stage: Callable[[Stage], None] | None = None
        if tty:
            bar = _Bar(stack, files=len(paths) + len(fetched))
            on_progress, on_stage = bar.file_done, bar.stage
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
                on_stage=on_stage,
                semantic=app.settings.detect.semantic,
                min_score=app.settings.detect.min_score,
                freeze_catalogue=True,  # the process ends with this ingest
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
