"""`pledgewatch companies list|show`."""

from __future__ import annotations

import click
from rich.text import Text

from monitor.cli.app import FORMATS, App, console, emit, pass_app, text_or_json, to_json
from monitor.cli.tables import Col
from monitor.query.companies import get_company, list_companies

# Counts are of stories (a claim reported by several outlets is one story).
LIST_TABLE = [
    Col("id", fixed=True, right=True),
    Col("pledge_count", fixed=True, header="pledges", right=True),
    Col("open_stories", fixed=True, header="open", right=True),
    Col("confirmed_breaches", fixed=True, header="breaches", right=True),
    Col("confirmed_rollbacks", fixed=True, header="rollbacks", right=True),
    Col("name"),
    Col("aliases", second=True, labelled=True, header="aka"),
    Col("products", second=True, labelled=True),
]
LIST_COLUMNS = [
    "id",
    "name",
    "aliases",
    "products",
    "pledge_count",
    "open_stories",
    "confirmed_breaches",
    "confirmed_rollbacks",
    "open_flags",
    "confirmed_flags",
    "incident_count",
]


@click.group()
def companies() -> None:
    """Query companies: their names, products, pledges and incidents."""


@companies.command("list")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def list_(app: App, fmt: str) -> None:
    """List companies with their pledges and their open and confirmed stories."""
    with app.reader().session() as session:
        rows = list_companies(session)
    emit(rows, LIST_TABLE if fmt == "table" else LIST_COLUMNS, fmt, title="Companies")


@companies.command()
@click.argument("company")
@text_or_json
@pass_app
def show(app: App, company: str, fmt: str) -> None:
    """Show a company (by id, name or alias): aliases, products, pledges, incidents."""
    with app.reader().session() as session:
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
                f"made {p['made_on']} · stories: {p['open_stories']} open, "
                f"{p['confirmed_breaches']} confirmed breaches, "
                f"{p['confirmed_rollbacks']} confirmed rollbacks · {p['title']}"
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
