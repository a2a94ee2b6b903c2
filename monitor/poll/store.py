"""Storing polled feeds: each feed's articles, flags, health and validators commit together.

When several polled feeds wait for the writer at once they are stored in one
transaction (monitor.ingest.pipeline.store_sources: one detection pass and one incident pass
over all their changed articles, and a fixed number of statements however many feeds):
each feed's articles and its row still commit or roll back together. If that shared
transaction fails, every feed in it is stored again on its own, so only a feed that fails
by itself is recorded as failed (and keeps its old ETag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from feeds.models import Feed
from feeds.parse import Entry
from feeds.store import SourceEntries
from monitor.flags.detection import Scans
from monitor.ingest.pipeline import store_sources
from monitor.store.db import Database
from pledges.detect import Detector

# A shared transaction holds at most this many feeds or entries.
MAX_FEEDS = 50
MAX_ENTRIES = 2_000


@dataclass
class StoreJob:
    """One polled feed to store: its row (health already recorded) and its entries."""

    feed: Feed
    entries: Sequence[Entry]
    source: str
    outlet: str
    now: datetime
    # Entries a parse worker scanned already (a feed's first poll), by content hash.
    scans: Scans = field(default_factory=dict)


@dataclass
class Stored:
    new: int = 0
    updated: int = 0
    flags: int = 0


def store_one(db: Database, detector: Detector, job: StoreJob) -> Stored:
    """Store one feed in its own transaction."""
    return store_many(db, detector, [job])[0]


def store_many(db: Database, detector: Detector, jobs: Sequence[StoreJob]) -> list[Stored]:
    """Store several feeds in one transaction; results in the order of `jobs`."""
    items = [SourceEntries(job.entries, job.source, job.outlet, now=job.now) for job in jobs]
    scans: Scans = {}
    for job in jobs:
        scans.update(job.scans)
    with db.write() as session:
        upserted, changes = store_sources(
            session=session,
            detector=detector,
            items=items,
            feeds=[job.feed for job in jobs],
            now=max(job.now for job in jobs),
            scans=scans,
        )
    results = [Stored(len(u.new), len(u.updated)) for u in upserted]
    # A flag counts for the feed that first brought its article in (or changed it).
    article_job: dict[int, int] = {}
    for i, u in enumerate(upserted):
        for article in u.changed:
            if article.id is not None:
                article_job.setdefault(article.id, i)
    for flag in changes.created:
        results[article_job[flag.article_id]].flags += 1
    return results
