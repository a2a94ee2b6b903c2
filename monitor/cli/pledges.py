"""`pledgewatch pledges list|show`."""

from __future__ import annotations

import click

from monitor.cli.app import FORMATS, App, console, emit, pass_app, to_json
from monitor.queries import get_pledge, list_pledges


@click.group()
def pledges() -> None:
    """Query the pledges in the database."""


@pledges.command("list")
@click.option("--company", help="Company name or alias.")
@click.option("--status", type=click.Choice(["active", "expired", "withdrawn", "fulfilled"]))
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def list_(app: App, company: str | None, status: str | None, fmt: str) -> None:
    """List pledges with their status and flag counts."""
    with app.db.session() as session:
        rows = list_pledges(session, company=company, status=status)
    emit(
        rows,
        ["id", "company", "kind", "status", "made_on", "open_flags", "confirmed_flags", "title"],
        fmt,
        title="Pledges",
    )


@pledges.command()
@click.argument("pledge_id")
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@pass_app
def show(app: App, pledge_id: str, fmt: str) -> None:
    """Show one pledge: statement, sources, history and flags."""
    with app.db.session() as session:
        data = get_pledge(session, pledge_id)
    if data is None:
        raise click.ClickException(
            f"no pledge with id {pledge_id!r} (see `pledgewatch pledges list`)"
        )
    if fmt == "json":
        click.echo(to_json(data))
        return
    out = console()
    out.print(f"[bold]{data['title']}[/bold]  ({data['id']})")
    out.print(
        f"{data['company']['name']} · {data['kind']} · {data['status']} · "
        f"made {data['made_on']}"
        + (f" · until {data['effective_until']}" if data["effective_until"] else "")
    )
    out.print(data["statement"], markup=False)
    out.print("\n[bold]Sources[/bold]")
    for s in data["sources"]:
        out.print(f"  {s}", markup=False)
    out.print("\n[bold]History[/bold]")
    out.print(f"  {data['made_on']}  pledge made", markup=False)
    for e in data["history"]:
        out.print(f"  {e['date']}  {e['event']}", markup=False)
    out.print(f"\n[bold]Flags[/bold] ({len(data['flags'])}, {len(data['confirmed'])} confirmed)")
    for f in data["flags"]:
        pub = f["article"]["published"]
        out.print(
            f"  #{f['id']} {f['kind']} {f['score']:.2f} [{f['status']}] "
            f"{pub:%Y-%m-%d} {f['article']['title']}",
            markup=False,
        )


COMMANDS = [pledges]
