"""Rendering pages: one autoescaping Jinja2 environment, helpers for marks and links."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi.responses import HTMLResponse

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "web"
# Pages load nothing but our stylesheet and scripts (keyboard shortcuts, which are extras:
# every action is a plain form); forms post only to us.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        "form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def safe_href(url: str | None) -> str | None:
    """A URL fit for an href: http(s) only (no javascript:, data: or relative tricks)."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        return None
    return url


def segments(text: str, marks: Sequence[Sequence[int]]) -> list[tuple[str, bool]]:
    """Text cut into (piece, marked) parts from [start, end) offsets."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in sorted((int(m[0]), int(m[1])) for m in marks):
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def evidence_parts(ev: dict[str, Any]) -> list[tuple[str, str | None]]:
    """An evidence sentence cut into (piece, role) parts; role None outside matches."""
    text = str(ev.get("sentence", ""))
    # Where spans overlap, the longest from a start wins, and the company over other roles.
    spans = sorted(
        (
            (int(s["start"]), int(s["end"]), str(s.get("role", "")))
            for s in ev.get("spans", [])
            if "start" in s and "end" in s
        ),
        key=lambda s: (s[0], -s[1], s[2] != "company"),
    )
    out: list[tuple[str, str | None]] = []
    pos = 0
    for start, end, role in spans:
        start, end = max(start, pos), min(end, len(text))
        if end <= start:
            continue
        if start > pos:
            out.append((text[pos:start], None))
        out.append((text[start:end], role))
        pos = end
    if pos < len(text):
        out.append((text[pos:], None))
    return out


# Evidence roles as the legend names them (the detector's role -> words for readers).
ROLE_LABELS = {
    "company": "company",
    "subject": "pledge subject",
    "scope": "scope",
    "breach": "breach language",
    "weaken": "rollback language",
    "reverse": "resumption",
    "denial": "denial",
    "commitment": "commitment word",
}


def day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d")


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    # `.html.j2` does not end in .html, so autoescaping is switched on explicitly.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["href"] = safe_href
    env.filters["day"] = day
    env.globals["segments"] = segments
    env.globals["evidence_parts"] = evidence_parts
    env.globals["role_labels"] = ROLE_LABELS
    return env


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page as an HTML response with the security headers."""
    html = environment().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
