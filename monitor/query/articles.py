"""One stored article as readers see it: where it was seen, its text and the flags it raised."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from feeds.models import Article
from monitor.query.filters import FlagFilter
from monitor.query.flags import article_sources, list_flags
from monitor.store.db import as_utc


def get_article(session: Session, article_id: int) -> dict[str, Any] | None:
    """An article with its sources and every flag it raised (inactive ones too), or None."""
    a = session.get(Article, article_id)
    if a is None or a.id is None:
        return None
    return {
        "id": a.id,
        "title": a.title,
        "url": a.url,
        "published": as_utc(a.published_at),
        "published_estimated": a.published_estimated,
        "first_seen_at": as_utc(a.first_seen_at),
        "text": a.text,
        "sources": article_sources(session, [a.id]).get(a.id, []),
        "flags": list_flags(session, FlagFilter(article=a.id, include_inactive=True)),
    }
