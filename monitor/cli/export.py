"""`pledgewatch export pledges|flags|articles`: whole tables for scripts and notebooks."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli.app import App, parse_date, pass_app
from monitor.query.export import FORMATS, WHAT, export

EXPORT_EXAMPLES = """\b
Examples:
  pledgewatch export flags --format csv --out flags.csv
  pledgewatch export articles --format jsonl --since 2025-01-01"""


@click.command("export", epilog=EXPORT_EXAMPLES)
@click.argument("what", type=click.Choice(WHAT))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="csv",
    show_default=True,
    help="csv, a JSON array, or JSON Lines (one object per line).",
)
@click.option(
    "--out",
    "out_path",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write here instead of standard output.",
)
@click.option("--since", metavar="DATE", help="Flags or articles published on or after.")
@pass_app
def export_(app: App, what: str, fmt: str, out_path: Path | None, since: str | None) -> None:
    """Export every pledge, flag or article as CSV or JSON, streamed in batches."""
    since_d = parse_date(since, "--since")
    # Articles come from feeds alone; a database with no pledges loaded still has them.
    with app.reader(catalogue=what != "articles").session() as session:
        if out_path is None:
            export(session, what, sys.stdout, fmt, since=since_d)
            return
        tmp = out_path.with_name(out_path.name + ".part")
        try:
            with tmp.open("w", encoding="utf-8", newline="") as fh:
                n = export(session, what, fh, fmt, since=since_d)
            tmp.replace(out_path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise click.ClickException(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    click.echo(f"exported {n} {what} to {out_path}", err=True)


COMMANDS = [export_]
