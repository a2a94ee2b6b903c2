"""The scheduler: APScheduler 3 configured so runs are never doubled, stacked or dropped."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

from apscheduler.jobstores.memory import MemoryJobStore
from sqlmodel import select

from feeds.models import Feed
from monitor.config import Settings
from monitor.daemon.rows import spread_first_polls
from monitor.daemon.scheduler import (
    SCHEDULED_JOBS,
    DaemonTasks,
    build_scheduler,
    next_run_times,
    reschedule_jobs,
)
from monitor.store.db import Database, as_utc


class Counter:
    """A job body that counts its runs and how many ran at once."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.runs: list[float] = []
        self.running = 0
        self.most_at_once = 0
        self.lock = threading.Lock()

    def __call__(self) -> None:
        with self.lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.runs.append(time.monotonic())
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1


def tasks(**bodies: Counter) -> DaemonTasks:
    names = ("poll", "digests", "maintenance", "heartbeat")
    return DaemonTasks(**{n: bodies.get(n) or Counter() for n in names})  # type: ignore[arg-type]


def settings(**daemon: object) -> Settings:
    return Settings.model_validate({"daemon": daemon})


def test_every_job_is_in_memory_coalesced_single_instance_and_never_dropped() -> None:
    s = settings(
        poll_tick_seconds=60, digest_check_minutes=5, maintenance_hours=24, heartbeat_seconds=30
    )
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    sched = build_scheduler(
        settings=s, tasks=tasks(), now=now, maintenance_at=now + timedelta(hours=3)
    )
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == set(SCHEDULED_JOBS)
    assert isinstance(sched._jobstores["default"], MemoryJobStore)
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time is None  # a late run still runs, once
    assert jobs["poll"].trigger.interval == timedelta(seconds=60)
    assert jobs["digests"].trigger.interval == timedelta(minutes=5)
    assert jobs["maintenance"].trigger.interval == timedelta(hours=24)
    assert jobs["heartbeat"].trigger.interval == timedelta(seconds=30)
    # The digest due-check and the poll run at start-up; maintenance when it is due.
    assert jobs["digests"].next_run_time == now
    assert jobs["poll"].next_run_time == now
    assert jobs["maintenance"].next_run_time == now + timedelta(hours=3)
    assert jobs["heartbeat"].next_run_time == now + timedelta(seconds=30)


def test_a_job_slower_than_its_interval_never_overlaps_and_late_runs_are_merged() -> None:
    slow = Counter(seconds=2.2)
    sched = build_scheduler(
        settings=settings(poll_tick_seconds=1, heartbeat_seconds=1), tasks=tasks(poll=slow)
    )
    sched.start()
    try:
        time.sleep(5.5)
    finally:
        sched.shutdown(wait=True)
    assert slow.most_at_once == 1
    # 5.5 s of 2.2 s runs: the missed ticks are neither stacked nor all dropped.
    assert 2 <= len(slow.runs) <= 3
    gaps = [b - a for a, b in zip(slow.runs, slow.runs[1:], strict=False)]
    assert all(g >= 2.1 for g in gaps), gaps


def test_a_failing_job_keeps_its_schedule() -> None:
    calls: list[float] = []

    def broken() -> None:
        calls.append(time.monotonic())
        raise RuntimeError("database is down")

    heartbeat = Counter()
    sched = build_scheduler(
        settings=settings(poll_tick_seconds=1, heartbeat_seconds=1),
        tasks=DaemonTasks(
            poll=broken, digests=Counter(), maintenance=Counter(), heartbeat=heartbeat
        ),
    )
    sched.start()
    try:
        time.sleep(3.3)
    finally:
        sched.shutdown(wait=True)
    assert len(calls) >= 3
    assert len(heartbeat.runs) >= 2


def test_reload_applies_changed_intervals_only() -> None:
    sched = build_scheduler(settings=settings(poll_tick_seconds=60), tasks=tasks())
    sched.start(paused=True)
    try:
        changed = reschedule_jobs(sched, settings(poll_tick_seconds=15, heartbeat_seconds=30))
        assert changed == ["poll"]
        assert sched.get_job("poll").trigger.interval == timedelta(seconds=15)
        nxt = next_run_times(sched)["poll"]
        assert nxt is not None and nxt - datetime.now(UTC) <= timedelta(seconds=15)
    finally:
        sched.shutdown(wait=False)


def _feeds(db: Database, n: int, **fields: object) -> None:
    now = datetime.now(UTC)
    with db.write() as s:
        for i in range(n):
            s.add(
                Feed(
                    url=f"https://news{i}.example.org/rss?{fields.get('tag', '')}",
                    created_at=now,
                    **{k: v for k, v in fields.items() if k != "tag"},
                )
            )


def test_start_up_spreads_first_polls_over_the_window(db: Database) -> None:
    now = datetime.now(UTC)
    _feeds(db, 120)  # never polled
    _feeds(db, 5, tag="overdue", next_due_at=now - timedelta(days=3))
    _feeds(db, 5, tag="later", next_due_at=now + timedelta(hours=2))
    _feeds(db, 5, tag="leased", lease_owner="other:1:x", lease_until=now + timedelta(minutes=5))
    _feeds(db, 5, tag="gone", gone=True)
    window = timedelta(minutes=10)
    assert spread_first_polls(db=db, now=now, window=window, rng=random.Random(1)) == 125
    with db.session() as s:
        rows = s.exec(select(Feed)).all()
    spread = [
        as_utc(f.next_due_at)
        for f in rows
        if "later" not in f.url and "leased" not in f.url and "gone" not in f.url
    ]
    assert len(spread) == 125
    offsets = sorted((d - now).total_seconds() for d in spread if d is not None)
    assert offsets[0] >= 0 and offsets[-1] < window.total_seconds()
    # Evenly spread: every tenth of the window gets its share (12-13 feeds).
    buckets = [0] * 10
    for o in offsets:
        buckets[int(o / 60)] += 1
    assert min(buckets) >= 12, buckets
    untouched = {f.url: f for f in rows}
    for f in untouched.values():
        if "later" in f.url:
            assert as_utc(f.next_due_at) == now + timedelta(hours=2)
        if "leased" in f.url or "gone" in f.url:
            assert f.next_due_at is None


def test_no_spread_window_leaves_feeds_due_at_once(db: Database) -> None:
    _feeds(db, 3)
    assert spread_first_polls(db=db, now=datetime.now(UTC), window=timedelta(0)) == 0
    with db.session() as s:
        assert all(f.next_due_at is None for f in s.exec(select(Feed)).all())
