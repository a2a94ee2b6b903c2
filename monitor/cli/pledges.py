"""`pledgewatch pledges list|show`."""

from __future__ import annotations

import click
from rich.text import Text

from monitor.cli.app import FORMATS, App, console, emit, pass_app, text_or_json, to_json
from monitor.cli.tables import Col
from monitor.query.filters import PLEDGE_STATUSES
from monitor.query.pledges import get_pledge, list_pledges

# Counts are of stories (a claim reported by several outlets is one story).
LIST_TABLE = [
    Col("id", fixed=True),
    Col("status", fixed=True),
    Col("made_on", fixed=True),
    Col("company", second=True),
    Col("open_stories", second=True, header="open", labelled=True, right=True),
    Col("confirmed_breaches", second=True, header="breaches", labelled=True, right=True),
    Col("confirmed_rollbacks", second=True, header="rollbacks", labelled=True, right=True),
    Col("kind", second=True),
    Col("title", second=True),
]
LIST_COLUMNS = [
    "id",
    "company",
    "kind",
    "status",
    "made_on",
    "open_stories",
    "confirmed_breaches",
    "confirmed_rollbacks",
    "open_flags",
    "confirmed_flags",
    "title",
]
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
    """List pledges with their status and their open and confirmed stories."""
    with app.reader().session() as session:
        rows = list_pledges(session, company=company, status=status, include_retired=retired)
    emit(rows, LIST_TABLE if fmt == "table" else LIST_COLUMNS, fmt, title="Pledges")


@pledges.command()
@click.argument("pledge_id")
@text_or_json
@pass_app
def show(app: App, pledge_id: str, fmt: str) -> None:
    """Show one pledge: statement, sources, timeline, confirmed breaches and flags."""
    with app.reader().session() as session:
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
    sc = data["story_counts"]
    out.print(
        Text(
            f"\nConfirmed breaches and rollbacks: {stories(len(data['confirmed_stories']))} "
            f"({plural(sc['confirmed_breaches'], 'breach', 'breaches')}, "
            f"{plural(sc['confirmed_rollbacks'], 'rollback', 'rollbacks')})"
            f" · {stories(sc['open_stories'])} open",
            style="bold",
        )
    )
    if not data["confirmed_stories"]:
        out.print(Text("  none confirmed"))
    for story in data["confirmed_stories"]:
        first = story["first_published"]
        out.print(Text(f"  {story['kind']} {first:%Y-%m-%d} {story['title']}"))
        for f in story["flags"]:
            line = Text(f"    flag #{f['id']} {f['article']['title']}")
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


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def stories(n: int) -> str:
    return plural(n, "story", "stories")


COMMANDS = [pledges]
