"""Storing entries as articles: batched upsert with dedupe within and across feeds.

An article is stored once by its key (`feeds.parse.entry_key`); every feed or file that
carried it gets one `ArticleSource` row. Entries that share a key inside one feed but
differ in content (a feed reusing a GUID) are all kept: the one matching the stored
article keeps the plain key, each other one gets `<key>#<content hash>`, so a re-poll of
the same feed maps every entry to the same article again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Insert, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from feeds.models import Article, ArticleSource, Feed
from feeds.parse import Entry

BATCH = 500
_ARTICLES: Table = Article.__table__  # type: ignore[attr-defined]
_SOURCES: Table = ArticleSource.__table__  # type: ignore[attr-defined]


@dataclass
class UpsertResult:
    """Articles that are new or whose text changed (both need detection)."""

    new: list[Article] = field(default_factory=list)
    updated: list[Article] = field(default_factory=list)
    unchanged: int = 0
    # Final key -> (article id, entry) for new articles, filled even when `new` is not.
    new_ids: dict[str, tuple[int, Entry]] = field(default_factory=dict)

    @property
    def changed(self) -> list[Article]:
        return self.new + self.updated


def resolve_keys(entries: Sequence[Entry], stored_hash: dict[str, str]) -> dict[str, Entry]:
    """Final key -> entry, keeping every distinct entry that shares a key.

    `stored_hash` maps already-stored keys to their content hash; the entry whose content
    matches keeps the plain key (else the first one does, as an update).
    """
    groups: dict[str, list[Entry]] = {}
    for e in entries:
        group = groups.setdefault(e.key, [])
        if all(g.content_hash != e.content_hash for g in group):
            group.append(e)
    out: dict[str, Entry] = {}
    for key, group in groups.items():
        if len(group) == 1:
            out[key] = group[0]
            continue
        known = stored_hash.get(key)
        primary = next((e for e in group if e.content_hash == known), group[0])
        out[key] = primary
        for e in group:
            if e is not primary:
                out[f"{key}#{e.content_hash}"] = e
    return out


def _alternate_keys(entries: Sequence[Entry]) -> list[str]:
    seen: dict[str, set[str]] = {}
    for e in entries:
        seen.setdefault(e.key, set()).add(e.content_hash)
    return [f"{k}#{h}" for k, hashes in seen.items() if len(hashes) > 1 for h in hashes]


def _insert(session: Session, table: Any, unique: list[str]) -> Insert:
    """INSERT that skips rows another writer stored meanwhile (they are read back)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=unique)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=unique)
    return insert(table)


def _load_hashes(session: Session, keys: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Stored key -> (id, content hash), without building ORM objects."""
    found: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        rows = session.execute(
            select(_ARTICLES.c.key, _ARTICLES.c.id, _ARTICLES.c.content_hash).where(
                _ARTICLES.c.key.in_(chunk)
            )
        )
        found.update((k, (i, h)) for k, i, h in rows)
    return found


def upsert_articles(
    *,
    session: Session,
    entries: Sequence[Entry],
    source: str,
    outlet: str = "",
    feed: Feed | None = None,
    now: datetime | None = None,
    load_new: bool = True,
) -> UpsertResult:
    """Store entries once by key, record where each was seen; flush, do not commit.

    With `load_new=False` new articles are reported only in `new_ids` (no ORM objects
    are built: bulk ingest looks up the few it flags).
    """
    now = now or datetime.now(UTC)
    result = UpsertResult()
    if not entries:
        return result
    session.flush()
    plain = list(dict.fromkeys(e.key for e in entries))
    stored = _load_hashes(session, plain + _alternate_keys(entries))
    by_key = resolve_keys(entries, {k: h for k, (_, h) in stored.items()})
    ids = {k: stored[k][0] for k in by_key if k in stored}
    changed = [k for k, (_, h) in stored.items() if k in by_key and by_key[k].content_hash != h]
    result.unchanged = len(ids) - len(changed)
    _update(session, changed, by_key, result, now)
    missing = [k for k in by_key if k not in stored]
    for start in range(0, len(missing), BATCH):
        _insert_new(session, missing[start : start + BATCH], by_key, ids, result, now)
    if load_new and result.new_ids:
        result.new = _articles(session, [i for i, _ in result.new_ids.values()])
    _record_sources(session, ids, by_key, set(result.new_ids), feed, source, outlet, now)
    return result


def _articles(session: Session, ids: Sequence[int]) -> list[Article]:
    out: list[Article] = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        out.extend(session.scalars(select(Article).where(col(Article.id).in_(chunk))))
    return out


def _update(
    session: Session,
    keys: Sequence[str],
    by_key: dict[str, Entry],
    result: UpsertResult,
    now: datetime,
) -> None:
    for start in range(0, len(keys), BATCH):
        chunk = keys[start : start + BATCH]
        for art in session.scalars(select(Article).where(col(Article.key).in_(chunk))):
            e = by_key[art.key]
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
    if keys:
        session.flush()


def _insert_new(
    session: Session,
    chunk: Sequence[str],
    by_key: dict[str, Entry],
    ids: dict[str, int],
    result: UpsertResult,
    now: datetime,
) -> None:
    rows: list[dict[str, Any]] = []
    for key in chunk:
        e = by_key[key]
        rows.append({
            "key": key, "url": e.link, "title": e.title, "summary_html": e.summary_html,
            "text": e.text, "published_at": e.published or now,
            "published_estimated": e.published is None, "first_seen_at": now,
            "updated_at": now, "content_hash": e.content_hash,
        })  # fmt: skip
    stmt = _insert(session, _ARTICLES, ["key"]).returning(_ARTICLES.c.id, _ARTICLES.c.key)
    for article_id, key in session.execute(stmt, rows):
        ids[key] = article_id
        result.new_ids[key] = (article_id, by_key[key])
    lost = [k for k in chunk if k not in ids]
    if lost:
        # Another writer stored some of these keys between our read and our insert.
        for key, (article_id, _) in _load_hashes(session, lost).items():
            ids[key] = article_id
            result.unchanged += 1


def _record_sources(
    session: Session,
    ids: dict[str, int],
    by_key: dict[str, Entry],
    new: set[str],
    feed: Feed | None,
    source: str,
    outlet: str,
    now: datetime,
) -> None:
    """One ArticleSource row per (article, source); new articles cannot have one yet."""
    old = [i for k, i in ids.items() if k not in new]
    have: set[int] = set()
    for start in range(0, len(old), BATCH):
        chunk = old[start : start + BATCH]
        have.update(session.scalars(
            select(col(ArticleSource.article_id)).where(
                col(ArticleSource.article_id).in_(chunk), col(ArticleSource.source) == source
            )
        ))  # fmt: skip
    rows = []
    for key, article_id in ids.items():
        if article_id in have:
            continue
        have.add(article_id)
        rows.append({
            "article_id": article_id, "feed_id": feed.id if feed else None, "source": source,
            "outlet": outlet, "entry_id": by_key[key].entry_id, "seen_at": now,
        })  # fmt: skip
    if rows:
        session.execute(_insert(session, _SOURCES, ["article_id", "source"]), rows)


# The columns a poll writes on a feed's row; everything else (interval, category, ...)
# belongs to whoever subscribed.
POLLED_FEED_FIELDS = (
    "url",
    "site_url",
    "etag",
    "last_modified",
    "next_due_at",
    "lease_owner",
    "lease_until",
    "last_fetch_at",
    "last_success_at",
    "last_status",
    "consecutive_errors",
    "failing_since",
    "last_error",
    "error_kind",
    "degraded_reason",
    "permanent_redirects",
    "moved_to",
    "gone",
    "entry_count",
)
# A poll fills these only while they are empty (a feed's title names a new feed).
FILLED_FEED_FIELDS = ("name",)


def merge_polled_feed(session: Session, feed: Feed) -> Feed:
    """Write a polled feed's state onto its row, leaving what people set untouched.

    A poll works on a detached copy; merging the whole copy back would undo a rename or
    a new category made while the poll ran.
    """
    row = session.get(Feed, feed.id) if feed.id is not None else None
    if row is None:
        return session.merge(feed)
    for name in POLLED_FEED_FIELDS:
        setattr(row, name, getattr(feed, name))
    for name in FILLED_FEED_FIELDS:
        if not getattr(row, name):
            setattr(row, name, getattr(feed, name))
    session.add(row)
    return row
