"""The one composer: entries -> articles -> findings -> flags, in batched transactions.

`ingest_files` reads local feed files with every core: worker processes read, parse and
scan each file (parsing is the slow step; see monitor/ingest/parsepool.py), the calling process
writes. Writes are grouped into one transaction per batch of entries, so a killed ingest
leaves whole batches behind that a re-run completes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

from sqlmodel import Session, col, select

from feeds.decode import DEFAULT_MAX_BYTES
from feeds.errors import FeedError
from feeds.fetch import Fetcher, FetchOptions, FetchResult
from feeds.models import Article, Feed
from feeds.parse import Entry, parse
from feeds.redact import redact_url
from feeds.store import (
    SourceEntries,
    UpsertResult,
    merge_polled_feeds,
    upsert_many,
)
from monitor.config import SemanticSetting
from monitor.flags.detection import (
    FlagChanges,
    Scans,
    apply_findings,
    detect_articles,
    findings_for,
    insert_flags,
    load_detector,
)
from monitor.flags.incidents import assign_incidents
from monitor.ingest.parsepool import (
    ParsePool,
    Scanned,
    default_workers,
    parse_file,
    scan_entries,
)
from monitor.store.db import Database, as_utc
from monitor.store.models import Flag
from pledges.bulk import collector_paused
from pledges.detect import Detector, Finding
from pledges.store import count_pledges

log = logging.getLogger(__name__)

# One write transaction per this many entries (or files), not one per article.
BATCH_ENTRIES = 1_000
BATCH_FILES = 50
# Files a directory given to ingest contributes, gzipped or not, and any `.gz` file
# (files named explicitly are always read).
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".feed"}
# Grouping flags into incidents compares each new flag with its pledge's recent flags, so
# it runs once per this many entries (and at the end), not once per batch.
GROUP_EVERY = 20_000
# Below this many files a process pool costs more than it saves.
MIN_FILES_FOR_WORKERS = 4


@dataclass
class SourceResult:
    """What one input (file or feed) gave."""

    source: str
    entries: int = 0
    # Entries with nothing to store (no headline, text or link): counted, never stored.
    empty: int = 0
    new: int = 0
    updated: int = 0
    flags: int = 0
    error: str | None = None
    degraded: str | None = None

    @property
    def error_kind(self) -> str | None:
        """The error's short kind (`empty`, `too_large`...): errors read "kind: message"."""
        return self.error.partition(": ")[0] if self.error else None

    @property
    def error_message(self) -> str | None:
        return self.error.partition(": ")[2] if self.error else None


@dataclass
class IngestReport:
    """What an ingest run did, per input and in total."""

    sources: list[SourceResult] = field(default_factory=list)

    @property
    def rejected(self) -> list[SourceResult]:
        return [s for s in self.sources if s.error]

    @property
    def new(self) -> int:
        return sum(s.new for s in self.sources)

    @property
    def flags(self) -> int:
        return sum(s.flags for s in self.sources)


def store_entries(
    *,
    db: Database,
    detector: Detector,
    entries: Sequence[Entry],
    source: str,
    outlet: str,
    feed: Feed | None = None,
    now: datetime | None = None,
) -> tuple[int, int, FlagChanges]:
    """Store one source's entries and flag them, in one write transaction."""
    now = now or datetime.now(UTC)
    with db.write() as session:
        stored, changes = store_sources(
            session=session,
            detector=detector,
            items=[SourceEntries(entries, source, outlet)],
            feeds=[feed] if feed is not None else [],
            now=now,
        )
    return len(stored[0].new), len(stored[0].updated), changes


def store_sources(
    *,
    session: Session,
    detector: Detector,
    items: Sequence[SourceEntries],
    feeds: Sequence[Feed],
    now: datetime,
    scans: Scans | None = None,
) -> tuple[list[UpsertResult], FlagChanges]:
    """Store several sources' entries, flag what changed and group the new flags.

    `feeds` are polled rows to write back, one per item in order (or none at all); their
    ids become the items' `feed_id`. A fixed number of statements however many items.
    `scans`: entries already scanned (in a poll's parse workers), by content hash.
    """
    if feeds:
        ids = merge_polled_feeds(session, feeds)
        items = [replace(item, feed_id=i) for item, i in zip(items, ids, strict=True)]
    stored = upsert_many(session=session, items=items, now=now)
    # An article new in one feed and changed by another is in both results: scan it once.
    changed = list({id(a): a for r in stored for a in r.changed}.values())
    fresh = {a.id for r in stored for a in r.new if a.id is not None}
    changes = detect_articles(
        session=session, detector=detector, articles=changed, now=now, fresh=fresh, scans=scans
    )
    assign_incidents(
        session=session,
        flags=changes.created,
        now=now,
        articles={a.id: a for a in changed if a.id is not None},
    )
    return stored, changes


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Input paths with each directory replaced by the feed files under it, sorted."""
    out: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*")) if p.is_file() and _is_feed_file(p))
        else:
            out.append(item)
    return out


def _is_feed_file(path: Path) -> bool:
    # feed.xml, and any gzip file (feed.xml.gz, feed.gz, news.2024-05-01.gz): the inner
    # name says little, and a .gz that is not a feed is rejected with its reason.
    name = path.name.lower()
    return name.endswith(".gz") or Path(name).suffix in FEED_SUFFIXES


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def fetch_sources(urls: Sequence[str], options: FetchOptions, now: datetime) -> list[Scanned]:
    """Fetch feed URLs once (concurrently, with the poller's limits and address rules)."""

    async def fetch_all() -> list[FetchResult | BaseException]:
        async with Fetcher(options) as fetcher:
            # As in a poll, a bug must cost one URL, not every input of the ingest.
            return await asyncio.gather(*(fetcher.fetch(u) for u in urls), return_exceptions=True)

    out = []
    for url, result in zip(urls, asyncio.run(fetch_all()), strict=True):
        item = Scanned(source=url)
        if isinstance(result, Exception):
            log.error("fetch crashed url=%s", redact_url(url), exc_info=result)
            item.error = f"internal: {type(result).__name__}: {result}"
        elif isinstance(result, BaseException):
            raise result
        elif not result.ok:
            item.error = f"{result.error_kind}: {result.error}"
        else:
            try:
                item.feed = parse(
                    result.content, url=result.final_url, headers=result.headers, now=now
                )
            except FeedError as exc:
                item.error = f"{exc.kind}: {exc}"
        out.append(item)
    return out


def ingest_files(
    *,
    db: Database | Callable[[], Database],
    paths: Sequence[str],
    detector: Detector | None = None,
    now: datetime | None = None,
    on_progress: Callable[[SourceResult], None] | None = None,
    workers: int | None = None,
    batch_entries: int = BATCH_ENTRIES,
    fetched: Sequence[Scanned] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    on_stage: Callable[[Stage], None] | None = None,
    semantic: SemanticSetting = False,
    min_score: float | None = None,
    freeze_catalogue: bool = False,
) -> IngestReport:
    """Parse local feed files once, store new articles and flag them; bad files are reported.

    `db` may be a function that opens the database: worker processes then start parsing
    while it runs. `max_bytes` caps what a gzip file may decompress to. `on_stage` hears
    each file's parsing and scanning (by entries) when files are parsed in this process,
    and each batch's write. `semantic` turns the semantic layer on (or only its reading),
    and `min_score` sets the score flags start from, when no `detector` is given.
    `freeze_catalogue` puts the catalogue it loads out of the cyclic collector's reach
    (`gc.freeze`), for a process that ends with this ingest.
    """
    now = now or datetime.now(UTC)
    workers = default_workers() if workers is None else workers
    workers = min(workers, len(paths))
    with ExitStack() as stack:
        pool = None
        if workers > 1 and len(paths) >= MIN_FILES_FOR_WORKERS:
            pool = stack.enter_context(
                ParsePool(paths, now=now, workers=workers, max_bytes=max_bytes)
            )
        database = db() if callable(db) else db
        if detector is None:
            with database.session() as session, collector_paused():
                if pool is not None:
                    pool.catalogue_size(count_pledges(session))
                detector = load_detector(session, semantic, min_score)
                if freeze_catalogue:
                    # Frozen before the collector is back on, so that it never walks the
                    # catalogue's objects (a 10,000-pledge one holds hundreds of
                    # thousands; each walk takes a tenth of a second).
                    gc.freeze()
        if pool is not None:
            pool.send_detector(detector)
            scanned: Iterator[Scanned] = pool.results()
        else:
            scanned = _in_process(paths, detector, now, max_bytes, on_stage)
        # Feeds fetched from URLs (already parsed) are scanned and stored like files.
        from_urls = (scan_entries(item, detector, now) for item in fetched)
        return _store_all(
            database, detector, chain(from_urls, scanned), now, batch_entries, on_progress, on_stage
        )


@dataclass(frozen=True)
class Stage:
    """Where a long ingest is: `parsing` a file, `scanning` its entries, `storing` a batch."""

    stage: str
    source: str
    done: int = 0
    total: int = 0


def _in_process(
    paths: Sequence[str],
    detector: Detector,
    now: datetime,
    max_bytes: int,
    on_stage: Callable[[Stage], None] | None,
) -> Iterator[Scanned]:
    for path in paths:
        if on_stage is None:
            yield scan_entries(parse_file(path, now, max_bytes), detector, now)
            continue
        on_stage(Stage("parsing", path))
        parsed = parse_file(path, now, max_bytes)

        def scanned(done: int, total: int, path: str = path) -> None:
            on_stage(Stage("scanning", path, done, total))

        yield scan_entries(parsed, detector, now, scanned)


def _store_all(
    db: Database,
    detector: Detector,
    scanned: Iterator[Scanned],
    now: datetime,
    batch_entries: int,
    on_progress: Callable[[SourceResult], None] | None,
    on_stage: Callable[[Stage], None] | None = None,
) -> IngestReport:
    report = IngestReport()
    batch: list[Scanned] = []
    size = since_grouping = 0
    for item in scanned:
        batch.append(item)
        size += len(item.feed.entries) if item.feed else 0
        if size >= batch_entries or len(batch) >= BATCH_FILES:
            if on_stage is not None:
                on_stage(Stage("storing", item.source, size, size))
            _write_batch(db, detector, batch, now, report, on_progress)
            since_grouping += size
            batch, size = [], 0
            if since_grouping >= GROUP_EVERY:
                group_new_flags(db, now)
                since_grouping = 0
    if batch:
        if on_stage is not None:
            on_stage(Stage("storing", batch[-1].source, size, size))
        _write_batch(db, detector, batch, now, report, on_progress)
    group_new_flags(db, now)
    return report


def group_new_flags(db: Database, now: datetime) -> int:
    """Put every flag that has no incident yet into one (also those a killed run left)."""
    with db.write() as session:
        flags = list(session.scalars(select(Flag).where(col(Flag.incident_id).is_(None))))
        assign_incidents(session=session, flags=flags, now=now)
    return len(flags)


def _write_batch(
    db: Database,
    detector: Detector,
    batch: Sequence[Scanned],
    now: datetime,
    report: IngestReport,
    on_progress: Callable[[SourceResult], None] | None,
) -> None:
    """Store and flag several files' entries in one write transaction.

    All files of the batch go through one `upsert_many` and one `_flag`, so the batch
    costs a fixed number of statements however many files it holds.
    """
    results: list[SourceResult] = []
    items: list[SourceEntries] = []
    stored_results: list[SourceResult] = []
    scans: Scans = {}
    for item in batch:
        res = SourceResult(source=item.source, error=item.error)
        results.append(res)
        if item.feed is None:
            continue
        if not item.scans:
            # Unscanned (a catalogue too big to ship to the workers): scanned here, before
            # the write transaction, so the lock is held for writing only.
            scan_entries(item, detector, now)
        res.entries = len(item.feed.entries)
        res.degraded = item.feed.degraded_reason
        outlet = item.feed.title or Path(item.source).stem
        items.append(SourceEntries(item.feed.entries, item.source, outlet))
        stored_results.append(res)
        scans.update(item.scans)
    # New flags are inserted once per batch, not before every query (the store writes
    # article updates itself).
    with db.write() as session, session.no_autoflush:
        stored = upsert_many(session=session, items=items, now=now, load_new=False)
        changes = _flag(session, detector, stored, scans, now)
        insert_flags(session, changes.created)
    # A flag counts for the file that first brought its article in (or changed it).
    article_file: dict[int, int] = {}
    for i, (res, upserted) in enumerate(zip(stored_results, stored, strict=True)):
        res.new, res.updated = len(upserted.new_ids), len(upserted.updated)
        res.empty = upserted.empty
        for article_id, _ in upserted.new_ids.values():
            article_file.setdefault(article_id, i)
        for art in upserted.updated:
            if art.id is not None:
                article_file.setdefault(art.id, i)
    for flag in changes.created:
        stored_results[article_file[flag.article_id]].flags += 1
    for res in results:
        report.sources.append(res)
        if res.error:
            log.warning(
                "ingest failed source=%s error=%s message=%s",
                res.source,
                res.error_kind,
                res.error_message,
            )
        else:
            log.info(
                "ingested source=%s entries=%d empty=%d new=%d updated=%d flags=%d degraded=%s",
                res.source,
                res.entries,
                res.empty,
                res.new,
                res.updated,
                res.flags,
                res.degraded,
            )
        if on_progress is not None:
            on_progress(res)


def _flag(
    session: Session,
    detector: Detector,
    stored: Sequence[UpsertResult],
    scans: Scans,
    now: datetime,
) -> FlagChanges:
    """Flags for new and changed articles, from the workers' scans where they still apply."""
    changes = FlagChanges()
    new_ids = [v for r in stored for v in r.new_ids.values()]
    updated = list({a.id: a for r in stored for a in r.updated}.values())
    if detector.size == 0 or not (new_ids or updated):
        return changes

    flagged: dict[int, list[Finding]] = {}
    for article_id, e in new_ids:
        found = findings_for(
            detector,
            scans,
            title=e.title,
            text=e.text,
            digest=e.content_hash,
            published=e.published or now,
        )
        if found:
            flagged[article_id] = found
    if flagged:
        for art in session.scalars(select(Article).where(col(Article.id).in_(list(flagged)))):
            assert art.id is not None
            changes.merge(
                apply_findings(
                    session=session, article=art, findings=flagged[art.id], now=now, existing=[]
                )
            )
    existing: dict[int, list[Flag]] = {}
    ids = [a.id for a in updated if a.id is not None]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for f in session.scalars(select(Flag).where(col(Flag.article_id).in_(chunk))):
            existing.setdefault(f.article_id, []).append(f)
    for art in updated:
        assert art.id is not None
        published = as_utc(art.published_at) or now
        found = findings_for(
            detector,
            scans,
            title=art.title,
            text=art.text,
            digest=art.content_hash,
            published=published,
        )
        if not found and art.id not in existing:
            continue
        changes.merge(
            apply_findings(
                session=session,
                article=art,
                findings=found,
                now=now,
                existing=existing.get(art.id, []),
            )
        )
    return changes
