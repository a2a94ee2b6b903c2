"""`pledgewatch ingest PATH...`: read feed files once, store and flag."""

from __future__ import annotations

import gc
import logging
import sys
from contextlib import ExitStack

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
from monitor.pipeline import BATCH_ENTRIES, SourceResult, expand_inputs, ingest_files

log = logging.getLogger(__name__)

# Fewer inputs than this print one line each even on a terminal.
PROGRESS_MIN_FILES = 20


def _line(res: SourceResult) -> str:
    if res.error:
        return f"rejected {res.source}: {res.error}"
    note = f" (degraded: {res.degraded})" if res.degraded else ""
    return (
        f"{res.source}: {res.entries} entries, {res.new} new, {res.updated} updated, "
        f"{res.flags} new flags{note}"
    )


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="PATH...")
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
    """Parse feed files (or every file under a directory) once, store new articles, flag
    them and print a summary.

    Exits 0 when every input was read, 1 when some were rejected (each named with its
    reason; the rest are stored). On a terminal, large ingests show a progress bar.
    """
    paths = expand_inputs(inputs)
    if not paths:
        raise click.UsageError("no files found in the given directories")
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

        try:
            report = ingest_files(
                db=lambda: app.db,
                paths=paths,
                on_progress=on_progress,
                workers=workers,
                batch_entries=batch_entries,
            )
        except click.ClickException:
            raise
        except Exception as exc:
            log.debug("ingest stopped", exc_info=True)
            raise click.ClickException(
                f"ingest stopped ({type(exc).__name__}: {exc}); articles of the batches "
                "written so far are kept, and running the same ingest again completes it"
            ) from exc
    ok = len(report.sources) - len(report.rejected)
    click.echo(
        f"ingested {ok}/{len(report.sources)} inputs: {report.new} new articles, "
        f"{report.flags} new flags"
    )
    if report.rejected:
        reasons: dict[str, int] = {}
        for res in report.rejected:
            kind = (res.error or "").split(":", 1)[0]
            reasons[kind] = reasons.get(kind, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in sorted(reasons.items()))
        click.echo(f"rejected {len(report.rejected)} inputs: {summary}", err=True)
        raise SystemExit(1)


COMMANDS = [ingest]
