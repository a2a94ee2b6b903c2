"""`pledgewatch pledges list|show`."""

from __future__ import annotations

import click
from rich.text import Text

from monitor.cli.app import FORMATS, App, console, emit, pass_app, text_or_json, to_json
from monitor.query.filters import PLEDGE_STATUSES
from monitor.query.pledges import get_pledge, list_pledges

_MARK = {"made": "●", "event": "◆", "ends": "■", "incident": "▲"}


@click.group()
def pledges() -> None:
    """Query the pledges in the database."""


@pledges.command("list")
@click.option("--company", help="Company name or alias.")
@click.option("--status", type=click.Choice(PLEDGE_STATUSES))
@click.option("--retired", is_flag=True, help="Include pledges removed from the catalogue.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def list_(app: App, company: str | None, status: str | None, retired: bool, fmt: str) -> None:
    """List pledges with their status and open and confirmed flag counts."""
    with app.db.session() as session:
        rows = list_pledges(session, company=company, status=status, include_retired=retired)
    emit(
        rows,
        ["id", "company", "kind", "status", "made_on", "open_flags", "confirmed_flags", "title"],
        fmt,
        title="Pledges",
    )


@pledges.command()
@click.argument("pledge_id")
@text_or_json
@pass_app
def show(app: App, pledge_id: str, fmt: str) -> None:
    """Show one pledge: statement, sources, timeline, confirmed breaches and flags."""
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
    out.print(Text(data["title"], style="bold").append(f"  ({data['id']})", style=""))
    out.print(
        Text(
            f"{data['company']['name']} · {data['kind']} · {data['status']} · "
            f"made {data['made_on']}"
            + (f" · until {data['effective_until']}" if data["effective_until"] else "")
            + (" · retired from the catalogue" if data["retired"] else "")
        )
    )
    out.print(Text(data["statement"]))
    out.print(Text("\nSources", style="bold"))
    for s in data["sources"]:
        out.print(Text(f"  {s}"))
    out.print(Text("\nTimeline", style="bold"))
    for e in data["timeline"]:
        style = "bold red" if e["status"] == "confirmed" else ""
        line = Text(f"  {e['date']}  {_MARK[e['kind']]} ").append(e["text"], style=style)
        if e["flag_ids"]:
            line.append(f"  (flags {', '.join(f'#{i}' for i in e['flag_ids'])})")
        out.print(line)
    confirmed = data["confirmed"]
    out.print(Text(f"\nConfirmed breaches and rollbacks ({len(confirmed)})", style="bold"))
    if not confirmed:
        out.print(Text("  none confirmed"))
    for f in confirmed:
        pub = f["article"]["published"]
        line = Text(f"  #{f['id']} {f['kind']} {pub:%Y-%m-%d} {f['article']['title']}")
        if f["response"]:
            line.append(f" · company response: {f['response']}")
            if f["response_source"]:
                line.append(f" ({f['response_source']})")
        out.print(line)
    open_n = sum(1 for f in data["flags"] if f["status"] == "open")
    out.print(Text(f"\nFlags ({len(data['flags'])}, {open_n} open)", style="bold"))
    for f in data["flags"]:
        pub = f["article"]["published"]
        out.print(
            Text(
                f"  #{f['id']} {f['kind']} {f['score']:.2f} [{f['status']}] "
                f"{pub:%Y-%m-%d} {f['article']['title']}"
            )
        )


COMMANDS = [pledges]
