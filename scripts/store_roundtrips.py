"""Count the statements (database round trips) it takes to store polled feeds.

Stores N generated feeds of M entries each (bench.feedgen, the shipped catalogue loaded so
some entries are flagged) through monitor.poll.store.store_many in groups of --batch feeds,
the way the poller's writer does, on a fresh SQLite file and on a fresh PostgreSQL
database. Three rounds: the first poll (all entries new), a re-poll (nothing changed) and
a re-poll where every entry's text changed. Prints statements per feed and per batch, and
wall and CPU time of the store calls.

    .venv/bin/python scripts/store_roundtrips.py --feeds 200 --entries 10 --batch 50
    .venv/bin/python scripts/store_roundtrips.py --backend sqlite --batch 1   # store_one
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.feedgen import feed_xml
from feeds.models import Feed
from feeds.parse import Entry, parse
from monitor.flags.detection import load_detector
from monitor.poll.store import StoreJob, store_many, store_one
from monitor.store.db import Database, open_database
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@contextmanager
def sqlite_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as folder:
        yield f"sqlite:///{Path(folder) / 'roundtrips.db'}"


@contextmanager
def postgres_url(admin_url: str) -> Iterator[str]:
    name = f"pledgewatch_roundtrips_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


class Counter:
    """Statements sent on an engine (an executemany counts once: one round trip)."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.engine = engine
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, *_args: Any) -> None:
        self.count += 1

    def close(self) -> None:
        event.remove(self.engine, "before_cursor_execute", self._on_execute)


def changed(entries: Sequence[Entry]) -> list[Entry]:
    """The same entries with new text (a corrected story)."""
    return [
        replace(e, text=e.text + " Updated.", content_hash=e.content_hash[:-4] + "beef")
        for e in entries
    ]


def run_round(
    db: Database,
    label: str,
    feeds: Sequence[Feed],
    entries: Callable[[int], Sequence[Entry]],
    batch: int,
    now: datetime,
) -> None:
    detector_session = db.session()
    with detector_session:
        detector = load_detector(detector_session)
    jobs = []
    for i, row in enumerate(feeds):
        feed = row.model_copy()
        feed.etag = f'"{label}-{i}"'
        feed.last_status, feed.last_fetch_at = 200, now
        feed.entry_count = len(entries(i))
        jobs.append(StoreJob(feed, entries(i), feed.url, f"Outlet {i}", now))
    counter = Counter(db.engine)
    wall, cpu = time.perf_counter(), time.process_time()
    new = flags = 0
    try:
        for start in range(0, len(jobs), batch):
            group = jobs[start : start + batch]
            results = (
                [store_one(db, detector, group[0])]
                if len(group) == 1
                else store_many(db, detector, group)
            )
            new += sum(r.new for r in results)
            flags += sum(r.flags for r in results)
    finally:
        counter.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    batches = -(-len(jobs) // batch)
    print(
        f"  {label:<9} {counter.count:6d} statements  {counter.count / len(jobs):6.2f}/feed  "
        f"{counter.count / batches:7.1f}/batch  new={new} flags={flags}  "
        f"wall {wall:5.2f}s  cpu {cpu:5.2f}s"
    )


def measure(url: str, n_feeds: int, n_entries: int, batch: int) -> None:
    db = open_database(url)
    now = datetime(2025, 3, 2, tzinfo=UTC)
    try:
        with db.write() as session:
            sync_catalogue(session=session, pledges=load_catalogue(shipped_catalogue()))
            rows = [
                Feed(url=f"https://outlet{i}.example.org/rss", created_at=now)
                for i in range(n_feeds)
            ]
            session.add_all(rows)
        parsed = [parse(feed_xml(i, n_entries), now=now).entries for i in range(n_feeds)]
        edited = [changed(p) for p in parsed]
        print(f"{db.dialect}: {n_feeds} feeds x {n_entries} entries, {batch} feeds per batch")
        run_round(db, "new", rows, lambda i: parsed[i], batch, now)
        run_round(db, "repoll", rows, lambda i: parsed[i], batch, now + timedelta(hours=1))
        run_round(db, "updated", rows, lambda i: edited[i], batch, now + timedelta(hours=2))
    finally:
        db.dispose()


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=200)
    ap.add_argument("--entries", type=int, default=10)
    ap.add_argument("--batch", type=int, default=50, help="feeds per store call (1: store_one)")
    ap.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    ap.add_argument("--postgres-url", default=POSTGRES_URL)
    args = ap.parse_args(argv)
    if args.backend in ("sqlite", "both"):
        with sqlite_url() as url:
            measure(url, args.feeds, args.entries, args.batch)
    if args.backend in ("postgres", "both"):
        with postgres_url(args.postgres_url) as url:
            measure(url, args.feeds, args.entries, args.batch)


if __name__ == "__main__":
    main()
