"""`pledgewatch flags list|show|review`."""

from __future__ import annotations

from typing import Any

import click
from rich.text import Text

from monitor.cli.app import (
    FORMATS,
    App,
    console,
    emit,
    parse_date,
    pass_app,
    print_hanging,
    print_url,
    text_or_json,
    to_json,
)
from monitor.cli.tables import Col
from monitor.flags.incidents import group_flag_rows
from monitor.flags.review import RESPONSES, ReviewError, review_flag
from monitor.query.filters import FLAG_KINDS, FLAG_STATUSES, FlagFilter
from monitor.query.flags import get_flag, list_flags


@click.group()
def flags() -> None:
    """List, inspect and review flags (possible breaches and rollbacks)."""


def _row(f: dict[str, Any]) -> dict[str, Any]:
    pub = f["article"]["published"]
    best = f["evidence"][0]["sentence"] if f["evidence"] else ""
    return {
        "id": f["id"],
        "date": pub.strftime("%Y-%m-%d") if pub else "",
        "company": f["company"],
        "pledge_id": f["pledge_id"],
        "kind": f["kind"],
        "score": f["score"],
        "status": f["status"],
        "title": f["article"]["title"],
        "url": f["article"]["url"],
        "evidence": best,
    }


LIST_TABLE = [
    Col("id", fixed=True, right=True),
    Col("date", fixed=True),
    Col("kind", fixed=True),
    Col("score", fixed=True),
    Col("status", fixed=True),
    Col("company"),
    Col("pledge_id", second=True),
    Col("title", second=True),
]
LIST_COLUMNS = ["id", "date", "company", "pledge_id", "kind", "score", "status", "title"]
# `incident` is not a flag id: `flags show` takes one of `flags` instead.
GROUP_TABLE = [
    Col("incident", fixed=True, right=True),
    Col("date", fixed=True),
    Col("kind", fixed=True),
    Col("best_score", fixed=True, header="best"),
    Col("status", fixed=True),
    Col("flags", fixed=True),
    Col("company"),
    Col("sources", second=True, labelled=True),
    Col("pledge_id", second=True),
    Col("title", second=True),
]
GROUP_COLUMNS = [
    "incident",
    "date",
    "company",
    "pledge_id",
    "kind",
    "best_score",
    "sources",
    "status",
    "flags",
    "title",
    "outlets",
]


@flags.command("list")
@click.option("--pledge", "pledge_id", metavar="ID", help="Only this pledge.")
@click.option("--company", metavar="NAME", help="Company name or alias.")
@click.option("--kind", type=click.Choice(FLAG_KINDS))
@click.option("--status", type=click.Choice(FLAG_STATUSES))
@click.option("--since", metavar="DATE", help="Articles published on or after YYYY-MM-DD.")
@click.option("--limit", type=click.IntRange(min=1), help="At most N flags (table default 50).")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.option(
    "--group",
    is_flag=True,
    help="One line per incident (a story across outlets): sources and best score.",
)
@pass_app
def list_(
    app: App,
    pledge_id: str | None,
    company: str | None,
    kind: str | None,
    status: str | None,
    since: str | None,
    limit: int | None,
    fmt: str,
    group: bool,
) -> None:
    """List flags, newest article first; json and csv list every match unless --limit."""
    if limit is None and fmt == "table":
        limit = 50
    filt = FlagFilter(
        pledge=pledge_id,
        company=company,
        kind=kind,
        status=status,
        since=parse_date(since, "--since"),
        limit=None if group else limit,
    )
    with app.reader().session() as session:
        rows = list_flags(session, filt)
    if group:
        _emit_incidents(group_flag_rows(rows)[:limit], fmt)
        return
    if fmt == "json":
        emit(rows, [], fmt)
        return
    emit(
        [_row(f) for f in rows],
        LIST_TABLE if fmt == "table" else [*LIST_COLUMNS, "url", "evidence"],
        fmt,
        title="Flags",
    )


def _emit_incidents(incidents: list[dict[str, Any]], fmt: str) -> None:
    rows = [
        {
            **i,
            "incident": i["incident_id"],
            "date": i["last"].strftime("%Y-%m-%d") if i["last"] else "",
            "best_score": i["score"],
            "flags": ",".join(str(n) for n in i["flag_ids"]),
        }
        for i in incidents
    ]
    emit(
        rows,
        GROUP_TABLE if fmt == "table" else GROUP_COLUMNS,
        fmt,
        title="Incidents",
        json_rows=incidents,
    )


def _highlight(ev: dict[str, Any]) -> Text:
    text = Text(ev["sentence"])
    styles = {
        "company": "bold cyan",
        "subject": "bold magenta",
        "scope": "bold yellow",
        "breach": "bold red",
        "rollback": "bold red",
        "denial": "italic green",
        "commitment": "underline",
    }
    for span in ev.get("spans", []):
        text.stylize(styles.get(span["role"], "bold"), span["start"], span["end"])
    return text


@flags.command()
@click.argument("flag_id", type=int)
@text_or_json
@pass_app
def show(app: App, flag_id: int, fmt: str) -> None:
    """Show a flag: score, reasons, evidence sentences and reviews."""
    with app.reader().session() as session:
        f = get_flag(session, flag_id)
    if f is None:
        raise click.ClickException(f"no flag with id {flag_id} (see `pledgewatch flags list`)")
    if fmt == "json":
        click.echo(to_json(f))
        return
    out = console()
    art = f["article"]
    print_hanging(
        out,
        "",
        Text(
            f"Flag #{f['id']}: possible {f['kind']} of {f['pledge_id']} ({f['company']})",
            style="bold",
        ),
    )
    out.print(
        Text(
            f"score {f['score']:.2f} · status {f['status']}"
            + (f" · company response: {f['response']}" if f["response"] else "")
            + (f" ({f['response_source']})" if f.get("response_source") else "")
        )
    )
    print_hanging(out, "", Text(f"{art['title']}", style="bold"))
    pub = art["published"]
    out.print(Text(f"{pub:%Y-%m-%d}" if pub else "no date"))
    if art["url"]:
        print_url(out, art["url"])
    for s in art["sources"]:
        out.print(Text(f"  seen in {s['outlet'] or s['source']}"))
    out.print(Text("Reasons", style="bold"))
    for r in f["reasons"]:
        print_hanging(out, "  - ", Text(r))
    out.print(Text("Evidence", style="bold"))
    for ev in f["evidence"]:
        print_hanging(out, "  > ", _highlight(ev))
    if f["reviews"]:
        out.print(Text("Reviews", style="bold"))
        for r in f["reviews"]:
            out.print(
                Text(
                    f"  {r['created_at']:%Y-%m-%d %H:%M} {r['decision']} by "
                    f"{r['reviewer'] or 'unknown'}: {r['note']}"
                )
            )


REVIEW_EXAMPLES = """\b
Examples:
  pledgewatch flags review 12 --confirm --note "tribunal filing confirms it"
  pledgewatch flags review 12 --response denied --response-source URL"""


@flags.command(epilog=REVIEW_EXAMPLES)
@click.argument("flag_id", type=int)
@click.option("--confirm", is_flag=True, help="It is a breach or rollback.")
@click.option("--dismiss", is_flag=True, help="It is not.")
@click.option("--reopen", is_flag=True, help="Back to open.")
@click.option("--note", default="", help="Why (kept in the review log).")
@click.option("--reviewer", envvar="PLEDGEWATCH_REVIEWER", default="", help="Who decides.")
@click.option(
    "--response",
    type=click.Choice(RESPONSES),
    help="The company's reported response to the allegation.",
)
@click.option("--response-source", metavar="URL", help="Where that response was reported.")
@click.option(
    "--expected-version",
    type=int,
    metavar="N",
    help="Refuse if the flag's review version is no longer N (someone reviewed it).",
)
@pass_app
def review(
    app: App,
    flag_id: int,
    confirm: bool,
    dismiss: bool,
    reopen: bool,
    note: str,
    reviewer: str,
    response: str | None,
    response_source: str | None,
    expected_version: int | None,
) -> None:
    """Record a review decision (append-only); the flag's status becomes the decision.

    With --response (and --response-source) the company's reply is recorded too, or alone.
    """
    # Separate flags, not one shared destination, so that two decisions are refused
    # instead of the last one silently winning.
    given = [
        d for d, on in (("confirmed", confirm), ("dismissed", dismiss), ("open", reopen)) if on
    ]
    if len(given) > 1:
        raise click.UsageError("--confirm, --dismiss and --reopen are mutually exclusive")
    decision = given[0] if given else None
    if decision is None and response is None:
        raise click.UsageError("give one of --confirm, --dismiss or --reopen, or --response")
    import getpass

    reviewer = reviewer or getpass.getuser()
    try:
        with app.reader().write() as session:
            review_flag(
                session=session,
                flag_id=flag_id,
                decision=decision,
                note=note,
                reviewer=reviewer,
                response=response,
                response_source=response_source,
                expected_version=expected_version,
            )
    except ReviewError as exc:
        raise click.ClickException(str(exc)) from exc
    done = [d for d in (decision, f"response {response}" if response else None) if d]
    click.echo(f"flag #{flag_id} {', '.join(done)}")


COMMANDS = [flags]
