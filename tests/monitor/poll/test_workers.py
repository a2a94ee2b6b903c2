"""Parse workers a daemon keeps between polls: reused, replaced when dead, stopped on close."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from monitor.ingest.parsepool import default_workers
from monitor.poll.cycle import poll_due_feeds
from monitor.poll.workers import PROCESS_POOL_MIN_FEEDS, ParseWorkers
from monitor.store.db import Database
from tests.feeds.feedserver import FeedServer, Reply, simple_feed
from tests.monitor.poll.test_cycle import count_articles, poll_settings, subscribe

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
