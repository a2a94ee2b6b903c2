"""Rendering a digest: the Subject line and the Jinja2 templates in monitor/templates/.

The HTML template is rendered with autoescape on, so every value (feed text included) is
escaped; the text template gets values already collapsed to one line by build_digest.
"""

from __future__ import annotations

from functools import cache

import jinja2

from monitor.digest.content import DigestContent
from monitor.digest.text import one_line


def subject(content: DigestContent) -> str:
    """`pledgewatch 2026-W47: 3 new stories (2 breaches, 1 rollback), 1 confirmed`."""
    c = content.counts
    parts: list[str] = []
    if c.incidents:
        kinds = []
        if c.breaches:
            kinds.append(_plural(c.breaches, "breach", "breaches"))
        if c.rollbacks:
            kinds.append(_plural(c.rollbacks, "rollback", "rollbacks"))
        parts.append(_plural(c.incidents, "new story", "new stories") + f" ({', '.join(kinds)})")
    if c.confirmed:
        parts.append(f"{c.confirmed} confirmed")
    if c.dismissed:
        parts.append(f"{c.dismissed} dismissed")
    if c.pledge_changes:
        parts.append(_plural(c.pledge_changes, "pledge changed", "pledges changed"))
    if not parts:
        parts.append("nothing new")
    if c.feeds:
        parts.append(_plural(c.feeds, "feed not heard from", "feeds not heard from"))
    return one_line(f"pledgewatch {content.period_label}: {', '.join(parts)}")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


@cache
def _environment(autoescape: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("monitor", "templates"),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["plural"] = lambda n, one, many: _plural(int(n), one, many)
    return env


def render_text(content: DigestContent) -> str:
    """The text/plain part."""
    return (
        _environment(False)
        .get_template("digest.txt.j2")
        .render(d=content, subject=subject(content))
    )


def render_html(content: DigestContent) -> str:
    """The HTML part: inline CSS, phone-width friendly, dark-mode safe, all text escaped."""
    return (
        _environment(True)
        .get_template("digest.html.j2")
        .render(d=content, subject=subject(content))
    )
