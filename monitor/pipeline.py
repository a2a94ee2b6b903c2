"""The one composer: entries -> articles -> findings -> flags, in batched transactions."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from feeds.errors import FeedError
from feeds.models import Feed
from feeds.parse import Entry, ParsedFeed, parse
from feeds.store import upsert_articles
from monitor.db import Database
from monitor.detection import FlagChanges, detect_articles, load_detector
from monitor.incidents import assign_incidents
from pledges.detect import Detector

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50_000_000


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
        result = upsert_articles(session=session, entries=entries, source=source,
                                 outlet=outlet, feed=feed, now=now)
        changes = detect_articles(session=session, detector=detector,
                                  articles=result.changed, now=now)
        assign_incidents(session=session, flags=changes.created, now=now)
    return len(result.new), len(result.updated), changes


def read_source(path_or_url: str) -> bytes:
    """Read a local feed file (URLs are fetched by the feeds package)."""
    path = Path(path_or_url)
    if not path.is_file():
        raise FeedError("no such file", url=path_or_url, kind="not_found")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise FeedError(f"file is {size} bytes, over the {MAX_FILE_BYTES} byte cap",
                        url=path_or_url, kind="too_large")
    return path.read_bytes()


def ingest_files(
    *,
    db: Database,
    paths: Sequence[str],
    detector: Detector | None = None,
    now: datetime | None = None,
    on_progress: Callable[[SourceResult], None] | None = None,
) -> IngestReport:
    """Parse local feed files once, store new articles and flag them; bad files are reported."""
    if detector is None:
        with db.session() as session:
            detector = load_detector(session)
    report = IngestReport()
    for path in paths:
        res = SourceResult(source=path)
        try:
            parsed: ParsedFeed = parse(read_source(path), url=path, now=now)
        except FeedError as exc:
            res.error = f"{exc.kind}: {exc}"
        except OSError as exc:
            res.error = f"unreadable: {exc.strerror or exc}"
        else:
            res.entries = len(parsed.entries)
            res.degraded = parsed.degraded_reason
            new, updated, changes = store_entries(
                db=db, detector=detector, entries=parsed.entries, source=path,
                outlet=parsed.title or Path(path).stem, now=now,
            )
            res.new, res.updated = new, updated
            res.flags = len(changes.created)
        report.sources.append(res)
        if res.error:
            log.warning("ingest rejected source=%s reason=%s", path, res.error)
        if on_progress is not None:
            on_progress(res)
    return report
