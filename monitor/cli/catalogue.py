"""`pledgewatch catalogue validate|sync|schema`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import click

from monitor.cli.app import App, echo_wrapped, pass_app
from pledges.catalogue import catalogue_schema, load_catalogues, shipped_catalogue
from pledges.errors import CatalogueError
from pledges.models import PledgeIn
from pledges.store import sync_catalogue


@click.group()
def catalogue() -> None:
    """Validate, load and describe pledge catalogues (folders of YAML files)."""


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _paths(paths: tuple[Path, ...], shipped: bool) -> list[Path]:
    """The paths to load: those given, with the shipped catalogue first when asked for."""
    return [shipped_catalogue(), *paths] if shipped or not paths else list(paths)


def _shown(path: Path) -> str:
    """A path as short as it can be said: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _describe(paths: list[Path]) -> str:
    return ", ".join(_shown(p) for p in paths)


def _load(paths: list[Path]) -> list[PledgeIn]:
    try:
        return load_catalogues(paths)
    except CatalogueError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing was loaded.", err=True)
        raise SystemExit(2) from exc


def retired_note(retired: list[str]) -> str:
    """Which pledges a sync retired, and how to load the shipped and one's own together."""
    shown = ", ".join(retired[:5]) + (f" and {len(retired) - 5} more" if len(retired) > 5 else "")
    what = textwrap.fill(
        f"note: retired {_plural(len(retired), 'pledge')} not in the paths given ({shown}); "
        "their flags and reviews are kept, but they are no longer used for detection.",
        width=79,
        break_on_hyphens=False,
    )
    return (
        f"{what}\nTo keep pledges of your own next to the shipped ones, sync both:\n"
        "  pledgewatch catalogue sync --shipped YOUR_FOLDER"
    )


PATHS_HELP = """\b
Examples:
  pledgewatch catalogue validate my-pledges/
  pledgewatch catalogue validate --shipped my-pledges/acme-net-zero.yaml"""

SYNC_HELP = """\b
Examples:
  pledgewatch catalogue sync                        the shipped catalogue
  pledgewatch catalogue sync --shipped my-pledges/  shipped plus your own
  pledgewatch catalogue sync my-pledges/            yours only (retires
                                                    the shipped ones)"""

SHIPPED_OPTION = click.option(
    "--shipped",
    is_flag=True,
    help="Load the shipped catalogue together with the PATHS given.",
)


@catalogue.command(epilog=PATHS_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@SHIPPED_OPTION
def validate(paths: tuple[Path, ...], shipped: bool) -> None:
    """Check every pledge file in PATHS (folders or single `.yaml` files) as one catalogue.

    Each problem is printed as `file: field: message`; exit 2 if there are any.
    """
    folders = _paths(paths, shipped)
    pledges = _load(folders)
    click.echo(f"{_plural(len(pledges), 'pledge')} OK in {_describe(folders)}")


@catalogue.command(epilog=SYNC_HELP)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@SHIPPED_OPTION
@pass_app
def sync(app: App, paths: tuple[Path, ...], shipped: bool) -> None:
    """Validate PATHS (default: the shipped catalogue) and load them all-or-nothing.

    PATHS (folders or single `.yaml` files) together are the whole catalogue: a pledge
    in the database but in none of them is retired (kept with its flags and reviews, no
    longer used for detection).
    """
    folders = _paths(paths, shipped)
    pledges = _load(folders)
    with app.db.write() as session:
        report = sync_catalogue(session=session, pledges=pledges)
    echo_wrapped(
        f"synced {_plural(len(pledges), 'pledge')} ({len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.retired)} retired) from {_describe(folders)}"
    )
    if report.retired:
        click.echo(retired_note(report.retired), err=True)


@catalogue.command()
def schema() -> None:
    """Print the pledge file format as JSON Schema."""
    click.echo(json.dumps(catalogue_schema(), indent=2, default=str))


COMMANDS = [catalogue]
