"""`pledgewatch ingest PATH...`: read feed files once, store and flag."""

from __future__ import annotations

import click

from monitor.cli.app import App, pass_app
from monitor.pipeline import ingest_files


@click.command()
@click.argument("inputs", nargs=-1, required=True, metavar="PATH_OR_URL...")
@pass_app
def ingest(app: App, inputs: tuple[str, ...]) -> None:
    """Parse feed files once, store new articles, flag them and print a summary.

    Exits 0 when every input was read, 1 when some were rejected (each named with its
    reason; the rest are stored).
    """
    report = ingest_files(db=app.db, paths=list(inputs))
    for res in report.sources:
        if res.error:
            click.echo(f"rejected {res.source}: {res.error}", err=True)
        else:
            note = f" (degraded: {res.degraded})" if res.degraded else ""
            click.echo(f"{res.source}: {res.entries} entries, {res.new} new, "
                       f"{res.updated} updated, {res.flags} new flags{note}")
    ok = len(report.sources) - len(report.rejected)
    click.echo(f"ingested {ok}/{len(report.sources)} inputs: {report.new} new articles, "
               f"{report.flags} new flags")
    if report.rejected:
        raise SystemExit(1)


COMMANDS = [ingest]
