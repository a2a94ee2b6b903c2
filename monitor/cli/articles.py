"""`pledgewatch articles show ID`: one stored article with the flags it raised."""

from __future__ import annotations

import click
from rich.text import Text

from monitor.cli.app import App, console, pass_app, print_url, text_or_json, to_json
from monitor.query.articles import get_article

TEXT_PREVIEW = 1200


@click.group()
def articles() -> None:
    """Open stored articles (the ids that `search` prints)."""


@articles.command()
@click.argument("article_id", type=int)
@text_or_json
@pass_app
def show(app: App, article_id: int, fmt: str) -> None:
    """Show an article: title, date, link, where it was seen, its flags and its text."""
    with app.reader().session() as session:
        data = get_article(session, article_id)
    if data is None:
        raise click.ClickException(
            f"no article with id {article_id} (search for one: `pledgewatch search WORDS`)"
        )
    if fmt == "json":
        click.echo(to_json(data))
        return
    out = console()
    out.print(Text(f"Article {data['id']}: {data['title'] or '(untitled)'}", style="bold"))
    pub = data["published"]
    line = f"{pub:%Y-%m-%d}" if pub else "no date"
    if data["published_estimated"]:
        line += " (date estimated)"
    out.print(Text(line if data["url"] else f"{line} · no link"))
    if data["url"]:
        print_url(out, data["url"])
    for s in data["sources"]:
        out.print(Text(f"  seen in {s['outlet'] or s['source']}"))
    out.print(Text(f"\nFlags ({len(data['flags'])})", style="bold"))
    if not data["flags"]:
        out.print(Text("  none: no breach or rollback of a pledge was found in it"))
    for f in data["flags"]:
        gone = "" if f["active"] else " (no longer found)"
        out.print(
            Text(
                f"  flag #{f['id']} {f['kind']} {f['score']:.2f} [{f['status']}]{gone} "
                f"{f['pledge_id']}"
            )
        )
    text = data["text"]
    out.print(Text("\nText", style="bold"))
    shown = text[:TEXT_PREVIEW] + ("…" if len(text) > TEXT_PREVIEW else "")
    out.print(Text(shown or "(none kept)"))


COMMANDS = [articles]
