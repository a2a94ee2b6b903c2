"""Polling: claim due feeds with leases, fetch them concurrently, parse, store, record health.

Several daemons may share one database: a feed is claimed by setting `lease_owner` and
`lease_until` in a short write transaction (PostgreSQL: `FOR UPDATE SKIP LOCKED`;
SQLite: `BEGIN IMMEDIATE`), so each due feed is polled by one of them. Claims are made
in batches while earlier feeds are still in flight, so thousands of due feeds never
wait behind a barrier and no lease is taken long before its fetch starts.

Per feed: fetch (feeds.fetch) -> parse in a worker thread -> one write transaction
with the articles, their flags, the new validators, the health and the lease release
(monitor.pipeline.store_entries). A failure anywhere is recorded on that feed's row
in a transaction of its own, which reads the row afresh: a store that failed after a
200 leaves the old ETag, so the next poll fetches the feed again. One feed's failure
never stops the others. Database work runs on one writer thread (SQLite has one writer
anyway), parsing on a small thread pool, fetching on the event loop.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from feeds.addresses import AddressPolicy
from feeds.errors import FeedError
from feeds.fetch import Fetcher, FetchOptions, FetchResult
from feeds.headers import cache_max_age
from feeds.health import (
    HealthPolicy,
    move_feed,
    note_permanent_redirect,
    record_failure,
    record_success,
)
from feeds.models import Feed
from feeds.parse import ParsedFeed, parse
from monitor.config import Settings
from monitor.db import Database
from monitor.detection import load_detector
from monitor.pipeline import store_entries
from pledges.detect import Detector

log = logging.getLogger(__name__)

T = TypeVar("T")
PARSE_THREADS = 2


@dataclass
class FeedPollResult:
    """What polling one feed did."""

    feed_id: int
    url: str
    status: int | None = None
    not_modified: bool = False
    entries: int = 0
    new: int = 0
    updated: int = 0
    flags: int = 0
    error_kind: str | None = None
    error: str | None = None
    degraded: str | None = None
    moved_to: str | None = None
    gone: bool = False
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error_kind is None


@dataclass
class PollReport:
    """What one poll run did, feed by feed."""

    owner: str
    results: list[FeedPollResult] = field(default_factory=list)
    # Feeds asked for by id that were not polled (unknown, or leased by another poller).
    skipped: list[int] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def failed(self) -> list[FeedPollResult]:
        return [r for r in self.results if not r.ok]

    @property
    def not_modified(self) -> int:
        return sum(1 for r in self.results if r.not_modified)

    @property
    def new(self) -> int:
        return sum(r.new for r in self.results)

    @property
    def flags(self) -> int:
        return sum(r.flags for r in self.results)


def fetch_options(settings: Settings) -> FetchOptions:
    """Fetch limits and address policy from `[feeds]` settings."""
    f = settings.feeds
    return FetchOptions(
        concurrency=f.concurrency,
        per_host=f.per_host,
        max_bytes=f.max_bytes,
        connect_timeout=f.connect_timeout,
        read_timeout=f.read_timeout,
        total_timeout=f.total_timeout,
        user_agent=f.user_agent,
        policy=address_policy(settings),
    )


def address_policy(settings: Settings) -> AddressPolicy:
    """Which addresses feeds may be fetched from (`[feeds] allow_private_addresses`...)."""
    return AddressPolicy.build(
        allow_private=settings.feeds.allow_private_addresses,
        allowed_networks=settings.feeds.allowed_networks,
    )


def health_policy(settings: Settings) -> HealthPolicy:
    return HealthPolicy(
        max_backoff_seconds=settings.feeds.max_backoff_hours * 3600,
        min_interval_seconds=settings.feeds.min_interval_seconds,
    )


def default_owner() -> str:
    """A lease owner name unique to this process: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _due(now: datetime) -> Any:
    return or_(col(Feed.next_due_at).is_(None), col(Feed.next_due_at) <= now)


def _unleased(now: datetime) -> Any:
    return or_(col(Feed.lease_until).is_(None), col(Feed.lease_until) < now)


def count_due_feeds(*, db: Database, now: datetime | None = None) -> int:
    """How many feeds are due and not leased (for a progress bar's total)."""
    now = now or datetime.now(UTC)
    with db.session() as session:
        stmt = (
            select(func.count())
            .select_from(Feed)
            .where(_due(now), _unleased(now), col(Feed.gone).is_(False))
        )
        return int(session.exec(stmt).one())


def claim_feeds(
    *,
    db: Database,
    owner: str,
    now: datetime,
    lease_seconds: float,
    limit: int | None = None,
    feed_ids: Sequence[int] | None = None,
) -> list[Feed]:
    """Lease due feeds (or the feeds named, due or not) to `owner`; committed at once.

    Feeds leased by another owner whose lease has not expired are never taken; gone
    feeds are taken only when named.
    """
    stmt = select(Feed).where(_unleased(now))
    if feed_ids is not None:
        if not feed_ids:
            return []
        stmt = stmt.where(col(Feed.id).in_(list(feed_ids)))
    else:
        stmt = stmt.where(_due(now), col(Feed.gone).is_(False))
    stmt = stmt.order_by(col(Feed.next_due_at).asc().nulls_first(), col(Feed.id))
    if limit is not None:
        stmt = stmt.limit(limit)
    # SQLite ignores FOR UPDATE; its write transaction is BEGIN IMMEDIATE instead.
    stmt = stmt.with_for_update(skip_locked=True)
    until = now + timedelta(seconds=lease_seconds)
    with db.write() as session:
        feeds = list(session.exec(stmt).all())
        for feed in feeds:
            feed.lease_owner = owner
            feed.lease_until = until
            session.add(feed)
    return feeds


def release_leases(*, db: Database, owner: str, feed_ids: Sequence[int] | None = None) -> int:
    """Give back leases held by `owner` (all of them, or those of the feeds named)."""
    stmt = update(Feed).where(col(Feed.lease_owner) == owner)
    if feed_ids is not None:
        stmt = stmt.where(col(Feed.id).in_(list(feed_ids)))
    with db.write() as session:
        result = session.execute(stmt.values(lease_owner=None, lease_until=None))
    return int(getattr(result, "rowcount", 0) or 0)


def _other_feed_has_url(session: Session, feed_id: int, url: str) -> bool:
    stmt = select(Feed.id).where(Feed.url == url, Feed.id != feed_id)
    return session.exec(stmt).first() is not None


class _Poll:
    """One poll run: shared clients, pools and settings."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        detector: Detector | None,
        owner: str,
        now: datetime | None,
        on_progress: Callable[[FeedPollResult], None] | None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.detector = detector
        self.owner = owner
        self.fixed_now = now
        self.on_progress = on_progress
        self.options = fetch_options(settings)
        self.policy = health_policy(settings)
        self.lease_seconds = float(settings.daemon.lease_seconds)
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="poll-db")
        self.parser: Executor = ThreadPoolExecutor(
            max_workers=PARSE_THREADS, thread_name_prefix="poll-parse"
        )

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

    async def in_writer(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.writer, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.writer.shutdown(wait=True)
        self.parser.shutdown(wait=True)

    async def run(self, *, limit: int | None, feed_ids: Sequence[int] | None) -> PollReport:
        report = PollReport(owner=self.owner)
        loop = asyncio.get_running_loop()
        start = loop.time()
        if self.detector is None:
            self.detector = await self.in_writer(self._load_detector)
        concurrency = self.options.concurrency
        batch, low_water = max(16, concurrency * 4), max(8, concurrency * 2)
        pending: set[asyncio.Task[FeedPollResult]] = set()
        claimed = 0
        exhausted = False
        async with Fetcher(self.options) as fetcher:
            while True:
                if not exhausted and len(pending) < low_water:
                    want = batch if limit is None else min(batch, limit - claimed)
                    if feed_ids is not None:
                        want = len(feed_ids)
                    feeds: list[Feed] = []
                    if want > 0:
                        feeds = await self.in_writer(
                            claim_feeds,
                            db=self.db,
                            owner=self.owner,
                            now=self.now(),
                            lease_seconds=self.lease_seconds,
                            limit=want,
                            feed_ids=feed_ids,
                        )
                    claimed += len(feeds)
                    exhausted = feed_ids is not None or len(feeds) < want or want <= 0
                    if feed_ids is not None:
                        got = {f.id for f in feeds}
                        report.skipped = [i for i in feed_ids if i not in got]
                    for feed in feeds:
                        pending.add(asyncio.create_task(self.poll_feed(fetcher, feed)))
                if not pending:
                    break
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    result = task.result()
                    report.results.append(result)
                    if self.on_progress is not None:
                        self.on_progress(result)
        report.elapsed = loop.time() - start
        return report

    def _load_detector(self) -> Detector:
        with self.db.session() as session:
            return load_detector(session)

    async def poll_feed(self, fetcher: Fetcher, feed: Feed) -> FeedPollResult:
        """Fetch, parse and store one feed; never raises."""
        assert feed.id is not None
        res = FeedPollResult(feed_id=feed.id, url=feed.url)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            fetched = await fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            res.status = fetched.status
            if not fetched.ok:
                await self._fail(
                    res,
                    fetched.error_kind or "error",
                    fetched.error or "",
                    status=fetched.status,
                    retry_after=fetched.retry_after,
                )
            elif fetched.not_modified:
                res.not_modified = True
                await self.in_writer(self._record_not_modified, feed.id, fetched, res)
            else:
                await self._store(feed, fetched, res)
        except Exception as exc:  # a bug must cost one feed, not the poll
            log.exception("poll crashed feed_id=%s url=%s", feed.id, feed.url)
            await self._fail(res, "internal", f"{type(exc).__name__}: {exc}", status=res.status)
        res.elapsed = loop.time() - start
        self._log(res)
        return res

    async def _store(self, feed: Feed, fetched: FetchResult, res: FeedPollResult) -> None:
        now = self.now()
        loop = asyncio.get_running_loop()
        try:
            parsed: ParsedFeed = await loop.run_in_executor(
                self.parser,
                functools.partial(
                    parse, fetched.content, url=fetched.final_url, headers=fetched.headers, now=now
                ),
            )
        except FeedError as exc:
            await self._fail(res, exc.kind, str(exc), status=fetched.status)
            return
        except (RecursionError, MemoryError, ValueError) as exc:
            await self._fail(
                res,
                "parse_crash",
                f"feed could not be parsed ({type(exc).__name__})",
                status=fetched.status,
            )
            return
        res.entries = len(parsed.entries)
        res.degraded = parsed.degraded_reason
        record_success(
            feed,
            now=now,
            status=fetched.status or 200,
            policy=self.policy,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            entry_count=len(parsed.entries),
            degraded_reason=parsed.degraded_reason,
            hints=(cache_max_age(fetched.headers), parsed.update_seconds),
        )
        if not feed.name and parsed.title:
            feed.name = parsed.title
        if not feed.site_url and parsed.link:
            feed.site_url = parsed.link
        source = feed.url
        target = note_permanent_redirect(feed, fetched.permanent_redirect, policy=self.policy)
        if target is not None:
            await self._move_if_free(feed, target, res)
        feed.lease_owner = None
        feed.lease_until = None
        outlet = feed.name or parsed.title or (urlsplit(feed.url).hostname or feed.url)
        assert self.detector is not None
        try:
            new, updated, changes = await self.in_writer(
                store_entries,
                db=self.db,
                detector=self.detector,
                entries=parsed.entries,
                source=source,
                outlet=outlet,
                feed=feed,
                now=now,
            )
        except Exception as exc:
            # Rolled back with the articles: the row keeps its old validators and URL.
            log.warning("store failed feed_id=%s url=%s error=%s", feed.id, source, exc)
            res.moved_to = None
            await self._fail(
                res,
                "store_failed",
                f"could not store the feed's entries: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}",
                status=fetched.status,
            )
            return
        res.new, res.updated, res.flags = new, updated, len(changes.created)

    async def _move_if_free(self, feed: Feed, target: str, res: FeedPollResult) -> None:
        assert feed.id is not None
        if await self.in_writer(self._url_taken, feed.id, target):
            log.warning(
                "feed moved but the new URL is already subscribed feed_id=%s url=%s target=%s",
                feed.id,
                feed.url,
                target,
            )
            return
        move_feed(feed, target)
        res.moved_to = target

    def _url_taken(self, feed_id: int, url: str) -> bool:
        with self.db.session() as session:
            return _other_feed_has_url(session, feed_id, url)

    def _record_not_modified(self, feed_id: int, fetched: FetchResult, res: FeedPollResult) -> None:
        now = self.now()
        with self.db.write() as session:
            feed = session.get(Feed, feed_id)
            if feed is None:
                return
            record_success(
                feed,
                now=now,
                status=304,
                policy=self.policy,
                not_modified=True,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                hints=(cache_max_age(fetched.headers),),
            )
            target = note_permanent_redirect(feed, fetched.permanent_redirect, policy=self.policy)
            if target is not None and not _other_feed_has_url(session, feed_id, target):
                move_feed(feed, target)
                res.moved_to = target
            feed.lease_owner = None
            feed.lease_until = None
            session.add(feed)

    async def _fail(
        self,
        res: FeedPollResult,
        kind: str,
        message: str,
        *,
        status: int | None,
        retry_after: float | None = None,
    ) -> None:
        res.error_kind = kind
        res.error = message
        res.gone = kind == "gone"
        try:
            await self.in_writer(
                self._record_failure, res.feed_id, kind, message, status, retry_after
            )
        except Exception:
            # The lease runs out by itself; the next poll retries this feed.
            log.exception("could not record a failure feed_id=%s url=%s", res.feed_id, res.url)

    def _record_failure(
        self, feed_id: int, kind: str, message: str, status: int | None, retry_after: float | None
    ) -> None:
        with self.db.write() as session:
            feed = session.get(Feed, feed_id)
            if feed is None:
                return
            record_failure(
                feed,
                now=self.now(),
                kind=kind,
                message=message,
                status=status,
                retry_after=retry_after,
                policy=self.policy,
            )
            feed.lease_owner = None
            feed.lease_until = None
            session.add(feed)

    @staticmethod
    def _log(res: FeedPollResult) -> None:
        if res.ok:
            log.info(
                "polled feed_id=%s url=%s status=%s new=%d updated=%d flags=%d "
                "not_modified=%s elapsed=%.2fs",
                res.feed_id,
                res.url,
                res.status,
                res.new,
                res.updated,
                res.flags,
                res.not_modified,
                res.elapsed,
            )
        else:
            log.warning(
                "poll failed feed_id=%s url=%s status=%s error=%s message=%s",
                res.feed_id,
                res.url,
                res.status,
                res.error_kind,
                res.error,
            )


async def poll_due_feeds_async(
    *,
    db: Database,
    settings: Settings,
    detector: Detector | None = None,
    now: datetime | None = None,
    owner: str | None = None,
    limit: int | None = None,
    feed_ids: Sequence[int] | None = None,
    on_progress: Callable[[FeedPollResult], None] | None = None,
) -> PollReport:
    """The async form of poll_due_feeds, for callers already inside an event loop."""
    poll = _Poll(
        db=db,
        settings=settings,
        detector=detector,
        owner=owner or default_owner(),
        now=now,
        on_progress=on_progress,
    )
    try:
        return await poll.run(limit=limit, feed_ids=feed_ids)
    finally:
        poll.close()


def poll_due_feeds(
    *,
    db: Database,
    settings: Settings,
    detector: Detector | None = None,
    now: datetime | None = None,
    owner: str | None = None,
    limit: int | None = None,
    feed_ids: Sequence[int] | None = None,
    on_progress: Callable[[FeedPollResult], None] | None = None,
) -> PollReport:
    """Poll every due feed once (or the feeds named by id, due or not); one line per feed.

    `now` fixes the clock for scheduling (tests); timeouts always use a monotonic clock.
    """
    return asyncio.run(
        poll_due_feeds_async(
            db=db,
            settings=settings,
            detector=detector,
            now=now,
            owner=owner,
            limit=limit,
            feed_ids=feed_ids,
            on_progress=on_progress,
        )
    )


def poll_feeds_now(
    *,
    db: Database,
    settings: Settings,
    feed_ids: Sequence[int],
    detector: Detector | None = None,
    owner: str | None = None,
    on_progress: Callable[[FeedPollResult], None] | None = None,
) -> PollReport:
    """Poll the feeds named, whether due or not (unless another poller holds them)."""
    return poll_due_feeds(
        db=db,
        settings=settings,
        detector=detector,
        owner=owner,
        feed_ids=feed_ids,
        on_progress=on_progress,
    )
