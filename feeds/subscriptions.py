"""Subscriptions: adding, finding, listing and removing Feed rows (in the caller's session).

URLs reach these functions already checked (feeds.addresses.check_feed_url); removing a
feed keeps its articles, which only lose the link to the feed row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from feeds.errors import FeedError
from feeds.health import health_state
from feeds.models import ArticleSource, Feed
from feeds.opml import OpmlFeed
from feeds.redact import redact_text, redact_url


class FeedExistsError(FeedError):
    kind = "exists"


@dataclass
class ImportReport:
    """What importing a list of subscriptions did."""

    added: list[Feed] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def get_feed_by_url(session: Session, url: str) -> Feed | None:
    return session.exec(select(Feed).where(Feed.url == url)).first()


def _new_feed(
    *,
    url: str,
    name: str | None,
    category: str | None,
    site_url: str | None,
    interval_seconds: int,
    now: datetime,
) -> Feed:
    return Feed(
        url=url,
        name=name or None,
        category=category or None,
        site_url=site_url or None,
        created_at=now,
        interval_seconds=interval_seconds,
        next_due_at=None,
    )


def add_feed(
    session: Session,
    *,
    url: str,
    name: str | None = None,
    category: str | None = None,
    site_url: str | None = None,
    interval_seconds: int = 1800,
    now: datetime | None = None,
) -> Feed:
    """Subscribe to a (checked, normalised) URL; due at once. Raises FeedExistsError."""
    existing = get_feed_by_url(session, url)
    if existing is not None:
        raise FeedExistsError(f"already subscribed as feed {existing.id}", url=url)
    feed = _new_feed(
        url=url,
        name=name,
        category=category,
        site_url=site_url,
        interval_seconds=interval_seconds,
        now=now or datetime.now(UTC),
    )
    session.add(feed)
    session.flush()
    return feed


def import_feeds(
    session: Session,
    feeds: list[OpmlFeed],
    *,
    interval_seconds: int = 1800,
    now: datetime | None = None,
) -> ImportReport:
    """Subscribe to each (checked) feed not yet subscribed; existing ones are left alone.

    One query per 500 URLs finds those already subscribed and one flush adds the rest:
    a lookup and a flush per feed made a 10,000-feed import crawl.
    """
    now = now or datetime.now(UTC)
    report = ImportReport()
    urls = list(dict.fromkeys(f.url for f in feeds))
    known: set[str] = set()
    for start in range(0, len(urls), 500):
        chunk = urls[start : start + 500]
        known.update(session.exec(select(Feed.url).where(col(Feed.url).in_(chunk))).all())
    for f in feeds:
        if f.url in known:
            report.existing.append(f.url)
            continue
        known.add(f.url)  # the same URL twice in one list is added once
        feed = _new_feed(
            url=f.url,
            name=f.title,
            category=f.category,
            site_url=f.site_url,
            interval_seconds=interval_seconds,
            now=now,
        )
        session.add(feed)
        report.added.append(feed)
    session.flush()
    return report


def find_feed(session: Session, id_or_url: str) -> Feed | None:
    """A feed by its id or its exact URL."""
    text = id_or_url.strip()
    if text.isdigit():
        return session.get(Feed, int(text))
    return get_feed_by_url(session, text)


def remove_feed(session: Session, feed: Feed) -> None:
    """Unsubscribe; the articles stay, their source rows lose the feed id."""
    session.execute(
        update(ArticleSource).where(col(ArticleSource.feed_id) == feed.id).values(feed_id=None)
    )
    session.delete(feed)
    session.flush()


def unknown_feed_ids(session: Session, feed_ids: list[int]) -> list[int]:
    """Those of `feed_ids` that name no feed."""
    known = set(session.exec(select(Feed.id).where(col(Feed.id).in_(feed_ids))).all())
    return [i for i in feed_ids if i not in known]


def list_feeds(session: Session) -> list[Feed]:
    return list(session.exec(select(Feed).order_by(col(Feed.id))).all())


def feed_health(feed: Feed) -> dict[str, Any]:
    """The health of one feed as a plain dict (CLI table, JSON, API), secrets masked."""
    return {
        "id": feed.id,
        "name": feed.name or "",
        "url": redact_url(feed.url),
        "category": feed.category or "",
        "state": health_state(feed),
        "last_fetch": _as_utc(feed.last_fetch_at),
        "last_success": _as_utc(feed.last_success_at),
        "http_status": feed.last_status,
        "consecutive_errors": feed.consecutive_errors,
        "failing_since": _as_utc(feed.failing_since),
        "next_due": _as_utc(feed.next_due_at),
        "entries": feed.entry_count,
        "error_kind": feed.error_kind or "",
        "last_error": redact_text(feed.last_error or ""),
        "degraded": feed.degraded_reason or "",
        "gone": feed.gone,
    }


def to_opml_feeds(feeds: list[Feed], *, include_secrets: bool = False) -> list[OpmlFeed]:
    """Feeds in the shape OPML export takes; credentials in URLs masked unless asked for."""
    show = (lambda url: url) if include_secrets else redact_url
    return [
        OpmlFeed(url=show(f.url), title=f.name or "", site_url=f.site_url, category=f.category)
        for f in feeds
    ]
