"""`pledgewatch search TEXT`: full-text search over stored articles."""

from __future__ import annotations

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
)
from monitor.query.search import count_articles, search_articles


def _marked(text: str, marks: list[tuple[int, int]]) -> Text:
    out = Text(text)
    for start, end in marks:
        out.stylize("bold yellow", start, end)
    return out


SYNTAX = """\b
Query syntax:
  rekognition police          every word must appear
  '"facial recognition"'      words together, in this order (quote the quotes)
  police OR military          either word
  recogni*                    words beginning so
Anything else is searched as plain words."""


@click.command(epilog=SYNTAX)
@click.argument("words", nargs=-1, required=True)
@click.option("--company", metavar="NAME", help="Only articles naming this company.")
@click.option("--pledge", "pledge_id", metavar="ID", help="Only articles flagged for a pledge.")
@click.option("--since", metavar="DATE", help="Published on or after YYYY-MM-DD.")
@click.option("--until", metavar="DATE", help="Published on or before YYYY-MM-DD.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@pass_app
def search(
    app: App,
    words: tuple[str, ...],
    company: str | None,
    pledge_id: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    fmt: str,
) -> None:
    """Search stored articles (title and text) for WORDS, best match first.

    Every word is required; "quoted phrases", OR and prefix* work on SQLite (FTS5) and
    PostgreSQL (web-search syntax); anything else is taken as plain words. Open a match
    with `pledgewatch articles show ID`.
    """
    text = " ".join(words)
    since_d, until_d = parse_date(since, "--since"), parse_date(until, "--until")
    with app.reader().session() as session:
        rows = search_articles(
            session,
            text,
            company=company,
            pledge=pledge_id,
            since=since_d,
            until=until_d,
            limit=limit,
        )
        total = count_articles(
            session, text, company=company, pledge=pledge_id, since=since_d, until=until_d
        )
    if fmt in ("json", "csv"):
        flat = [
            {**r, "flags": [f"#{f['id']} {f['pledge_id']} {f['status']}" for f in r["flags"]]}
            for r in rows
        ]
        emit(flat, ["id", "published", "title", "url", "snippet", "flags"], fmt, json_rows=rows)
        return
    out = console()
    out.print(Text(f"{total} article(s) match; showing {len(rows)}", style="bold"))
    for r in rows:
        day = r["published"].strftime("%Y-%m-%d") if r["published"] else "?"
        out.print()
        print_hanging(out, f"article {r['id']} · {day} ", _marked(r["title"], r["title_marks"]))
        if r["url"]:
            print_url(out, r["url"], style="dim")
        print_hanging(out, "  ", _marked(r["snippet"], r["snippet_marks"]))
        for f in r["flags"]:
            flag = f"flag #{f['id']} {f['kind']} of {f['pledge_id']} [{f['status']}]"
            print_hanging(out, "  ", Text(flag))
    if rows:
        out.print(Text("\nopen one with `pledgewatch articles show ID`", style="dim"))


COMMANDS = [search]
