"""Storing polled feeds together: a fixed number of statements per batch, same outcome."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import col, func, select

from feeds.models import Article, ArticleSource, Feed
from feeds.parse import Entry, parse
from monitor.flags.detection import load_detector
from monitor.poll.store import StoreJob, store_many, store_one
from monitor.store.db import Database
from monitor.store.models import Flag, Incident
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.detect import Detector
from pledges.store import sync_catalogue
from tests.feeds.feedserver import rss
from tests.monitor.servers import BREACH_TEXT, PLAIN_TEXT

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
# Statements one batch may take, however many feeds it holds (SQLite counts its BEGIN):
# feed rows, key lookup, articles, sources, grouped flags, incidents, incident dates, flags.
MAX_STATEMENTS = 9
# A re-poll that finds nothing new: feed rows and the key lookup (up to 500 entries).
MAX_REPOLL_STATEMENTS = 3


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every statement sent to the database inside the block."""
    sent: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def setup(db: Database, n: int) -> tuple[list[Feed], Detector]:
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
        rows = [Feed(url=f"https://f{i}.example.org/rss", created_at=NOW) for i in range(n)]
        session.add_all(rows)
    with db.session() as session:
        detector = load_detector(session)
    return rows, detector


def feed_entries(i: int, text: str = "") -> list[Entry]:
    """Ten entries of feed i; every third reports the same breach (one story)."""
    items = [
        (f"f{i}-{k}", f"Story {k} of feed {i}", text or (BREACH_TEXT if k % 3 == 0 else PLAIN_TEXT))
        for k in range(10)
    ]
    return parse(rss(items, title=f"Feed {i}"), now=NOW).entries


def jobs(feeds: list[Feed], entries: Any, now: datetime = NOW) -> list[StoreJob]:
    out = []
    for i, row in enumerate(feeds):
        feed = row.model_copy()
        feed.etag, feed.last_status, feed.last_fetch_at = f'"{i}"', 200, now
        out.append(StoreJob(feed, entries(i), feed.url, f"Feed {i}", now))
    return out


def count(db: Database, model: Any) -> int:
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def test_a_batch_takes_the_same_few_statements_however_many_feeds_it_holds(
    db: Database,
) -> None:
    feeds, detector = setup(db, 60)
    small, large = feeds[:20], feeds[20:]
    with statements(db) as first:
        stored = store_many(db, detector, jobs(small, feed_entries))
    with statements(db) as second:
        store_many(db, detector, jobs(large, lambda i: feed_entries(i + 20)))
    assert sum(s.new for s in stored) == 200 and sum(s.flags for s in stored) == 80
    assert len(first) <= MAX_STATEMENTS and len(second) <= MAX_STATEMENTS
    with statements(db) as repoll:
        again = store_many(db, detector, jobs(large, lambda i: feed_entries(i + 20)))
    assert [s.new for s in again] == [0] * 40
    assert len(repoll) <= MAX_REPOLL_STATEMENTS
    with statements(db) as edited:
        changed = store_many(db, detector, jobs(small, lambda i: feed_entries(i, "Corrected.")))
    assert [s.updated for s in changed] == [10] * 20
    assert len(edited) <= MAX_STATEMENTS
    assert count(db, Article) == 600 and count(db, ArticleSource) == 600
    with db.session() as session:
        flags = session.exec(select(Flag)).all()
    # One flag per (article, pledge); all one story; corrected text withdrew 80 of them.
    assert len(flags) == 240 and len({(f.article_id, f.pledge_id) for f in flags}) == 240
    assert count(db, Incident) == 1 and all(f.incident_id is not None for f in flags)
    assert sum(not f.active for f in flags) == 80


def test_a_feed_stored_alone_takes_the_same_statements_as_a_batch(db: Database) -> None:
    feeds, detector = setup(db, 1)
    with statements(db) as sent:
        stored = store_one(db, detector, jobs(feeds, feed_entries)[0])
    assert (stored.new, stored.flags) == (10, 4)
    assert len(sent) <= MAX_STATEMENTS


def test_the_poll_columns_of_every_feed_row_are_written_and_a_rename_kept(db: Database) -> None:
    feeds, detector = setup(db, 3)
    polled = jobs(feeds, feed_entries)
    polled[1].feed.name = "From the feed title"
    with db.write() as session:
        live = session.get(Feed, feeds[1].id)
        assert live is not None
        live.category = "Climate"
    store_many(db, detector, polled)
    with db.session() as session:
        rows = [session.get(Feed, f.id) for f in feeds]
    assert [r.etag for r in rows if r] == ['"0"', '"1"', '"2"']
    assert all(r and r.last_status == 200 for r in rows)
    assert rows[1] and (rows[1].name, rows[1].category) == ("From the feed title", "Climate")


# The founding case as a headline tells it: a story that is flagged, whichever feed has it.
SHARED_TITLE = "Tribunal told Amazon let UK police use its facial recognition"


def test_an_article_in_two_feeds_of_one_batch_is_stored_once_with_both_sources(
    db: Database,
) -> None:
    feeds, detector = setup(db, 2)
    shared = parse(rss([("shared-1", SHARED_TITLE, BREACH_TEXT)]), now=NOW).entries
    stored = store_many(db, detector, jobs(feeds, lambda _i: shared))
    assert [(s.new, s.flags) for s in stored] == [(1, 1), (0, 0)]
    assert count(db, Article) == 1 and count(db, ArticleSource) == 2 and count(db, Flag) == 1


def test_a_story_new_in_one_feed_keeps_its_text_when_the_next_feed_differs(
    db: Database,
) -> None:
    # Another feed reusing the story's id is one more source, not an edit of the story
    # (else any feed could rewrite what another outlet published).
    feeds, detector = setup(db, 2)
    draft = parse(rss([("story-1", "Draft", PLAIN_TEXT)]), now=NOW).entries
    final = parse(rss([("story-1", "Final", BREACH_TEXT)]), now=NOW).entries
    stored = store_many(db, detector, jobs(feeds, lambda i: [draft, final][i]))
    assert [(s.new, s.updated) for s in stored] == [(1, 0), (0, 0)]
    with db.session() as session:
        article = session.exec(select(Article)).one()
    assert (article.title, article.text) == ("Draft", PLAIN_TEXT)
    assert count(db, Flag) == 0 and count(db, ArticleSource) == 2
    # The feed that first carried it changes it, and the story is scanned again.
    later = jobs(feeds, lambda i: [final, final][i], NOW + timedelta(hours=1))
    again = store_many(db, detector, later)
    assert [(s.new, s.updated) for s in again] == [(0, 1), (0, 0)]
    assert sum(s.flags for s in again) == 1
    with db.session() as session:
        article = session.exec(select(Article)).one()
    assert (article.title, article.text) == ("Final", BREACH_TEXT)
    assert count(db, Flag) == 1 and count(db, ArticleSource) == 2


def test_a_re_poll_with_changed_text_rescans_and_keeps_reviews(db: Database) -> None:
    feeds, detector = setup(db, 1)
    store_one(db, detector, jobs(feeds, feed_entries)[0])
    with db.write() as session:
        for flag in session.exec(select(Flag)).all():
            flag.status = "confirmed"
            session.add(flag)
    later = NOW + timedelta(hours=1)
    edited = jobs(feeds, lambda i: feed_entries(i, BREACH_TEXT + " Updated."), later)[0]
    stored = store_one(db, detector, edited)
    assert (stored.new, stored.updated, stored.flags) == (0, 10, 6)
    with db.session() as session:
        flags = session.exec(select(Flag).order_by(col(Flag.id))).all()
    assert [f.status for f in flags] == ["confirmed"] * 4 + ["open"] * 6
