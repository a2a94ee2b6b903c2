"""Polling: claim due feeds with leases, fetch them concurrently, parse, store, record health.

Per feed: fetch (feeds.fetch) -> parse off the event loop -> one write transaction with
the articles, their flags, the new validators, the health and the lease release
(monitor.ingest.pipeline.store_entries). A failure anywhere is recorded on that feed's row in
a transaction that reads the row afresh: a store that failed after a 200 leaves the old
ETag, so the next poll fetches the feed again. One feed's failure never stops the
others.

Feeds are claimed (monitor.poll.claims) in batches while earlier ones are still in
flight, so thousands of due feeds never wait behind a barrier. Database work runs on one
writer thread (monitor.poll.writer; SQLite has one writer anyway), where 304s and
failures, and feeds to store (monitor.poll.store), are batched while it is busy; fetching
runs on the event loop. Parsing (the slowest step) runs in worker processes when a poll
has many feeds and the machine has two cores or more, else on a small thread pool
(monitor.poll.workers; a daemon keeps its workers between polls).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import shutil
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session, select

from feeds.errors import FeedError
from feeds.fetch import Fetcher, FetchResult
from feeds.headers import cache_max_age
from feeds.health import (
    move_feed,
    note_permanent_redirect,
    record_failure,
    record_success,
)
from feeds.models import Feed
from feeds.parse import ParsedFeed, parse
from feeds.redact import redact_text, redact_url
from monitor.config import Settings
from monitor.flags.detection import Scans, load_detector
from monitor.ingest.parsepool import shippable
from monitor.poll.claims import (
    claim_feeds,
    claim_share,
    default_owner,
    release_dead_owners,
    renew_leases,
)
from monitor.poll.report import FeedPollResult, PollReport
from monitor.poll.scanning import (
    ShippedDetector,
    parse_and_scan,
    ship,
    shipment_directory,
)
from monitor.poll.settings import fetch_options, health_policy
from monitor.poll.store import MAX_ENTRIES, MAX_FEEDS, Stored, StoreJob, store_many, store_one
from monitor.poll.workers import (
    PROCESS_POOL_MIN_FEEDS,
    parse_pool,
    parse_threads,
    scans_ahead,
    warm,
)
from monitor.poll.writer import Batcher, DbWriter
from monitor.store.db import Database
from pledges.detect import Detector

log = logging.getLogger(__name__)


def _snapshot(feed: Feed) -> dict[str, Any]:
    """A feed row's column values as claimed: cheap to take, made into a Feed on failure.

    (Constructing a SQLModel row costs about half a millisecond; most polls never fail.)
    """
    return {name: getattr(feed, name) for name in Feed.model_fields}


def _other_feed_has_url(session: Session, feed_id: int, url: str) -> bool:
    stmt = select(Feed.id).where(Feed.url == url, Feed.id != feed_id)
    return session.exec(stmt).first() is not None


class _Poll:
    """One poll run: the fetcher, the writer, the parse pool and the settings they share."""

    def __init__(
        self,
        *,
        db: Database,
        settings: Settings,
        detector: Detector | None,
        owner: str,
        now: datetime | None,
        on_progress: Callable[[FeedPollResult], None] | None,
        parse_executor: Callable[[int], Executor] = parse_pool,
    ) -> None:
        self.db = db
        self.detector = detector
        self.owner = owner
        self.fixed_now = now
        self.on_progress = on_progress
        self.parse_executor = parse_executor
        self.options = fetch_options(settings)
        self.policy = health_policy(settings)
        self.lease_seconds = float(settings.daemon.lease_seconds)
        self.semantic = settings.detect.semantic
        self.min_score = settings.detect.min_score
        self.writer = DbWriter(db)
        # Started on the first body to parse: a poll of 304s needs none.
        self.parser: Executor | None = None
        self.claimed = 0
        self.stores: Batcher[StoreJob, Stored] | None = None
        # Claimed feeds not yet written back: their leases are renewed while they wait.
        self.held: set[int] = set()
        # The detector on its way to the parse workers (monitor.poll.scanning), started
        # by the first feed polled for the first time, and the directory it is kept in.
        self._shipping: asyncio.Task[ShippedDetector | None] | None = None
        self._ship_dir: str | None = None

    def now(self) -> datetime:
        return self.fixed_now or datetime.now(UTC)

    def close(self) -> None:
        self.writer.close()
        if self.parser is not None:
            # Every parse has returned by now; the workers' exit (a third of a second of
            # interpreter teardown here) need not hold up the poll's answer.
            self.parser.shutdown(wait=False)
        if self._ship_dir is not None:
            # After the writer's last call: the shipment is written on its thread.
            shutil.rmtree(self._ship_dir, ignore_errors=True)

    async def run(self, *, limit: int | None, feed_ids: Sequence[int] | None) -> PollReport:
        report = PollReport(owner=self.owner)
        loop = asyncio.get_running_loop()
        start = loop.time()
        self.stores = Batcher(
            self.writer,
            group=lambda jobs: store_many(self.db, self._loaded_detector(), jobs),
            one=lambda job: store_one(self.db, self._loaded_detector(), job),
            max_items=MAX_FEEDS,
            weight=lambda job: len(job.entries),
            max_weight=MAX_ENTRIES,
        )
        try:
            await self.writer.call(
                release_dead_owners, db=self.db, me=self.owner, now=datetime.now(UTC)
            )
        except Exception as exc:  # their leases still run out by themselves
            log.warning("could not check for dead pollers' leases: %s", exc)
        renewer = asyncio.create_task(self._renew_leases())
        try:
            async with Fetcher(self.options) as fetcher:
                await self._run_feeds(fetcher, report, limit=limit, feed_ids=feed_ids)
        finally:
            renewer.cancel()
        report.elapsed = loop.time() - start
        return report

    async def _run_feeds(
        self,
        fetcher: Fetcher,
        report: PollReport,
        *,
        limit: int | None,
        feed_ids: Sequence[int] | None,
    ) -> None:
        concurrency = self.options.concurrency
        # Claim well ahead: a claim may wait behind a store on the writer thread.
        batch = max(64, concurrency * 8)
        low_water = batch // 2
        pending: set[asyncio.Task[FeedPollResult]] = set()
        claimed = 0
        exhausted = False
        while True:
            if not exhausted and len(pending) < low_water:
                if feed_ids is not None:
                    want = len(feed_ids)
                else:  # this poller's share of the round, so live daemons split it
                    want = await self.writer.call(
                        claim_share, db=self.db, owner=self.owner, now=self.now(), batch=batch
                    )
                if limit is not None:
                    want = min(want, limit - claimed)
                feeds: list[Feed] = []
                if want > 0:
                    feeds = await self.writer.call(
                        claim_feeds,
                        db=self.db,
                        owner=self.owner,
                        now=self.now(),
                        lease_seconds=self.lease_seconds,
                        limit=want,
                        feed_ids=feed_ids,
                    )
                claimed += len(feeds)
                self.claimed = claimed
                if self.parser is None and claimed >= PROCESS_POOL_MIN_FEEDS:
                    # Start the workers now, while the first requests are on the wire,
                    # not when the first body arrives.
                    self.parser = self.parse_executor(claimed)
                    try:
                        warm(self.parser)
                    except (BrokenProcessPool, RuntimeError, OSError):
                        pass  # _parse falls back to threads on the first real body
                exhausted = feed_ids is not None or len(feeds) < want or want <= 0
                if feed_ids is not None:
                    got = {f.id for f in feeds}
                    report.skipped = [i for i in feed_ids if i not in got]
                for feed in feeds:
                    assert feed.id is not None
                    self.held.add(feed.id)
                    pending.add(asyncio.create_task(self.poll_feed(fetcher, feed)))
            if not pending:
                break
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                result = task.result()
                self.held.discard(result.feed_id)
                report.results.append(result)
                if self.on_progress is not None:
                    self.on_progress(result)

    async def _renew_leases(self) -> None:
        """Keep the leases of claimed feeds that still wait (a slow host's queue) alive."""
        every = max(1.0, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(every)
            held = sorted(self.held)
            if not held:
                continue
            # Never shorter than the claim itself (a fixed `now` may lie ahead of the clock).
            until = max(datetime.now(UTC), self.now()) + timedelta(seconds=self.lease_seconds)
            try:
                await self.writer.call(
                    renew_leases, db=self.db, owner=self.owner, feed_ids=held, until=until
                )
            except Exception as exc:  # the next round tries again; expiry is the fallback
                log.warning("could not renew leases of %d feeds: %s", len(held), exc)

    def _loaded_detector(self) -> Detector:
        """The detector, compiled on first use (on the writer thread): 304s need none."""
        if self.detector is None:
            with self.db.session() as session:
                self.detector = load_detector(session, self.semantic, self.min_score)
        return self.detector

    async def poll_feed(self, fetcher: Fetcher, feed: Feed) -> FeedPollResult:
        """Fetch, parse and store one feed; never raises."""
        assert feed.id is not None
        # What a poll reports and logs shows the URL with its credentials masked.
        res = FeedPollResult(feed_id=feed.id, url=redact_url(feed.url))
        # The row as claimed (we hold its lease): failures are recorded on this copy, so a
        # store that failed after a 200 leaves the old validators.
        claimed = _snapshot(feed)
        loop = asyncio.get_running_loop()
        start = loop.time()
        try:
            fetched = await fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            res.status = fetched.status
            if not fetched.ok:
                await self._fail(
                    claimed,
                    res,
                    fetched.error_kind or "error",
                    fetched.error or "",
                    status=fetched.status,
                    retry_after=fetched.retry_after,
                )
            elif fetched.not_modified:
                res.not_modified = True
                await self._record_not_modified(feed, fetched, res)
            else:
                await self._store(feed, claimed, fetched, res)
        except Exception as exc:  # a bug must cost one feed, not the poll
            log.exception("poll crashed feed_id=%s url=%s", feed.id, feed.url)
            message = f"{type(exc).__name__}: {exc}"
            await self._fail(claimed, res, "internal", message, status=res.status)
        res.elapsed = loop.time() - start
        self._log(res)
        return res

    def _shipped(self) -> ShippedDetector | None:
        """The detector as shipped to the parse workers, once there; until then (or when
        it stays with the writer) None, and the writer scans."""
        if self._shipping is None:
            self._shipping = asyncio.create_task(self._ship())
            return None
        return self._shipping.result() if self._shipping.done() else None

    async def _ship(self) -> ShippedDetector | None:
        try:
            detector = await self.writer.call(self._loaded_detector)
            if not shippable(detector):
                return None
            self._ship_dir = shipment_directory()
            return await self.writer.call(ship, detector, self._ship_dir)
        except Exception as exc:  # the writer scans, and reports a detector that fails
            log.warning("detector not shipped to the parse workers: %s", exc)
            return None

    async def _parse(
        self, fetched: FetchResult, now: datetime, first_poll: bool
    ) -> tuple[ParsedFeed, Scans]:
        """Parse a body off the event loop; a feed's first poll is scanned there too.

        A first poll has only new entries: its worker scans them (monitor.poll.scanning)
        instead of the writer thread, when the parse runs in a daemon's kept workers.
        """
        if self.parser is None:
            self.parser = self.parse_executor(self.claimed)
        loop = asyncio.get_running_loop()
        job = functools.partial(
            parse, fetched.content, url=fetched.final_url, headers=fetched.headers, now=now
        )
        pool = self.parser
        shipped = self._shipped() if first_poll and scans_ahead(pool) else None
        try:
            if shipped is not None:
                return await loop.run_in_executor(
                    pool,
                    functools.partial(
                        parse_and_scan,
                        fetched.content,
                        url=fetched.final_url,
                        headers=fetched.headers,
                        now=now,
                        shipped=shipped,
                    ),
                )
            return await loop.run_in_executor(pool, job), {}
        except (BrokenProcessPool, RuntimeError) as exc:
            if isinstance(pool, ThreadPoolExecutor) or isinstance(exc, RecursionError):
                raise
            # Worker processes cannot start here (e.g. a script without a __main__ guard)
            # or died: parse in threads from now on.
            if self.parser is pool:
                log.warning("parse workers unavailable (%s); parsing in threads", exc)
                self.parser = parse_threads()
                pool.shutdown(wait=False, cancel_futures=True)
            assert self.parser is not None
            return await loop.run_in_executor(self.parser, job), {}

    async def _store(
        self, feed: Feed, claimed: dict[str, Any], fetched: FetchResult, res: FeedPollResult
    ) -> None:
        now = self.now()
        try:
            parsed, scans = await self._parse(fetched, now, feed.last_success_at is None)
        except FeedError as exc:
            await self._fail(claimed, res, exc.kind, str(exc), status=fetched.status)
            return
        except (RecursionError, MemoryError, ValueError) as exc:
            message = f"feed could not be parsed ({type(exc).__name__})"
            await self._fail(claimed, res, "parse_crash", message, status=fetched.status)
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
        feed.name = feed.name or parsed.title or None
        feed.site_url = feed.site_url or parsed.link
        source = feed.url
        target = note_permanent_redirect(feed, fetched.permanent_redirect, policy=self.policy)
        if target is not None:
            await self._move_if_free(feed, target, res)
        feed.lease_owner = None
        feed.lease_until = None
        outlet = feed.name or urlsplit(feed.url).hostname or feed.url
        assert self.stores is not None
        try:
            stored = await self.stores.submit(
                StoreJob(
                    feed=feed,
                    entries=parsed.entries,
                    source=source,
                    outlet=outlet,
                    now=now,
                    scans=scans,
                )
            )
        except Exception as exc:
            # Rolled back with the articles: the row keeps its old validators and URL.
            log.warning("store failed feed_id=%s url=%s error=%s", feed.id, source, exc)
            res.moved_to = None
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            message = f"could not store the feed's entries: {type(exc).__name__}: {first_line}"
            await self._fail(claimed, res, "store_failed", message, status=fetched.status)
            return
        res.new, res.updated, res.flags = stored.new, stored.updated, stored.flags

    async def _move_if_free(self, feed: Feed, target: str, res: FeedPollResult) -> None:
        assert feed.id is not None
        if await self.writer.call(self._url_taken, feed.id, target):
            log.warning(
                "feed moved but the new URL is already subscribed feed_id=%s url=%s target=%s",
                feed.id,
                feed.url,
                target,
            )
            return
        move_feed(feed, target)
        res.moved_to = redact_url(target)

    def _url_taken(self, feed_id: int, url: str) -> bool:
        with self.db.session() as session:
            return _other_feed_has_url(session, feed_id, url)

    async def _record_not_modified(
        self, feed: Feed, fetched: FetchResult, res: FeedPollResult
    ) -> None:
        record_success(
            feed,
            now=self.now(),
            status=304,
            policy=self.policy,
            not_modified=True,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            hints=(cache_max_age(fetched.headers),),
        )
        target = note_permanent_redirect(feed, fetched.permanent_redirect, policy=self.policy)
        if target is not None:
            await self._move_if_free(feed, target, res)
        feed.lease_owner = None
        feed.lease_until = None
        await self.writer.save_feed(feed)

    async def _fail(
        self,
        claimed: dict[str, Any],
        res: FeedPollResult,
        kind: str,
        message: str,
        *,
        status: int | None,
        retry_after: float | None = None,
    ) -> None:
        res.error_kind = kind
        res.error = redact_text(message)
        res.gone = kind == "gone"
        feed = Feed(**claimed)
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
        try:
            await self.writer.save_feed(feed)
        except Exception:
            # The lease runs out by itself; the next poll retries this feed.
            log.exception("could not record a failure feed_id=%s url=%s", res.feed_id, res.url)

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
    parse_executor: Callable[[int], Executor] = parse_pool,
) -> PollReport:
    """The async form of poll_due_feeds, for callers already inside an event loop.

    `parse_executor(feeds)` makes the pool that parses bodies (worker processes for big
    polls by default); if its workers break, parsing goes on in threads.
    """
    poll = _Poll(
        db=db,
        settings=settings,
        detector=detector,
        owner=owner or default_owner(),
        now=now,
        on_progress=on_progress,
        parse_executor=parse_executor,
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
    parse_executor: Callable[[int], Executor] = parse_pool,
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
            parse_executor=parse_executor,
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
