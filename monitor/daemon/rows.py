"""The rows a daemon keeps about itself: its heartbeat, its leases, its first polls.

A daemon's name (see `monitor.store.owners`) is the id of its heartbeat row and the owner
on every lease it takes, so its leases can be given back when it stops.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, update
from sqlmodel import col

from feeds.models import Feed
from monitor.config import Settings
from monitor.store.db import Database
from monitor.store.models import DaemonHeartbeat, Digest


def beat(db: Database, *, owner: str, settings: Settings, started: bool = False) -> None:
    """Write this daemon's heartbeat (creating the row if it is missing)."""
    now = datetime.now(UTC)
    host, pid, _ = owner.split(":", 2) if owner.count(":") >= 2 else (owner, "0", "")
    with db.write() as session:
        row = session.get(DaemonHeartbeat, owner)
        if row is None:
            row = DaemonHeartbeat(
                id=owner,
                hostname=host,
                pid=int(pid) if pid.isascii() and pid.isdigit() else 0,
                started_at=now,
                seen_at=now,
            )
        elif started:
            row.started_at = now
        row.seen_at = now
        row.stopped_at = None
        row.heartbeat_seconds = settings.daemon.heartbeat_seconds
        session.add(row)


def mark_stopped(db: Database, *, owner: str) -> None:
    now = datetime.now(UTC)
    with db.write() as session:
        session.execute(
            update(DaemonHeartbeat)
            .where(col(DaemonHeartbeat.id) == owner)
            .values(stopped_at=now, seen_at=now)
        )


def release_leases(db: Database, *, owner: str) -> tuple[int, int]:
    """Clear every lease `owner` holds on feeds and digests; returns (feeds, digests)."""
    with db.write() as session:
        feeds = session.execute(
            update(Feed)
            .where(col(Feed.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None)
        )
        digests = session.execute(
            update(Digest)
            .where(col(Digest.lease_owner) == owner)
            .values(lease_owner=None, lease_until=None)
        )
    return int(getattr(feeds, "rowcount", 0)), int(getattr(digests, "rowcount", 0))


def spread_first_polls(
    *, db: Database, now: datetime, window: timedelta, rng: random.Random | None = None
) -> int:
    """Give feeds due now (or never polled) due times spread evenly over `window`.

    Without this, every feed of a fresh or long-stopped installation would be fetched in
    the first tick. Leased feeds (another daemon is polling them) are left alone.
    """
    if window <= timedelta(0):
        return 0
    rng = rng or random.Random()
    unleased = or_(col(Feed.lease_until).is_(None), col(Feed.lease_until) < now)
    with db.write() as session:
        ids = list(
            session.execute(
                select(col(Feed.id)).where(
                    or_(col(Feed.next_due_at).is_(None), col(Feed.next_due_at) <= now),
                    col(Feed.gone).is_(False),
                    unleased,
                )
            ).scalars()
        )
        if not ids:
            return 0
        rng.shuffle(ids)
        step = window / len(ids)
        table: Any = Feed.__table__  # type: ignore[attr-defined]
        session.execute(
            table.update()
            .where(table.c.id == bindparam("fid"), unleased)
            .values(next_due_at=bindparam("due")),
            [{"fid": fid, "due": now + step * i} for i, fid in enumerate(ids)],
        )
    return len(ids)
