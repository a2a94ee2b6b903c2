"""Storing parsed entries: one article per story, every source recorded, nothing doubled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from feeds.models import Article, ArticleSource
from feeds.parse import Entry, parse
from feeds.store import upsert_articles
from monitor.store.db import Database, open_database

DATA = Path(__file__).resolve().parents[1] / "data" / "feeds"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def entries(name: str) -> list[Entry]:
    return parse((DATA / name).read_bytes(), url=name, now=NOW).entries


def rss(items: list[tuple[str, str, str]], title: str = "Feed") -> bytes:
    """An RSS document from (guid, title, description) triples ('' leaves a field out)."""
    body = []
    for guid, head, text in items:
        guid_xml = f'<guid isPermaLink="false">{guid}</guid>' if guid else ""
        body.append(
            f"<item>{guid_xml}<title>{head}</title><description>{text}</description></item>"
        )
    return (
        f'<rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://{title.lower()}.example/</link>{''.join(body)}</channel></rss>"
    ).encode()


def store(db: Database, items: list[Entry], source: str, now: datetime = NOW):
    with db.write() as session:
        return upsert_articles(
            session=session, entries=items, source=source, outlet=source, now=now
        )


def counts(db: Database) -> tuple[int, int]:
    with db.session() as session:
        articles = session.exec(select(func.count()).select_from(Article)).one()
        sources = session.exec(select(func.count()).select_from(ArticleSource)).one()
    return articles, sources


def test_new_entries_are_stored_with_their_source_and_a_repoll_adds_nothing(db: Database) -> None:
    items = entries("rss-basic.xml")
    first = store(db, items, "wire")
    assert [a.title for a in first.new] == [e.title for e in items]
    assert counts(db) == (3, 3)
    again = store(db, items, "wire", NOW + timedelta(hours=1))
    assert (again.new, again.updated, again.unchanged) == ([], [], 3)
    assert counts(db) == (3, 3)


def test_stored_fields_come_from_the_entry_and_undated_ones_get_first_seen(db: Database) -> None:
    store(db, entries("no-guid-no-link.xml"), "bare")
    with db.session() as session:
        undated = session.exec(select(Article).where(Article.title == "No date here")).one()
        dated = session.exec(select(Article).where(Article.title == "Only a title and text")).one()
    assert undated.published_estimated and undated.published_at.replace(tzinfo=UTC) == NOW
    assert not dated.published_estimated
    assert dated.published_at.replace(tzinfo=UTC) == datetime(2025, 1, 9, 8, 0, tzinfo=UTC)
    assert dated.text == "Some words." and dated.key.startswith("sha:")


def test_entries_without_guid_or_link_get_a_stable_key_and_a_repoll_adds_nothing(
    db: Database,
) -> None:
    store(db, entries("no-guid-no-link.xml"), "bare")
    reparsed = entries("no-guid-no-link.xml")
    again = store(db, reparsed, "bare")
    assert again.unchanged == 3 and counts(db) == (3, 3)


def test_entries_with_no_headline_text_or_link_are_not_stored(db: Database) -> None:
    feed = (
        b'<rss version="2.0"><channel><title>Blank</title><item/><item/><ITEM/>'
        b"<item><title> </title><description></description></item>"
        b"<item><title>Real story</title></item></channel></rss>"
    )
    items = parse(feed, url="blank.xml", now=NOW).entries
    assert sum(e.is_empty for e in items) >= 3
    result = store(db, items, "blank")
    assert [a.title for a in result.new] == ["Real story"]
    assert counts(db) == (1, 1)
    assert store(db, items, "blank").unchanged == 1 and counts(db) == (1, 1)


def test_the_same_article_in_two_feeds_is_stored_once_with_both_sources(db: Database) -> None:
    one = parse(rss([("https://story.example/1", "Shared story", "Text")], "One"), now=NOW)
    two = parse(rss([("https://story.example/1", "Shared story", "Text")], "Two"), now=NOW)
    store(db, one.entries, "feed-one")
    second = store(db, two.entries, "feed-two")
    assert second.new == [] and second.unchanged == 1
    assert counts(db) == (1, 2)
    with db.session() as session:
        seen = sorted(session.exec(select(ArticleSource.source)).all())
    assert seen == ["feed-one", "feed-two"]


def test_an_updated_entry_updates_the_stored_text_and_never_duplicates(db: Database) -> None:
    store(db, parse(rss([("https://u.example/1", "Draft", "First text")]), now=NOW).entries, "f")
    later = parse(rss([("https://u.example/1", "Final", "Corrected text")]), now=NOW).entries
    result = store(db, later, "f", NOW + timedelta(hours=2))
    assert [a.title for a in result.updated] == ["Final"] and result.new == []
    assert counts(db) == (1, 1)
    with db.session() as session:
        art = session.exec(select(Article)).one()
    assert (art.title, art.text) == ("Final", "Corrected text")
    assert art.updated_at.replace(tzinfo=UTC) == NOW + timedelta(hours=2)


def test_a_guid_reused_for_different_stories_keeps_both_and_is_stable(db: Database) -> None:
    items = entries("duplicate-guids.xml")
    first = store(db, items, "reused")
    assert sorted(a.title for a in first.new) == ["Mayor opens bridge", "School budget approved"]
    assert counts(db) == (2, 2)
    # The same feed again, and the same feed with its items in another order.
    assert store(db, entries("duplicate-guids.xml"), "reused").unchanged == 2
    assert store(db, list(reversed(items)), "reused").unchanged == 2
    assert counts(db) == (2, 2)


def test_a_reused_guid_appearing_later_keeps_the_stored_story_under_its_key(db: Database) -> None:
    guid = "https://later.example/x"
    store(db, parse(rss([(guid, "Original", "A")]), now=NOW).entries, "f")
    both = parse(rss([(guid, "Newcomer", "B"), (guid, "Original", "A")]), now=NOW).entries
    result = store(db, both, "f")
    assert [a.title for a in result.new] == ["Newcomer"] and result.updated == []
    with db.session() as session:
        original = session.exec(select(Article).where(Article.title == "Original")).one()
    assert original.key == f"id:{guid}"


def test_hostile_and_control_character_text_stores_on_every_backend(db: Database) -> None:
    items = entries("hostile-markup.xml") + entries("control-chars.xml")
    store(db, items, "mixed")
    with db.session() as session:
        stored = session.exec(select(Article)).all()
    assert len(stored) == len(items)
    for art in stored:
        for value in (art.key, art.title, art.text, art.summary_html, art.url or ""):
            assert "\x00" not in value
            assert "<script" not in value.lower() and "javascript:" not in value.lower()


def test_large_feeds_are_written_in_batches(db: Database) -> None:
    n = 1_600  # over three IN-list and insert batches
    items = "".join(
        f"<item><guid>https://many.example/{i}</guid><title>t{i}</title></item>" for i in range(n)
    )
    body = f'<rss version="2.0"><channel><title>Many</title>{items}</channel></rss>'
    parsed = parse(body.encode(), now=NOW).entries
    assert len(store(db, parsed, "many").new) == n
    assert store(db, parsed, "many").unchanged == n
    assert counts(db) == (n, n)


def test_bulk_mode_reports_new_ids_without_building_articles(db: Database) -> None:
    with db.write() as session:
        result = upsert_articles(
            session=session,
            entries=entries("rss-basic.xml"),
            source="wire",
            now=NOW,
            load_new=False,
        )
    assert result.new == [] and len(result.new_ids) == 3
    with db.session() as session:
        ids = set(session.exec(select(Article.id)).all())
    assert {i for i, _ in result.new_ids.values()} == ids


def test_a_polled_feed_keeps_a_rename_made_while_it_was_polled(db: Database) -> None:
    from feeds.models import Feed
    from feeds.store import merge_polled_feed

    with db.write() as s:
        row = Feed(url="https://news.example.org/rss", name="Old name", created_at=NOW)
        s.add(row)
    polled = row.model_copy()  # what a poll holds while it fetches
    with db.write() as s:
        live = s.get(Feed, row.id)
        assert live is not None
        live.name, live.category = "New name", "Climate"
    polled.etag, polled.last_status, polled.entry_count = '"v2"', 200, 7
    with db.write() as s:
        merge_polled_feed(s, polled)
    with db.session() as s:
        stored = s.get(Feed, row.id)
        assert stored is not None
        assert (stored.name, stored.category) == ("New name", "Climate")
        assert (stored.etag, stored.last_status, stored.entry_count) == ('"v2"', 200, 7)


def test_sources_stored_together_give_what_storing_them_in_turn_gives(db: Database) -> None:
    from feeds.store import SourceEntries, upsert_many

    one = parse(rss([("https://s.example/1", "Shared", "A"), ("https://s.example/2", "Own", "B")]))
    two = parse(rss([("https://s.example/1", "Shared", "A"), ("https://s.example/3", "New", "C")]))
    with db.write() as session:
        first, second = upsert_many(
            session=session,
            items=[SourceEntries(one.entries, "one"), SourceEntries(two.entries, "two")],
            now=NOW,
        )
    assert [a.title for a in first.new] == ["Shared", "Own"]
    assert [a.title for a in second.new] == ["New"] and second.unchanged == 1
    assert counts(db) == (3, 4)
    again = store(db, one.entries, "one")
    assert again.unchanged == 2 and counts(db) == (3, 4)


def test_a_key_new_in_one_source_and_changed_by_the_next_is_planned_as_one_insert() -> None:
    from feeds.store import plan_upserts

    draft = parse(rss([("https://p.example/1", "Draft", "A")]), now=NOW).entries
    final = parse(rss([("https://p.example/1", "Final", "B")]), now=NOW).entries
    stored = parse(rss([("https://p.example/2", "Old", "C")]), now=NOW).entries
    plan = plan_upserts([draft, final, draft + stored], {stored[0].key: "other"})
    assert plan.inserts == {draft[0].key: draft[0]}  # the last content wins
    assert plan.owner == {draft[0].key: 0} and plan.replacers == {draft[0].key: [1, 2]}
    assert plan.updates == {stored[0].key: stored[0]} and plan.updaters == {stored[0].key: [2]}
    assert plan.unchanged == [0, 0, 0]


def test_polled_feed_rows_are_written_together_and_a_removed_one_merged_back(
    db: Database,
) -> None:
    from feeds.models import Feed
    from feeds.store import merge_polled_feeds

    with db.write() as s:
        rows = [Feed(url=f"https://n{i}.example.org/rss", created_at=NOW) for i in range(3)]
        s.add_all(rows)
    polled = [r.model_copy() for r in rows]
    for i, feed in enumerate(polled):
        feed.etag, feed.name = f'"{i}"', f"Title {i}"
    with db.write() as s:
        gone = s.get(Feed, rows[2].id)
        s.delete(gone)
    with db.write() as s:
        # A row deleted while its feed was polled is merged back, as merge_polled_feed does.
        ids = merge_polled_feeds(s, polled)
    assert ids == [r.id for r in rows]
    with db.session() as s:
        stored = [s.get(Feed, i) for i in ids]
    assert [(f.etag, f.name) for f in stored if f] == [(f'"{i}"', f"Title {i}") for i in range(3)]


@pytest.mark.postgres
def test_a_key_another_writer_inserts_meanwhile_is_counted_once_and_linked(
    postgres_server_url: str,
) -> None:
    """Two pollers store the same story at once: one article, both sources, no error."""
    import threading
    import time

    from sqlalchemy import text

    from tests.conftest import fresh_postgres_url

    db = open_database(fresh_postgres_url(postgres_server_url))
    try:
        shared = parse(rss([("https://r.example/1", "Shared", "A")]), now=NOW).entries
        mine = parse(rss([("https://r.example/2", "Mine", "B")]), now=NOW).entries
        results = []
        with db.write() as other:
            # The other writer's insert is not committed yet: our lookup cannot see it, and
            # our INSERT waits on its unique key until it commits.
            theirs = upsert_articles(session=other, entries=shared, source="them", now=NOW)
            worker = threading.Thread(target=lambda: results.append(store(db, shared + mine, "us")))
            worker.start()
            deadline = time.monotonic() + 10
            waiting = 0
            while not waiting and time.monotonic() < deadline:
                with db.session() as probe:
                    waiting = probe.exec(  # type: ignore[call-overload]
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                    ).one()[0]
                time.sleep(0.02)
            assert waiting, "our insert never waited on the other writer's row"
        worker.join(timeout=10)
        (ours,) = results
        assert [a.title for a in ours.new] == ["Mine"] and ours.unchanged == 1
        assert counts(db) == (2, 3)
        with db.session() as s:
            sources = s.exec(
                select(ArticleSource.source).where(ArticleSource.article_id == theirs.new[0].id)
            ).all()
        assert sorted(sources) == ["them", "us"]
    finally:
        db.dispose()


def link_rss(guid: str, title: str, link: str, feed: str) -> bytes:
    return (
        f'<rss version="2.0"><channel><title>{feed}</title><link>https://{feed}.example/</link>'
        f"<item><guid>{guid}</guid><title>{title}</title><link>{link}</link>"
        "<description>Text.</description></item></channel></rss>"
    ).encode()


def test_another_feed_reusing_a_stored_guid_cannot_rewrite_the_article(db: Database) -> None:
    guid = "https://wire.example/2025/acme-keeps-pledge"
    wire = parse(link_rss(guid, "Acme keeps its pledge", guid, "wire"), now=NOW).entries
    forged = parse(
        link_rss(guid, "Acme breaks its pledge", "https://evil.example/x", "copycat"), now=NOW
    ).entries
    store(db, wire, "https://wire.example/rss")
    result = store(db, forged, "https://copycat.example/rss", NOW + timedelta(hours=1))
    # The copy is recorded as one more source of the story, not as its new text.
    assert result.updated == [] and result.new == [] and result.unchanged == 1
    assert counts(db) == (1, 2)
    with db.session() as session:
        art = session.exec(select(Article)).one()
    assert (art.title, art.url) == ("Acme keeps its pledge", guid)
    # The feed that carried it first still corrects it.
    fixed = parse(link_rss(guid, "Acme keeps its pledge, again", guid, "wire"), now=NOW).entries
    again = store(db, fixed, "https://wire.example/rss", NOW + timedelta(hours=2))
    assert [a.title for a in again.updated] == ["Acme keeps its pledge, again"]


def test_within_one_batch_a_second_feed_cannot_rewrite_what_the_first_stored(
    db: Database,
) -> None:
    from feeds.store import SourceEntries, upsert_many

    guid = "https://wire.example/2025/b"
    wire = parse(link_rss(guid, "Original", guid, "wire"), now=NOW).entries
    forged = parse(link_rss(guid, "Forged", "https://evil.example/", "copycat"), now=NOW).entries
    with db.write() as session:
        first, second = upsert_many(
            session=session,
            items=[SourceEntries(wire, "wire"), SourceEntries(forged, "copycat")],
            now=NOW,
        )
    assert [a.title for a in first.new] == ["Original"]
    assert second.new == [] and second.updated == [] and second.unchanged == 1
    with db.session() as session:
        art = session.exec(select(Article)).one()
    assert (art.title, art.url) == ("Original", guid)
    assert counts(db) == (1, 2)
