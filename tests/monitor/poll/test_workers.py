"""Parse workers a daemon keeps between polls: reused, replaced when dead, stopped on close."""

from __future__ import annotations

import os
import signal
import tempfile
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from feeds.models import Article
from monitor.ingest.parsepool import default_workers
from monitor.poll import scanning
from monitor.poll.cycle import poll_due_feeds
from monitor.poll.workers import PROCESS_POOL_MIN_FEEDS, ParseWorkers, parse_threads
from monitor.store.db import Database, open_database
from monitor.store.models import Flag
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.feeds.feedserver import FeedServer, Reply, simple_feed
from tests.monitor.poll.test_cycle import count_articles, poll_settings, subscribe

REPO = Path(__file__).resolve().parents[3]

needs_two_cores = pytest.mark.skipif(default_workers() < 2, reason="parse workers need 2 cores")


def worker_pids(workers: ParseWorkers, n: int = 8) -> set[int]:
    """The pids of the processes that run work lent by `workers` to a big poll."""
    pool = workers(PROCESS_POOL_MIN_FEEDS)
    # Slow tasks, so every worker gets one.
    return {f.result(timeout=60) for f in [pool.submit(_pid_after, 0.2) for _ in range(n)]}


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_small_polls_parse_in_threads_and_start_no_process() -> None:
    workers = ParseWorkers()
    assert workers.start(PROCESS_POOL_MIN_FEEDS - 1) == []
    assert isinstance(workers(PROCESS_POOL_MIN_FEEDS - 1), ThreadPoolExecutor)
    workers.close()


@needs_two_cores
def test_big_polls_parse_in_the_same_workers_and_close_stops_them(
    sqlite_db: Database, feed_server: FeedServer
) -> None:
    n = PROCESS_POOL_MIN_FEEDS + 4
    urls = [feed_server.route(f"/w{i}", Reply(body=simple_feed(f"w{i}", 2))) for i in range(n)]
    subscribe(sqlite_db, *urls)
    workers = ParseWorkers()
    try:
        for ready in workers.start(n):
            ready.result(timeout=60)
        before = worker_pids(workers)
        assert len(before) == min(4, default_workers())
        now = datetime.now(UTC)
        first = poll_due_feeds(
            db=sqlite_db, settings=poll_settings(), now=now, parse_executor=workers
        )
        later = now + timedelta(days=1)  # every feed due again; bodies unchanged
        second = poll_due_feeds(
            db=sqlite_db, settings=poll_settings(), now=later, parse_executor=workers
        )
        assert (first.new, len(first.failed), len(second.results)) == (2 * n, 0, n)
        assert count_articles(sqlite_db) == 2 * n
        # The polls' own shutdown left the workers running for the next poll.
        assert worker_pids(workers) == before
    finally:
        workers.close()
    assert all(gone(pid) for pid in before)


@needs_two_cores
def test_workers_that_died_are_replaced_on_the_next_poll() -> None:
    workers = ParseWorkers()
    try:
        before = worker_pids(workers)
        for pid in before:
            os.kill(pid, signal.SIGKILL)
        assert all(gone(pid) for pid in before)
        after = worker_pids(workers)
        assert after and not after & before
    finally:
        workers.close(wait=True)
    assert all(gone(pid, within=0.5) for pid in after)


def _holds_a_detector(seconds: float) -> bool:
    time.sleep(seconds)
    return scanning._held is not None


def _flags(db: Database) -> list[tuple[Any, ...]]:
    with db.session() as session:
        rows = session.exec(select(Flag, Article.key).join(Article)).all()
    return sorted(
        (key, f.pledge_id, f.kind, f.score, f.reasons, f.evidence, f.active) for f, key in rows
    )


@needs_two_cores
def test_a_first_poll_is_scanned_in_the_kept_workers_with_the_flags_the_writer_raises(
    tmp_path: Path, feed_server: FeedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    news = [
        (REPO / "examples" / "feeds" / name).read_bytes()
        for name in ("tech-policy-weekly.xml", "business-daily.xml", "climate-desk.xml")
    ]
    n = PROCESS_POOL_MIN_FEEDS + 4
    bodies = [simple_feed(f"s{i}", 2) for i in range(n - len(news))]
    urls = [feed_server.route(f"/s{i}", Reply(body=b)) for i, b in enumerate(bodies)]
    # The news comes late: by then the first bodies have had the detector shipped.
    urls += [feed_server.route(f"/n{i}", Reply(body=b, delay=0.5)) for i, b in enumerate(news)]
    shipments = tmp_path / "shipments"
    shipments.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(shipments))
    now = datetime.now(UTC)

    def poll(name: str, executor: Any) -> Database:
        db = open_database(f"sqlite:///{tmp_path / name}")
        with db.write() as session:
            sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
        subscribe(db, *urls)
        report = poll_due_feeds(db=db, settings=poll_settings(), now=now, parse_executor=executor)
        assert not report.failed and report.flags > 0
        return db

    def threads(_feeds: int) -> Executor:
        return parse_threads()

    workers = ParseWorkers()
    try:
        for ready in workers.start(n):
            ready.result(timeout=60)
        in_workers = poll("workers.db", workers)
        pool = workers(PROCESS_POOL_MIN_FEEDS)
        held = [pool.submit(_holds_a_detector, 0.2) for _ in range(8)]
        assert any(f.result(timeout=60) for f in held)
    finally:
        workers.close(wait=True)
    by_writer = poll("writer.db", threads)
    assert _flags(in_workers) == _flags(by_writer)
    # The shipment was removed with the poll.
    assert list(shipments.iterdir()) == []
    in_workers.dispose()
    by_writer.dispose()
