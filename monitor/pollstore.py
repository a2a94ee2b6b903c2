"""Storing polled feeds: each feed's articles, flags, health and validators commit together.

A feed alone goes through monitor.pipeline.store_entries (one transaction). When several
polled feeds wait for the writer at once they are stored in one transaction, with one
detection pass and one incident pass over all their changed articles: each feed's
articles and its row still commit or roll back together. If that shared transaction
fails, every feed in it is stored again on its own, so only a feed that fails by itself
is recorded as failed (and keeps its old ETag).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from feeds.models import Article, Feed
from feeds.parse import Entry
from feeds.store import merge_polled_feed, upsert_articles
from monitor.db import Database
from monitor.detection import detect_articles
from monitor.incidents import assign_incidents
from monitor.pipeline import store_entries
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


@dataclass
class Stored:
    new: int = 0
    updated: int = 0
    flags: int = 0


def store_one(db: Database, detector: Detector, job: StoreJob) -> Stored:
    """Store one feed in its own transaction."""
    new, updated, changes = store_entries(
        db=db,
        detector=detector,
        entries=job.entries,
        source=job.source,
        outlet=job.outlet,
        feed=job.feed,
        now=job.now,
    )
    return Stored(new, updated, len(changes.created))


def store_many(db: Database, detector: Detector, jobs: Sequence[StoreJob]) -> list[Stored]:
    """Store several feeds in one transaction; results in the order of `jobs`."""
    if len(jobs) == 1:
        return [store_one(db, detector, jobs[0])]
    results = [Stored() for _ in jobs]
    changed: list[Article] = []
    article_job: dict[int, int] = {}
    now = max(job.now for job in jobs)
    with db.write() as session:
        for i, job in enumerate(jobs):
            feed = merge_polled_feed(session, job.feed)
            upserted = upsert_articles(
                session=session,
                entries=job.entries,
                source=job.source,
                outlet=job.outlet,
                feed=feed,
                now=job.now,
            )
            results[i].new, results[i].updated = len(upserted.new), len(upserted.updated)
            for article in upserted.changed:
                if article.id is not None:
                    article_job.setdefault(article.id, i)
            changed += upserted.changed
        changes = detect_articles(session=session, detector=detector, articles=changed, now=now)
        assign_incidents(session=session, flags=changes.created, now=now)
        for flag in changes.created:
            results[article_job[flag.article_id]].flags += 1
    return results
