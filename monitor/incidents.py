"""Grouping flags into incidents: one story about one pledge across outlets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel import Session

from feeds.models import Article
from monitor.models import Flag, Incident


def assign_incidents(
    *, session: Session, flags: Sequence[Flag], now: datetime | None = None
) -> None:
    """Give each new flag an incident (its own, until near-duplicate grouping lands)."""
    now = now or datetime.now(UTC)
    for flag in flags:
        if flag.incident_id is not None:
            continue
        article = session.get(Article, flag.article_id)
        title = article.title if article is not None else ""
        incident = Incident(pledge_id=flag.pledge_id, title=title,
                            first_seen_at=now, last_seen_at=now)
        session.add(incident)
        session.flush()
        flag.incident_id = incident.id
        session.add(flag)
    session.flush()
