"""Rendering a digest: the Subject line, the summary, and the Jinja2 templates in
monitor/templates/.

The HTML template is rendered with autoescape on, so every value (feed text included) is
escaped; the text template gets values already collapsed to one line by build_digest and
lays them out at 78 columns with the filters below.
"""

from __future__ import annotations

import textwrap
from functools import cache

import jinja2

from monitor.digest.text import one_line
from monitor.digest.views import DigestContent

# The plain-text part's width: lines a terminal or mail client shows without rewrapping.
WIDTH = 78


def subject(content: DigestContent) -> str:
    """`pledgewatch 2026-W47: 3 new stories (2 breaches, 1 rollback), 1 confirmed`."""
    c = content.counts
    parts: list[str] = []
    if c.incidents:
        parts.append(
            _plural(c.incidents, "new story", "new stories")
            + _kinds(c.breaches, c.rollbacks, zeros=False)
        )
    if c.older:
        parts.append(
            _plural(c.older, "older report", "older reports")
            + _kinds(c.older_breaches, c.older_rollbacks, zeros=False)
        )
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


def summary(content: DigestContent) -> str:
    """The sentence under the title: stories, then reviews, then pledges, all counted."""
    c = content.counts
    if c.incidents:
        news = _plural(c.incidents, "new story", "new stories") + _kinds(c.breaches, c.rollbacks)
        news += " from " + _plural(c.flags, "new flag", "new flags")
    else:
        news = "No new stories"
    if c.older:
        older = _kinds(c.older_breaches, c.older_rollbacks)
        news += f"; {_plural(c.older, 'older report', 'older reports')}{older} found this week"
    if c.already_dismissed:
        news += (
            f"; {_plural(c.already_dismissed, 'story', 'stories')} found this week "
            "and already dismissed (not listed)"
        )
    reviewed = (
        f"Reviewed this week: {_plural(c.confirmed, 'story', 'stories')} confirmed, "
        f"{c.dismissed} dismissed"
    )
    changed = _plural(c.pledge_changes, "pledge changed", "pledges changed")
    return f"{news}. {reviewed}. {changed[0].upper()}{changed[1:]}."


def _kinds(breaches: int, rollbacks: int, *, zeros: bool = True) -> str:
    """` (1 breach, 2 rollbacks)`; without `zeros`, a kind with none is left out."""
    kinds = [
        _plural(n, one, many)
        for n, one, many in ((breaches, "breach", "breaches"), (rollbacks, "rollback", "rollbacks"))
        if n or zeros
    ]
    return f" ({', '.join(kinds)})" if kinds else ""


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def wrap(text: str, indent: str = "", first: str | None = None, width: int = WIDTH) -> str:
    """`text` filled to `width` columns; every line starts with `indent` (the first with
    `first` when given). Words longer than a line are cut, so nothing runs past it."""
    wrapper = textwrap.TextWrapper(
        width=width,
        initial_indent=indent if first is None else first,
        subsequent_indent=indent,
        break_on_hyphens=False,
    )
    return "\n".join(wrapper.wrap(text)) or (indent if first is None else first).rstrip()


def cut(text: str, width: int = WIDTH) -> str:
    """One line of at most `width` characters, cut at a word with an ellipsis if longer."""
    if len(text) <= width:
        return text
    head = text[: width - 1]
    space = head.rfind(" ")
    if space > width // 2:  # cut at a word unless that throws away half the line
        head = head[:space]
    return head.rstrip(" ,;:-") + "…"


def glance_line(label: str, score: float, company: str, title: str, width: int = WIDTH) -> str:
    """`BREACH    0.95 Amazon: headline…`: one story in one line of the glance block."""
    return cut(f"{label.upper():<9} {score:.2f} {company}: {title}", width)


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
    env.filters["wrap"] = wrap
    env.globals["glance_line"] = glance_line
    return env


def render_text(content: DigestContent) -> str:
    """The text/plain part: 78 columns, quoted evidence indented, each URL on its own line."""
    return (
        _environment(False)
        .get_template("digest.txt.j2")
        .render(d=content, subject=subject(content), summary=summary(content))
    )


def render_html(content: DigestContent) -> str:
    """The HTML part: inline CSS, phone-width friendly, dark-mode safe, all text escaped."""
    return (
        _environment(True)
        .get_template("digest.html.j2")
        .render(d=content, subject=subject(content), summary=summary(content))
    )
