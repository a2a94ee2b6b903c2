"""The one composer: entries -> articles -> findings -> flags, in batched transactions.

`ingest_files` reads local feed files with both cores: worker processes read, parse and
scan each file (parsing is the slow step), the calling process writes. Results come
back in input order with a bounded number of files in flight, and writes are grouped
into one transaction per batch of entries, so memory stays flat however many files
there are, and a killed ingest leaves whole batches behind that a re-run completes.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

from sqlmodel import Session, col, select

from feeds.errors import FeedError
from feeds.models import Article, Feed
from feeds.parse import Entry, ParsedFeed, parse
from feeds.store import UpsertResult, upsert_articles
from monitor.db import Database
from monitor.detection import FlagChanges, apply_findings, detect_articles, load_detector
from monitor.incidents import assign_incidents
from monitor.models import Flag
from monitor.queries import as_utc
from pledges.detect import Detector, Finding

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50_000_000
# One write transaction per this many entries (or files), not one per article.
BATCH_ENTRIES = 2_000
BATCH_FILES = 50
# Files a directory given to ingest contributes (files named explicitly are always read).
FEED_SUFFIXES = {".xml", ".rss", ".atom", ".rdf", ".feed"}
# Below this many files a process pool costs more than it saves.
MIN_FILES_FOR_WORKERS = 4


@dataclass
class SourceResult:
    """What one input (file or feed) gave."""

    source: str
    entries: int = 0
    new: int = 0
    updated: int = 0
    flags: int = 0
    error: str | None = None
    degraded: str | None = None


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


@dataclass
class _Scanned:
    """One file, parsed and scanned (what a worker sends back)."""

    source: str
    feed: ParsedFeed | None = None
    error: str | None = None
    # content hash -> the publication time the scan assumed, and its findings.
    scans: dict[str, tuple[datetime, list[Finding]]] = field(default_factory=dict)


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
        if feed is not None:
            feed = session.merge(feed)
        result = upsert_articles(
            session=session, entries=entries, source=source, outlet=outlet, feed=feed, now=now
        )
        changes = detect_articles(
            session=session, detector=detector, articles=result.changed, now=now
        )
        assign_incidents(session=session, flags=changes.created, now=now)
    return len(result.new), len(result.updated), changes


def read_source(path_or_url: str) -> bytes:
    """Read a local feed file (URLs are fetched by the feeds package)."""
    if path_or_url.lower().startswith(("http://", "https://")):
        raise FeedError(
            "ingest reads local files; add URLs with `feeds add` to poll them",
            url=path_or_url,
            kind="not_a_file",
        )
    path = Path(path_or_url)
    if not path.is_file():
        raise FeedError("no such file", url=path_or_url, kind="not_found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FeedError(
            f"file is {size} bytes, over the {MAX_FILE_BYTES} byte cap",
            url=path_or_url,
            kind="too_large",
        )
    return path.read_bytes()


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Input paths with each directory replaced by the feed files under it, sorted."""
    out: list[str] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            out.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in FEED_SUFFIXES
            )
        else:
            out.append(item)
    return out


def _scan_file(path: str, detector: Detector, now: datetime) -> _Scanned:
    """Read, parse and scan one file; every failure becomes a reason, never an exception."""
    res = _Scanned(source=path)
    try:
        res.feed = parse(read_source(path), url=path, now=now)
    except FeedError as exc:
        res.error = f"{exc.kind}: {exc}"
        return res
    except OSError as exc:
        res.error = f"unreadable: {exc.strerror or exc}"
        return res
    except RecursionError as exc:
        res.error = f"parse_crash: feed could not be parsed ({type(exc).__name__})"
        return res
    if detector.size:
        for e in res.feed.entries:
            published = e.published or now
            res.scans[e.content_hash] = (published, detector.scan(e.title, e.text, published))
    return res


# Set in each worker process by _init_worker (a pool initializer, not an import-time global).
_worker_state: tuple[Detector, datetime] | None = None


def _init_worker(detector: Detector, now: datetime) -> None:
    global _worker_state
    _worker_state = (detector, now)


def _scan_files(paths: Sequence[str]) -> list[_Scanned]:
    assert _worker_state is not None, "worker not initialised"
    detector, now = _worker_state
    return [_scan_file(p, detector, now) for p in paths]


def _scanned_in_pool(
    paths: Sequence[str], detector: Detector, now: datetime, workers: int
) -> Iterator[_Scanned]:
    """Scan files in worker processes; results in input order, a bounded number in flight."""
    # fork shares the compiled detector with the workers for free; elsewhere it is pickled.
    method = "fork" if "fork" in get_all_start_methods() else None
    chunk = max(1, min(8, len(paths) // (workers * 8)))
    tasks = [paths[i : i + chunk] for i in range(0, len(paths), chunk)]
    in_flight: deque[Future[list[_Scanned]]] = deque()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context(method),
        initializer=_init_worker,
        initargs=(detector, now),
    ) as pool:
        pending = iter(tasks)
        for task in pending:
            in_flight.append(pool.submit(_scan_files, task))
            if len(in_flight) >= workers * 3:
                break
        while in_flight:
            done = in_flight.popleft().result()
            nxt = next(pending, None)
            if nxt is not None:
                in_flight.append(pool.submit(_scan_files, nxt))
            yield from done


def default_workers() -> int:
    """Worker processes for parsing: the cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def ingest_files(
    *,
    db: Database,
    paths: Sequence[str],
    detector: Detector | None = None,
    now: datetime | None = None,
    on_progress: Callable[[SourceResult], None] | None = None,
    workers: int | None = None,
    batch_entries: int = BATCH_ENTRIES,
) -> IngestReport:
    """Parse local feed files once, store new articles and flag them; bad files are reported."""
    now = now or datetime.now(UTC)
    if detector is None:
        with db.session() as session:
            detector = load_detector(session)
    workers = default_workers() if workers is None else workers
    if workers > 1 and len(paths) >= MIN_FILES_FOR_WORKERS:
        scanned: Iterator[_Scanned] = _scanned_in_pool(paths, detector, now, workers)
    else:
        scanned = (_scan_file(p, detector, now) for p in paths)
    report = IngestReport()
    batch: list[_Scanned] = []
    size = 0
    for item in scanned:
        batch.append(item)
        size += len(item.feed.entries) if item.feed else 0
        if size >= batch_entries or len(batch) >= BATCH_FILES:
            _write_batch(db, detector, batch, now, report, on_progress)
            batch, size = [], 0
    if batch:
        _write_batch(db, detector, batch, now, report, on_progress)
    return report


def _write_batch(
    db: Database,
    detector: Detector,
    batch: Sequence[_Scanned],
    now: datetime,
    report: IngestReport,
    on_progress: Callable[[SourceResult], None] | None,
) -> None:
    """Store and flag several files' entries in one write transaction."""
    results: list[SourceResult] = []
    with db.write() as session:
        created: list[Flag] = []
        for item in batch:
            res = SourceResult(source=item.source, error=item.error)
            results.append(res)
            if item.feed is None:
                continue
            res.entries = len(item.feed.entries)
            res.degraded = item.feed.degraded_reason
            outlet = item.feed.title or Path(item.source).stem
            stored = upsert_articles(
                session=session,
                entries=item.feed.entries,
                source=item.source,
                outlet=outlet,
                now=now,
                load_new=False,
            )
            changes = _flag(session, detector, stored, item.scans, now)
            res.new, res.updated, res.flags = (
                len(stored.new_ids),
                len(stored.updated),
                len(changes.created),
            )
            created += changes.created
        assign_incidents(session=session, flags=created, now=now)
    for res in results:
        report.sources.append(res)
        if res.error:
            log.warning("ingest rejected source=%s reason=%s", res.source, res.error)
        else:
            log.info(
                "ingested source=%s entries=%d new=%d updated=%d flags=%d degraded=%s",
                res.source,
                res.entries,
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
    stored: UpsertResult,
    scans: dict[str, tuple[datetime, list[Finding]]],
    now: datetime,
) -> FlagChanges:
    """Flags for new and changed articles, from the workers' scans where they still apply."""
    changes = FlagChanges()
    if detector.size == 0 or not (stored.new_ids or stored.updated):
        return changes

    def findings_for(title: str, text: str, digest: str, published: datetime) -> list[Finding]:
        scan = scans.get(digest)
        if scan is not None and scan[0] == published:
            return scan[1]
        # No scan, or the stored date differs from what the worker assumed: scan here.
        return detector.scan(title, text, published)

    flagged: dict[int, list[Finding]] = {}
    for article_id, e in stored.new_ids.values():
        found = findings_for(e.title, e.text, e.content_hash, e.published or now)
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
    ids = [a.id for a in stored.updated if a.id is not None]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for f in session.scalars(select(Flag).where(col(Flag.article_id).in_(chunk))):
            existing.setdefault(f.article_id, []).append(f)
    for art in stored.updated:
        assert art.id is not None
        published = as_utc(art.published_at) or now
        found = findings_for(art.title, art.text, art.content_hash, published)
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
    session.flush()
    return changes
