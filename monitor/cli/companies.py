"""`pledgewatch companies list|show`."""

from __future__ import annotations

import click
from rich.text import Text

from monitor.cli.app import FORMATS, App, console, emit, pass_app, text_or_json, to_json
from monitor.query.companies import get_company, list_companies


@click.group()
def companies() -> None:
    """Query companies: their names, products, pledges and incidents."""


@companies.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def list_(app: App, fmt: str) -> None:
    """List companies with pledge, flag and incident counts."""
    with app.db.session() as session:
        rows = list_companies(session)
    emit(
        rows,
        [
            "id",
            "name",
            "aliases",
            "products",
            "pledge_count",
            "open_flags",
            "confirmed_flags",
            "incident_count",
        ],
        fmt,
        title="Companies",
    )


@companies.command()
@click.argument("company")
@text_or_json
@pass_app
def show(app: App, company: str, fmt: str) -> None:
    """Show a company (by id, name or alias): aliases, products, pledges, incidents."""
    with app.db.session() as session:
        data = get_company(session, company)
    if data is None:
        raise click.ClickException(f"no company {company!r} (see `pledgewatch companies list`)")
    if fmt == "json":
        click.echo(to_json(data))
        return
    out = console()
    out.print(Text(data["name"], style="bold").append(f"  (#{data['id']})", style=""))
    out.print(Text(f"aliases: {', '.join(data['aliases']) or '-'}"))
    out.print(Text(f"products: {', '.join(data['products']) or '-'}"))
    out.print(Text(f"\nPledges ({len(data['pledges'])})", style="bold"))
    for p in data["pledges"]:
        out.print(
            Text(
                f"  {p['id']} [{p['status']}{', retired' if p['retired'] else ''}] "
                f"made {p['made_on']} · {p['open_flags']} open, "
                f"{p['confirmed_flags']} confirmed · {p['title']}"
            )
        )
    out.print(Text(f"\nIncidents ({data['incident_count']})", style="bold"))
    for i in data["incidents"]:
        day = i["first_published"].strftime("%Y-%m-%d") if i["first_published"] else "?"
        out.print(
            Text(
                f"  #{i['id']} {day} [{i['status']}] {i['pledge_id']} · "
                f"{i['flag_count']} flag(s) · {i['title']}"
            )
        )


COMMANDS = [companies]
