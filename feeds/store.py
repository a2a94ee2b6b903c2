"""Storing entries as articles: batched upsert with dedupe across feeds."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from feeds.models import Article, ArticleSource, Feed
from feeds.parse import Entry

BATCH = 500


@dataclass
class UpsertResult:
    """Articles that are new or whose text changed (both need detection)."""

    new: list[Article] = field(default_factory=list)
    updated: list[Article] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> list[Article]:
        return self.new + self.updated


def upsert_articles(
    *,
    session: Session,
    entries: Sequence[Entry],
    source: str,
    outlet: str = "",
    feed: Feed | None = None,
    now: datetime | None = None,
) -> UpsertResult:
    """Store entries once by key, record where each was seen; flush, do not commit."""
    now = now or datetime.now(UTC)
    result = UpsertResult()
    # Later duplicates of a key within one batch update the first (duplicate GUIDs).
    by_key: dict[str, Entry] = {}
    for e in entries:
        by_key[e.key] = e
    keys = list(by_key)
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        existing = {
            a.key: a for a in session.exec(select(Article).where(col(Article.key).in_(chunk))).all()
        }
        touched: list[Article] = []
        for key in chunk:
            e = by_key[key]
            art = existing.get(key)
            if art is None:
                art = Article(
                    key=key,
                    url=e.link,
                    title=e.title,
                    summary_html=e.summary_html,
                    text=e.text,
                    published_at=e.published or now,
                    published_estimated=e.published is None,
                    first_seen_at=now,
                    updated_at=now,
                    content_hash=e.content_hash,
                )
                session.add(art)
                result.new.append(art)
            elif art.content_hash != e.content_hash:
                art.title = e.title
                art.summary_html = e.summary_html
                art.text = e.text
                art.url = e.link or art.url
                if e.published is not None:
                    art.published_at = e.published
                    art.published_estimated = False
                art.content_hash = e.content_hash
                art.updated_at = now
                session.add(art)
                result.updated.append(art)
            else:
                result.unchanged += 1
            touched.append(art)
        session.flush()
        ids = [a.id for a in touched]
        have = set(
            session.exec(
                select(ArticleSource.article_id).where(
                    col(ArticleSource.article_id).in_(ids), ArticleSource.source == source
                )
            ).all()
        )
        for art in touched:
            if art.id not in have:
                assert art.id is not None
                session.add(
                    ArticleSource(article_id=art.id, feed_id=feed.id if feed else None,
                                  source=source, outlet=outlet,
                                  entry_id=by_key[art.key].entry_id, seen_at=now)
                )
        session.flush()
    return result
