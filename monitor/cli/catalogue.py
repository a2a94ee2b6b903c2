"""`pledgewatch catalogue validate|sync|schema`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from monitor.cli.app import App, pass_app
from pledges.catalogue import catalogue_schema, load_catalogue, shipped_catalogue
from pledges.errors import CatalogueError
from pledges.store import sync_catalogue


@click.group()
def catalogue() -> None:
    """Validate, load and describe pledge catalogues (folders of YAML files)."""


def _load(folder: Path) -> list:  # type: ignore[type-arg]
    try:
        return load_catalogue(folder)
    except CatalogueError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(exc.problems)} problem(s) found; nothing was loaded.", err=True)
        raise SystemExit(2) from exc


@catalogue.command()
@click.argument("folder", type=click.Path(path_type=Path))
def validate(folder: Path) -> None:
    """Check every pledge file in FOLDER; print each problem as `file: field: message`."""
    pledges = _load(folder)
    click.echo(f"{len(pledges)} pledges OK in {folder}")


@catalogue.command()
@click.argument("folder", type=click.Path(path_type=Path), required=False)
@pass_app
def sync(app: App, folder: Path | None) -> None:
    """Validate FOLDER (default: the shipped catalogue) and load it all-or-nothing."""
    folder = folder or shipped_catalogue()
    pledges = _load(folder)
    with app.db.write() as session:
        report = sync_catalogue(session=session, pledges=pledges)
    click.echo(
        f"synced {len(pledges)} pledges from {folder}: {len(report.added)} added, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, "
        f"{len(report.retired)} retired"
    )


@catalogue.command()
def schema() -> None:
    """Print the pledge file format as JSON Schema."""
    click.echo(json.dumps(catalogue_schema(), indent=2, default=str))


COMMANDS = [catalogue]
