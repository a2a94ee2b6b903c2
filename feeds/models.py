"""Feed tables: Feed (a subscription and its health), Article, ArticleSource."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def _ts(nullable: bool = True, index: bool = False) -> Column:  # type: ignore[type-arg]
    return Column(DateTime(timezone=True), nullable=nullable, index=index)


class Feed(SQLModel, table=True):
    """A feed the monitor polls, with what it needs for conditional GET and health."""

    __tablename__ = "feeds"

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(unique=True, index=True)
    name: str | None = None
    site_url: str | None = None
    # Folder from OPML (nested folders joined with "/").
    category: str | None = None
    created_at: datetime = Field(sa_column=_ts(nullable=False))
    # Conditional GET validators from the last 200.
    etag: str | None = None
    last_modified: str | None = None
    # Scheduling: the database, not the scheduler, knows what is due.
    interval_seconds: int = 1800
    next_due_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    lease_owner: str | None = None
    lease_until: datetime | None = Field(default=None, sa_column=_ts())
    # Health.
    last_fetch_at: datetime | None = Field(default=None, sa_column=_ts())
    last_success_at: datetime | None = Field(default=None, sa_column=_ts())
    last_status: int | None = None
    consecutive_errors: int = 0
    failing_since: datetime | None = Field(default=None, sa_column=_ts())
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    error_kind: str | None = None
    # Parsed but ill-formed (bozo) with entries recovered.
    degraded_reason: str | None = Field(default=None, sa_column=Column(Text))
    permanent_redirects: int = 0
    # Where those consecutive permanent redirects (301/308) led; the URL moves there
    # once they repeat (see feeds/health.py).
    moved_to: str | None = None
    gone: bool = False
    entry_count: int = 0


class Article(SQLModel, table=True):
    """A news item, stored once however many feeds carry it."""

    __tablename__ = "articles"

    id: int | None = Field(default=None, primary_key=True)
    # Stable dedupe key: entry id, else canonical link, else content hash.
    key: str = Field(unique=True, index=True)
    url: str | None = None
    title: str = ""
    # Sanitised HTML for display; plain text for detection and search.
    summary_html: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    text: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    published_at: datetime | None = Field(default=None, sa_column=_ts(index=True))
    # True when the feed gave no usable date and first_seen_at stands in for it.
    published_estimated: bool = False
    first_seen_at: datetime = Field(sa_column=_ts(nullable=False, index=True))
    updated_at: datetime = Field(sa_column=_ts(nullable=False))
    content_hash: str = ""


class ArticleSource(SQLModel, table=True):
    """Where an article was seen: one row per (article, feed or file)."""

    __tablename__ = "article_sources"
    __table_args__ = (UniqueConstraint("article_id", "source", name="uq_article_source"),)

    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="articles.id", index=True)
    feed_id: int | None = Field(default=None, foreign_key="feeds.id", index=True)
    # Feed URL or local file path the entry came from, and the outlet's title.
    source: str
    outlet: str = ""
    entry_id: str | None = None
    seen_at: datetime = Field(sa_column=_ts(nullable=False))
