"""Polling against a real HTTP server on 127.0.0.1 and real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, func, select

from feeds.models import Article, ArticleSource, Feed
from feeds.subscriptions import add_feed
from monitor.config import FeedSettings, Settings
from monitor.poll.claims import claim_feeds, claim_share, release_leases
from monitor.poll.cycle import poll_due_feeds, poll_feeds_now
from monitor.store.db import Database, as_utc
from monitor.store.models import DaemonHeartbeat, Flag
from monitor.store.owners import owner_name, parse_owner
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.feeds.feedserver import FeedServer, Reply, gzip_bomb, simple_feed

REPO = Path(__file__).resolve().parents[3]
INTERVAL = 1800


def poll_settings(**feeds: object) -> Settings:
    """Loopback allowed for the test server only; short timeouts; a 1 MB cap."""
    values: dict[str, object] = {
        "allowed_networks": ["127.0.0.1/32"],
        "connect_timeout": 1.0,
        "read_timeout": 1.0,
        "total_timeout": 2.0,
        "max_bytes": 1_000_000,
        "max_backoff_hours": 24.0,
    }
    values.update(feeds)
    return Settings(feeds=FeedSettings(**values))  # type: ignore[arg-type]


def subscribe(db: Database, *urls: str) -> list[int]:
    ids = []
    with db.write() as session:
        for url in urls:
            feed = add_feed(session, url=url, interval_seconds=INTERVAL)
            assert feed.id is not None
            ids.append(feed.id)
    return ids


def feed_row(db: Database, feed_id: int) -> Feed:
    with db.session() as session:
        feed = session.get(Feed, feed_id)
        assert feed is not None
        return feed


def count_articles(db: Database) -> int:
    with db.session() as session:
        return int(session.exec(select(func.count()).select_from(Article)).one())


def test_due_feeds_are_fetched_stored_and_their_health_recorded(
    db: Database, feed_server: FeedServer
) -> None:
    a = feed_server.route("/a", Reply(body=simple_feed("a", 3), etag='"a1"'))
    b = feed_server.route("/b", Reply(body=simple_feed("b", 2), last_modified="Mon, 03 Jun 2024"))
    ids = subscribe(db, a, b)
    now = datetime.now(UTC).replace(microsecond=0)
    report = poll_due_feeds(db=db, settings=poll_settings(), now=now, owner="t")
    assert sorted(r.feed_id for r in report.results) == ids
    assert all(r.ok for r in report.results) and report.new == 5
    assert count_articles(db) == 5
    fa, fb = feed_row(db, ids[0]), feed_row(db, ids[1])
    assert fa.etag == '"a1"' and fa.last_modified is None
    assert fb.last_modified == "Mon, 03 Jun 2024" and fb.etag is None
    for feed, n in ((fa, 3), (fb, 2)):
        assert feed.last_status == 200 and feed.entry_count == n
        assert as_utc(feed.last_success_at) == now == as_utc(feed.last_fetch_at)
        assert as_utc(feed.next_due_at) == now + timedelta(seconds=INTERVAL)
        assert feed.consecutive_errors == 0 and feed.lease_owner is None
        assert feed.name == f"{'a' if n == 3 else 'b'} news"
    with db.session() as session:
        sources = session.exec(select(ArticleSource)).all()
        assert {s.feed_id for s in sources} == set(ids)


def test_a_second_poll_of_unchanged_feeds_is_all_304_and_parses_nothing(
    db: Database, feed_server: FeedServer
) -> None:
    urls = [
        feed_server.route(f"/f{i}", Reply(body=simple_feed(f"f{i}"), etag=f'"e{i}"'))
        for i in range(4)
    ]
    ids = subscribe(db, *urls)
    now = datetime.now(UTC)
    first = poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert first.new == 12
    later = now + timedelta(seconds=INTERVAL + 1)
    second = poll_due_feeds(db=db, settings=poll_settings(), now=later)
    assert len(second.results) == 4
    assert second.not_modified == 4 and all(r.ok for r in second.results)
    assert all(r.entries == 0 and r.new == 0 for r in second.results)
    for i, feed_id in enumerate(ids):
        assert feed_server.hits(f"/f{i}")[-1].headers["if-none-match"] == f'"e{i}"'
        feed = feed_row(db, feed_id)
        # Validators and the entry count are kept; a 304 is a success, not an empty feed.
        assert feed.etag == f'"e{i}"' and feed.entry_count == 3
        assert feed.last_status == 304 and feed.error_kind is None
        assert as_utc(feed.last_success_at) == later
    assert count_articles(db) == 12


def test_each_failure_is_isolated_recorded_with_a_reason_and_others_are_stored(
    db: Database, feed_server: FeedServer
) -> None:
    bad = {
        "/stall": (Reply(body=simple_feed("x"), stall=30), "timeout"),
        "/drip": (Reply(body=simple_feed("x"), drip=0.3), "timeout"),
        "/reset": (Reply(body=simple_feed("x"), reset=True), "connection"),
        "/500": (Reply(status=500, body=b"oops"), "http_500"),
        "/404": (Reply(status=404), "http_404"),
        "/429": (Reply(status=429, headers={"Retry-After": "600"}), "http_429"),
        "/410": (Reply(status=410), "gone"),
        "/loop": (Reply(status=301, headers={"Location": "/loop"}), "redirect_loop"),
        "/file": (Reply(status=302, headers={"Location": "file:///etc/passwd"}), "unsafe_url"),
        "/huge": (Reply(content_length=50_000_000, stall=5), "too_large"),
        "/bomb": (
            Reply(body=gzip_bomb(50_000_000), headers={"Content-Encoding": "gzip"}),
            "too_large",
        ),
        "/html": (
            Reply(
                body=b"<!doctype html><html><body><form>Sign in</form></body></html>",
                headers={"Content-Type": "text/html"},
            ),
            "not_a_feed",
        ),
        "/empty": (Reply(body=b"  \n "), "empty"),
    }
    urls = [feed_server.route(path, reply) for path, (reply, _) in bad.items()]
    good = [feed_server.route(f"/good{i}", Reply(body=simple_feed(f"good{i}"))) for i in range(2)]
    ids = subscribe(db, *urls, *good)
    now = datetime.now(UTC)
    t0 = time.monotonic()
    report = poll_due_feeds(db=db, settings=poll_settings(), now=now)
    # Every fetch is bounded by the 2 s deadline and they run side by side.
    assert time.monotonic() - t0 < 8
    assert len(report.results) == len(ids)
    by_id = {r.feed_id: r for r in report.results}
    for feed_id, (path, (_, kind)) in zip(ids, bad.items(), strict=False):
        assert by_id[feed_id].error_kind == kind, (path, by_id[feed_id].error)
        feed = feed_row(db, feed_id)
        assert feed.error_kind == kind and feed.last_error, path
        assert feed.consecutive_errors == 1 and feed.lease_owner is None
    assert "Retry-After" not in (feed_row(db, ids[5]).last_error or "")
    for feed_id in ids[len(bad) :]:
        assert by_id[feed_id].ok and by_id[feed_id].new == 3
    assert count_articles(db) == 6
    assert len(report.failed) == len(bad)


def test_410_marks_the_feed_gone_stops_polling_and_keeps_its_articles(
    db: Database, feed_server: FeedServer
) -> None:
    url = feed_server.route("/feed", Reply(body=simple_feed("g")))
    (feed_id,) = subscribe(db, url)
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert count_articles(db) == 3
    feed_server.route("/feed", Reply(status=410))
    report = poll_due_feeds(db=db, settings=poll_settings(), now=now + timedelta(hours=1))
    assert report.results[0].gone
    feed = feed_row(db, feed_id)
    assert feed.gone and feed.next_due_at is None and feed.last_status == 410
    assert count_articles(db) == 3
    hits = len(feed_server.hits("/feed"))
    much_later = now + timedelta(days=30)
    assert poll_due_feeds(db=db, settings=poll_settings(), now=much_later).results == []
    assert len(feed_server.hits("/feed")) == hits


def test_retry_after_sets_the_next_poll_and_is_capped(
    db: Database, feed_server: FeedServer
) -> None:
    soon = feed_server.route("/soon", Reply(status=429, headers={"Retry-After": "7200"}))
    never = feed_server.route("/never", Reply(status=503, headers={"Retry-After": "99999999"}))
    ids = subscribe(db, soon, never)
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(max_backoff_hours=24), now=now)
    first, second = feed_row(db, ids[0]), feed_row(db, ids[1])
    assert as_utc(first.next_due_at) == now + timedelta(seconds=7200)
    assert first.error_kind == "http_429"
    assert as_utc(second.next_due_at) == now + timedelta(hours=24)


def test_backoff_grows_with_each_failure_and_resets_on_success(
    db: Database, feed_server: FeedServer
) -> None:
    url = feed_server.route("/flaky", Reply(status=500))
    (feed_id,) = subscribe(db, url)
    now = datetime.now(UTC)
    delays = []
    for n in range(1, 5):
        poll_due_feeds(db=db, settings=poll_settings(), now=now)
        feed = feed_row(db, feed_id)
        assert feed.consecutive_errors == n
        due = as_utc(feed.next_due_at)
        assert due is not None
        delays.append((due - now).total_seconds())
        now = due
    for n, delay in enumerate(delays):
        expected = INTERVAL * 2**n
        assert expected * 0.9 <= delay <= expected * 1.1
    first_failure = as_utc(feed_row(db, feed_id).failing_since)
    assert first_failure is not None
    feed_server.route("/flaky", Reply(body=simple_feed("ok")))
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    feed = feed_row(db, feed_id)
    assert feed.consecutive_errors == 0 and feed.failing_since is None
    assert feed.last_error is None and feed.error_kind is None
    assert as_utc(feed.next_due_at) == now + timedelta(seconds=INTERVAL)


def test_backoff_stops_at_the_configured_cap(db: Database, feed_server: FeedServer) -> None:
    url = feed_server.route("/down", Reply(status=502))
    (feed_id,) = subscribe(db, url)
    with db.write() as session:
        feed = session.get(Feed, feed_id)
        assert feed is not None
        feed.consecutive_errors = 30
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(max_backoff_hours=6), now=now)
    due = as_utc(feed_row(db, feed_id).next_due_at)
    assert due is not None
    # Jitter spreads capped feeds below the cap, never above it.
    assert now + timedelta(hours=6 * 0.9) <= due <= now + timedelta(hours=6)


def test_feed_hints_lengthen_the_interval(db: Database, feed_server: FeedServer) -> None:
    from tests.feeds.feedserver import rss

    ttl = feed_server.route("/ttl", Reply(body=rss([("t", "T", "x")], ttl=120)))
    cached = feed_server.route(
        "/cached", Reply(body=simple_feed("c"), headers={"Cache-Control": "public, max-age=7200"})
    )
    short = feed_server.route(
        "/short", Reply(body=simple_feed("s"), headers={"Cache-Control": "max-age=60"})
    )
    ids = subscribe(db, ttl, cached, short)
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    dues = [as_utc(feed_row(db, i).next_due_at) for i in ids]
    assert dues == [
        now + timedelta(hours=2),
        now + timedelta(hours=2),
        now + timedelta(seconds=INTERVAL),
    ]


def test_hints_too_long_for_a_number_are_capped_not_a_crash(
    db: Database, feed_server: FeedServer
) -> None:
    cached = feed_server.route(
        "/cached", Reply(body=simple_feed("c"), headers={"Cache-Control": "max-age=" + "9" * 5000})
    )
    busy = feed_server.route("/busy", Reply(status=503, headers={"Retry-After": "9" * 400}))
    ids = subscribe(db, cached, busy)
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(max_backoff_hours=24), now=now)
    stored, failed = feed_row(db, ids[0]), feed_row(db, ids[1])
    assert stored.error_kind is None and stored.entry_count == 3
    assert as_utc(stored.next_due_at) == now + timedelta(hours=24)
    assert failed.error_kind == "http_503"
    assert as_utc(failed.next_due_at) == now + timedelta(hours=24)
    assert count_articles(db) == 3


def test_a_permanent_redirect_moves_the_feed_after_two_polls_a_temporary_one_never(
    db: Database, feed_server: FeedServer
) -> None:
    new_url = feed_server.route("/new", Reply(body=simple_feed("n"), etag='"n"'))
    moved = feed_server.route("/old", Reply(status=301, headers={"Location": "/new"}))
    temp = feed_server.route("/temp", Reply(status=302, headers={"Location": "/new2"}))
    feed_server.route("/new2", Reply(body=simple_feed("m")))
    moved_id, temp_id = subscribe(db, moved, temp)
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert feed_row(db, moved_id).url == moved
    assert feed_row(db, moved_id).moved_to == new_url
    now += timedelta(hours=1)
    report = poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert {r.feed_id: r.moved_to for r in report.results}[moved_id] == new_url
    assert feed_row(db, moved_id).url == new_url
    assert feed_row(db, temp_id).url == temp
    now += timedelta(hours=1)
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    # The new URL is fetched directly now, with its validators.
    assert feed_server.hits("/new")[-1].headers.get("if-none-match") == '"n"'
    assert len(feed_server.hits("/old")) == 2
    assert feed_row(db, temp_id).url == temp


def test_a_store_failure_after_a_200_keeps_the_old_etag(
    db: Database, feed_server: FeedServer
) -> None:
    url = feed_server.route("/feed", Reply(body=simple_feed("v1"), etag='"v1"'))
    (feed_id,) = subscribe(db, url)
    now = datetime.now(UTC)
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert feed_row(db, feed_id).etag == '"v1"'
    feed_server.route("/feed", Reply(body=simple_feed("v2"), etag='"v2"'))
    # A real failure inside the store's transaction: its table is gone.
    with db.engine.begin() as conn:
        conn.execute(text("DROP TABLE article_sources"))
    now += timedelta(hours=1)
    report = poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert report.results[0].error_kind == "store_failed"
    feed = feed_row(db, feed_id)
    assert feed.etag == '"v1"' and feed.error_kind == "store_failed"
    assert feed.entry_count == 3 and feed.consecutive_errors == 1 and feed.lease_owner is None
    with db.session() as session:
        titles = session.exec(select(Article.title)).all()
    assert not any("v2" in t for t in titles)
    now += timedelta(days=1)
    poll_due_feeds(db=db, settings=poll_settings(), now=now)
    assert feed_server.hits("/feed")[-1].headers["if-none-match"] == '"v1"'


def test_a_loopback_feed_is_refused_when_private_addresses_are_not_allowed(
    db: Database, feed_server: FeedServer
) -> None:
    url = feed_server.route("/feed", Reply(body=simple_feed("p")))
    (feed_id,) = subscribe(db, url)
    settings = poll_settings(allowed_networks=[])
    report = poll_due_feeds(db=db, settings=settings, now=datetime.now(UTC))
    assert report.results[0].error_kind == "unsafe_url"
    assert feed_row(db, feed_id).error_kind == "unsafe_url"
    assert feed_server.requests == []
    allowed = poll_settings(allowed_networks=[], allow_private_addresses=True)
    report = poll_feeds_now(db=db, settings=allowed, feed_ids=[feed_id])
    assert report.results[0].ok and report.new == 3


def test_a_feed_claimed_by_one_owner_is_not_claimed_by_another_until_the_lease_expires(
    db: Database,
) -> None:
    ids = subscribe(db, *(f"https://news{i}.example.org/rss" for i in range(3)))
    now = datetime.now(UTC)
    mine = claim_feeds(db=db, owner="a", now=now, lease_seconds=300)
    assert sorted(f.id for f in mine) == ids
    assert claim_feeds(db=db, owner="b", now=now + timedelta(seconds=299), lease_seconds=300) == []
    assert claim_feeds(db=db, owner="b", now=now, lease_seconds=300, feed_ids=ids) == []
    theirs = claim_feeds(db=db, owner="b", now=now + timedelta(seconds=301), lease_seconds=300)
    assert sorted(f.id for f in theirs) == ids
    assert feed_row(db, ids[0]).lease_owner == "b"
    assert release_leases(db=db, owner="b") == 3
    assert feed_row(db, ids[0]).lease_owner is None


def test_pollers_claiming_at_the_same_time_never_share_a_feed(db: Database) -> None:
    ids = subscribe(db, *(f"https://n{i}.example.org/rss" for i in range(40)))
    now = datetime.now(UTC)
    got: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claim(owner: str) -> None:
        barrier.wait()
        feeds: list[int] = []
        while batch := claim_feeds(db=db, owner=owner, now=now, lease_seconds=300, limit=3):
            feeds += [f.id for f in batch if f.id is not None]
        got[owner] = feeds

    threads = [threading.Thread(target=claim, args=(f"o{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [i for feeds in got.values() for i in feeds]
    assert sorted(claimed) == ids
    with db.session() as session:
        owners = session.exec(select(Feed.id, Feed.lease_owner)).all()
    assert all(got[owner].count(fid) == 1 for fid, owner in owners if owner)


def test_live_daemons_split_a_round_of_due_feeds_instead_of_the_first_taking_a_batch(
    db: Database,
) -> None:
    subscribe(db, *(f"https://n{i}.example.org/rss" for i in range(300)))
    now = datetime.now(UTC)
    beat = {"hostname": "h", "pid": 1, "heartbeat_seconds": 10, "started_at": now}
    with db.write() as session:
        session.add(DaemonHeartbeat(id="a", seen_at=now, **beat))
        session.add(DaemonHeartbeat(id="b", seen_at=now - timedelta(seconds=20), **beat))
        # Neither a stopped daemon nor one silent for three intervals takes a share.
        session.add(DaemonHeartbeat(id="c", seen_at=now, stopped_at=now, **beat))
        session.add(DaemonHeartbeat(id="d", seen_at=now - timedelta(seconds=31), **beat))

    def claim(owner: str) -> int:
        share = claim_share(db=db, owner=owner, now=now, batch=256)
        return len(claim_feeds(db=db, owner=owner, now=now, lease_seconds=300, limit=share))

    assert claim("a") == 150  # half the round, not a batch of 256
    assert claim("b") == 150  # the round counts the feeds "a" holds
    assert claim("a") == 0
    release_leases(db=db, owner="a")
    release_leases(db=db, owner="b")
    with db.write() as session:
        for stale in ("a", "b"):
            row = session.get(DaemonHeartbeat, stale)
            assert row is not None
            row.stopped_at = now
    # No live daemon (a `poll` from the command line): one batch, as before.
    assert claim_share(db=db, owner="cli", now=now, batch=256) == 256


def test_leases_of_feeds_waiting_behind_a_slow_host_are_renewed_until_polled(
    db: Database, feed_server: FeedServer
) -> None:
    # Eight feeds on one host, one at a time, 0.5 s each: the last waits past its 2 s lease.
    urls = [
        feed_server.route(f"/slow{i}", Reply(body=simple_feed(f"s{i}"), delay=0.5))
        for i in range(8)
    ]
    ids = subscribe(db, *urls)
    settings = poll_settings(per_host=1)
    settings.daemon.lease_seconds = 2
    reports = []
    poller = threading.Thread(
        target=lambda: reports.append(poll_due_feeds(db=db, settings=settings, owner="a"))
    )
    poller.start()
    # The race starts once the poller holds its leases (one batch; a loaded machine may
    # start the poller late).
    claimed_by = time.monotonic() + 30
    while all(feed_row(db, i).lease_owner is None for i in ids) and poller.is_alive():
        assert time.monotonic() < claimed_by, "the poller never claimed its feeds"
        time.sleep(0.02)
    stolen: list[int] = []
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = datetime.now(UTC)
        stolen += [f.id for f in claim_feeds(db=db, owner="b", now=now, lease_seconds=60) if f.id]
    poller.join()
    assert stolen == []
    assert sorted(r.feed_id for r in reports[0].results) == ids
    assert all(r.ok for r in reports[0].results)
    assert len(feed_server.hits("/slow7")) == 1
    assert all(feed_row(db, i).lease_owner is None for i in ids)


def test_feeds_leased_to_a_killed_poller_are_taken_back_at_once_a_live_ones_are_not(
    db: Database, feed_server: FeedServer
) -> None:
    urls = [feed_server.route(f"/k{i}", Reply(body=simple_feed(f"k{i}"))) for i in range(2)]
    dead_feed, live_feed = subscribe(db, *urls)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = parse_owner(owner_name("x"))
    assert here.scope, "this machine exposes no pid namespace to prove a pid dead"
    killed = f"{here.host}:{gone.pid}:poll@{here.scope}"
    alive = f"{here.host}:{os.getpid()}:other@{here.scope}"
    now = datetime.now(UTC)
    claim_feeds(db=db, owner=killed, now=now, lease_seconds=300, feed_ids=[dead_feed])
    claim_feeds(db=db, owner=alive, now=now, lease_seconds=300, feed_ids=[live_feed])
    report = poll_due_feeds(db=db, settings=poll_settings())
    assert [r.feed_id for r in report.results] == [dead_feed]
    assert feed_row(db, dead_feed).lease_owner is None
    assert feed_row(db, live_feed).lease_owner == alive


def test_polling_named_feeds_ignores_due_times_but_respects_leases(
    db: Database, feed_server: FeedServer
) -> None:
    urls = [feed_server.route(f"/n{i}", Reply(body=simple_feed(f"n{i}"))) for i in range(2)]
    ids = subscribe(db, *urls)
    with db.write() as session:
        for feed in session.exec(select(Feed)).all():
            feed.next_due_at = datetime.now(UTC) + timedelta(days=1)
            session.add(feed)
    assert poll_due_feeds(db=db, settings=poll_settings()).results == []
    claim_feeds(db=db, owner="daemon", now=datetime.now(UTC), lease_seconds=300, feed_ids=[ids[1]])
    report = poll_feeds_now(db=db, settings=poll_settings(), feed_ids=ids)
    assert [r.feed_id for r in report.results] == [ids[0]]
    assert report.skipped == [ids[1]]
    assert feed_row(db, ids[1]).lease_owner == "daemon"


def test_a_polled_news_feed_raises_flags_for_a_pledge(
    sqlite_db: Database, feed_server: FeedServer
) -> None:
    with sqlite_db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
    body = (REPO / "examples" / "feeds" / "tech-policy-weekly.xml").read_bytes()
    url = feed_server.route("/tech", Reply(body=body))
    subscribe(sqlite_db, url)
    report = poll_due_feeds(db=sqlite_db, settings=poll_settings())
    assert report.results[0].ok and report.flags > 0
    with sqlite_db.session() as session:
        pledges = set(session.exec(select(Flag.pledge_id).where(col(Flag.active))).all())
    assert "amazon-rekognition-police-moratorium" in pledges


POISON_TRIGGERS = {
    "sqlite": [
        "CREATE TRIGGER poison BEFORE INSERT ON articles WHEN NEW.title LIKE '%POISON%' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned article refused'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION poison() RETURNS trigger AS $$ BEGIN "
        "IF NEW.title LIKE '%POISON%' THEN RAISE EXCEPTION 'poisoned article refused'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER poison BEFORE INSERT ON articles FOR EACH ROW EXECUTE FUNCTION poison()",
    ],
}


def test_a_feed_the_database_refuses_fails_alone_when_stored_with_others(
    db: Database, feed_server: FeedServer
) -> None:
    # Feeds waiting for the writer are stored in one transaction; a refusal there must
    # not cost the others their articles, nor the refused feed its old ETag.
    with db.engine.begin() as conn:
        for statement in POISON_TRIGGERS[db.dialect]:
            conn.execute(text(statement))
    urls = [
        feed_server.route(f"/f{i}", Reply(body=simple_feed(f"f{i}", 5), etag=f'"{i}"'))
        for i in range(40)
    ]
    feed_server.route("/f7", Reply(body=simple_feed("POISON", 5), etag='"bad"'))
    ids = subscribe(db, *urls)
    report = poll_due_feeds(db=db, settings=poll_settings(), now=datetime.now(UTC))
    by_id = {r.feed_id: r for r in report.results}
    assert by_id[ids[7]].error_kind == "store_failed"
    assert "poisoned" in (by_id[ids[7]].error or "")
    assert all(by_id[i].ok and by_id[i].new == 5 for i in ids if i != ids[7])
    assert count_articles(db) == 39 * 5
    bad = feed_row(db, ids[7])
    assert bad.etag is None and bad.error_kind == "store_failed" and bad.lease_owner is None
    assert feed_row(db, ids[8]).etag == '"8"'


def test_a_big_poll_parses_in_worker_processes(
    sqlite_db: Database, feed_server: FeedServer
) -> None:
    from monitor.poll.workers import PROCESS_POOL_MIN_FEEDS

    n = PROCESS_POOL_MIN_FEEDS + 6
    urls = [feed_server.route(f"/p{i}", Reply(body=simple_feed(f"p{i}", 2))) for i in range(n)]
    urls.append(feed_server.route("/html", Reply(body=b"<html><body>login</body></html>")))
    subscribe(sqlite_db, *urls)
    report = poll_due_feeds(db=sqlite_db, settings=poll_settings(), now=datetime.now(UTC))
    assert len(report.results) == n + 1
    assert report.new == 2 * n
    # A parse error raised in a worker comes back as the feed's own error.
    assert [r.error_kind for r in report.failed] == ["not_a_feed"]


def dying_workers(_feeds: int) -> ProcessPoolExecutor:
    """Real worker processes that exit as soon as they start."""
    return ProcessPoolExecutor(
        max_workers=2,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=os._exit,
        initargs=(3,),
    )


def test_a_poll_whose_parse_workers_die_parses_in_threads_and_stores_every_feed(
    sqlite_db: Database, feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    urls = [feed_server.route(f"/d{i}", Reply(body=simple_feed(f"d{i}", 2))) for i in range(12)]
    subscribe(sqlite_db, *urls)
    report = poll_due_feeds(
        db=sqlite_db, settings=poll_settings(), now=datetime.now(UTC), parse_executor=dying_workers
    )
    assert [r.error for r in report.failed] == []
    assert len(report.results) == 12
    assert report.new == 24
    assert count_articles(sqlite_db) == 24
    assert "parse workers unavailable" in caplog.text


def test_feeds_stored_together_commit_alone_when_one_is_refused(db: Database) -> None:
    import asyncio

    from feeds.parse import parse
    from monitor.flags.detection import load_detector
    from monitor.poll.store import Stored, StoreJob, store_many, store_one
    from monitor.poll.writer import Batcher, DbWriter

    with db.engine.begin() as conn:
        for statement in POISON_TRIGGERS[db.dialect]:
            conn.execute(text(statement))
    ids = subscribe(db, *(f"https://s{i}.example.org/rss" for i in range(3)))
    now = datetime.now(UTC)
    with db.session() as session:
        feeds = [session.get(Feed, i) for i in ids]
        detector = load_detector(session)
    groups: list[int] = []

    def group(jobs):  # type: ignore[no-untyped-def]
        groups.append(len(jobs))
        return store_many(db, detector, jobs)

    async def run() -> list[Stored | BaseException]:
        writer = DbWriter(db)
        stores: Batcher[StoreJob, Stored] = Batcher(
            writer, group=group, one=lambda job: store_one(db, detector, job), max_items=10
        )
        jobs = []
        for feed, name in zip(feeds, ["a", "POISON", "c"], strict=True):
            assert feed is not None
            feed.etag = f'"{name}"'
            entries = parse(simple_feed(name, 4)).entries
            jobs.append(StoreJob(feed=feed, entries=entries, source=feed.url, outlet=name, now=now))
        try:
            return await asyncio.gather(*(stores.submit(j) for j in jobs), return_exceptions=True)
        finally:
            writer.close()

    first, second, third = asyncio.run(run())
    assert groups == [3]
    assert isinstance(first, Stored) and first.new == 4
    assert isinstance(second, Exception) and "poisoned" in str(second)
    assert isinstance(third, Stored) and third.new == 4
    assert count_articles(db) == 8
    assert [feed_row(db, i).etag for i in ids] == ['"a"', None, '"c"']


def test_with_the_semantic_layer_on_a_poll_flags_what_only_the_layer_finds(
    db: Database, feed_server: FeedServer, real_encoder: object
) -> None:
    corpus = REPO / "eval" / "aerospace-defence"
    with db.write() as session:
        sync_catalogue(session=session, pledges=load_catalogue(corpus / "catalogue"))
    urls = [
        feed_server.route(f"/{p.stem}", Reply(body=p.read_bytes()))
        for p in sorted((corpus / "feeds").glob("*.xml"))
    ]
    subscribe(db, *urls)
    settings = poll_settings()
    settings.detect.semantic = True
    poll_due_feeds(db=db, settings=settings, now=datetime.now(UTC), owner="t")
    with db.session() as session:
        versions = session.exec(select(Flag.detector_version)).all()
    assert any(v.startswith("semantic-") for v in versions)
    assert any(v.startswith("fitted-") for v in versions)
