"""`pledgewatch rescan`: re-run detection over stored articles."""

from __future__ import annotations

import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from monitor.cli.app import FORMATS, App, emit, parse_date, pass_app, to_json
from monitor.flags.detection import load_detector
from monitor.flags.rescan import RescanError, RescanReport, count_articles_since, rescan
from pledges.catalogue import load_catalogue
from pledges.detect import Detector
from pledges.errors import CatalogueError


def _detector_from(folder: Path, pledge_ids: tuple[str, ...], app: App) -> Detector:
    try:
        pledges = load_catalogue(folder)
    except CatalogueError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) in {folder}") from exc
    missing = sorted(set(pledge_ids) - {p.id for p in pledges})
    if missing:
        raise click.ClickException(f"no pledge with id {', '.join(missing)} in {folder}")
    with app.db.session() as session:
        # Backtest as the database would detect: its model, floor and semantic layer.
        return load_detector(
            session, app.settings.detect.semantic, app.settings.detect.min_score, pledges
        )


RESCAN_EXAMPLES = """\b
Examples:
  pledgewatch rescan --dry-run
  pledgewatch rescan --pledge amazon-rekognition-police-moratorium"""


@click.command("rescan", epilog=RESCAN_EXAMPLES)
@click.option(
    "--pledge",
    "pledge_ids",
    multiple=True,
    metavar="ID",
    help="Only this pledge's flags (repeatable); others are left untouched.",
)
@click.option("--since", metavar="DATE", help="Only articles published on or after YYYY-MM-DD.")
@click.option("--dry-run", is_flag=True, help="List what would change; write nothing.")
@click.option(
    "--catalogue",
    "folder",
    type=click.Path(file_okay=False, path_type=Path),
    help="Backtest the pledges in this folder instead of the stored catalogue "
    "(with --dry-run only).",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def rescan_(
    app: App,
    pledge_ids: tuple[str, ...],
    since: str | None,
    dry_run: bool,
    folder: Path | None,
    fmt: str,
) -> None:
    """Re-run detection over stored articles after a catalogue or detector change.

    New flags are raised, changed scores updated, flags no longer found deactivated
    (never deleted: reviews are kept). Running it twice changes nothing the second time.
    """
    if folder is not None and not dry_run:
        raise click.UsageError(
            "--catalogue backtests a folder; add --dry-run (sync the folder first to apply it)"
        )
    detector = _detector_from(folder, pledge_ids, app) if folder is not None else None
    since_d = parse_date(since, "--since")
    db = app.reader()
    with ExitStack() as stack:
        on_batch: Callable[[RescanReport], None] | None = None
        if sys.stderr.isatty():
            with db.session() as session:
                total = count_articles_since(session, since_d)
            progress = stack.enter_context(
                Progress(
                    TextColumn("dry run" if dry_run else "rescanning"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TextColumn("articles · {task.fields[changes]} changes"),
                    TimeRemainingColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
            )
            task = progress.add_task("rescan", total=total, changes=0)

            def advance(report: RescanReport) -> None:
                progress.update(task, completed=report.articles, changes=len(report.changes))

            on_batch = advance

        try:
            report = rescan(
                db=db,
                pledge_ids=list(pledge_ids) or None,
                since=since_d,
                dry_run=dry_run,
                detector=detector,
                on_batch=on_batch,
                semantic=app.settings.detect.semantic,
                min_score=app.settings.detect.min_score,
            )
        except RescanError as exc:
            raise click.ClickException(str(exc)) from exc
    _print(report, fmt)


def _print(report: RescanReport, fmt: str) -> None:
    rows = [c.as_dict() for c in report.changes]
    if fmt == "json":
        click.echo(
            to_json(
                {
                    "dry_run": report.dry_run,
                    "articles": report.articles,
                    "pledge_ids": report.pledge_ids,
                    "summary": report.summary,
                    "changes": rows,
                }
            )
        )
        return
    if fmt == "csv":
        emit(rows, list(rows[0]) if rows else ["action"], fmt)
        return
    if rows:
        emit(
            rows,
            [
                "action",
                "flag_id",
                "pledge_id",
                "status",
                "old_score",
                "new_score",
                "new_kind",
                "title",
            ],
            fmt,
            title="Would change" if report.dry_run else "Changed",
        )
    verb = "would change" if report.dry_run else "changed"
    s = report.summary
    click.echo(
        f"scanned {report.articles} articles; {verb}: {s['new']} new, {s['changed']} changed, "
        f"{s['reactivated']} reactivated, {s['deactivated']} deactivated flags"
        + (" (dry run: nothing written)" if report.dry_run else "")
    )


COMMANDS = [rescan_]
