"""Claiming feeds for a poll with row leases, so several pollers share one database.

A claim sets `lease_owner` and `lease_until` in one short write transaction: on
PostgreSQL the rows are selected `FOR UPDATE SKIP LOCKED`, so concurrent claimers
never wait for or take each other's rows; on SQLite the transaction is `BEGIN
IMMEDIATE`, which serialises claimers. A feed leased to another owner is not taken
until its lease expires (a poller that died gives its feeds back that way).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import col, select

from feeds.models import Feed
from monitor.store.db import Database, as_utc
from monitor.store.models import DaemonHeartbeat
from monitor.store.owners import dead_owners, owner_name

log = logging.getLogger(__name__)


def default_owner() -> str:
    """A lease owner name unique to this poll: host, pid, a random part and the pid scope."""
    return owner_name(uuid.uuid4().hex[:8])


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


def claim_share(*, db: Database, owner: str, now: datetime, batch: int) -> int:
    """How many due feeds one claim by `owner` should take: its share of the round.

    The round is the feeds due and unleased plus those other pollers hold now; the share
    is that divided among the live daemons (fresh heartbeat, not stopped; at least one),
    rounded up, at most `batch`. Without it, whichever daemon ticked first took up to
    `batch` feeds and, under light load, the others found little left (256 of 300).
    """
    with db.session() as session:
        free = session.exec(
            select(func.count())
            .select_from(Feed)
            .where(_due(now), _unleased(now), col(Feed.gone).is_(False))
        ).one()
        held = session.exec(
            select(func.count())
            .select_from(Feed)
            .where(
                col(Feed.lease_owner).is_not(None),
                col(Feed.lease_owner) != owner,
                col(Feed.lease_until) >= now,
            )
        ).one()
        beats = session.exec(
            select(DaemonHeartbeat.seen_at, DaemonHeartbeat.heartbeat_seconds).where(
                col(DaemonHeartbeat.stopped_at).is_(None)
            )
        ).all()
    # Fresh as `status` counts it: seen within three of the daemon's own intervals.
    live = len(
        [1 for seen_at, every in beats if as_utc(seen_at) >= now - timedelta(seconds=3 * every)]
    )
    return min(batch, -(-(int(free) + int(held)) // max(live, 1)))


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


def renew_leases(*, db: Database, owner: str, feed_ids: Sequence[int], until: datetime) -> int:
    """Extend `owner`'s leases on the feeds named (those it still holds) to `until`."""
    if not feed_ids:
        return 0
    stmt = (
        update(Feed)
        .where(col(Feed.lease_owner) == owner, col(Feed.id).in_(list(feed_ids)))
        .values(lease_until=until)
    )
    with db.write() as session:
        result = session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


def release_dead_owners(*, db: Database, me: str, now: datetime) -> dict[str, str]:
    """Free feeds leased to pollers proven dead (killed; see daemon_rows.why_dead).

    Their feeds would otherwise wait out the lease; an owner that may still be running
    keeps its leases. Returns the owners freed, with the proof.
    """
    with db.session() as session:
        stmt = (
            select(Feed.lease_owner)
            .where(col(Feed.lease_owner).is_not(None), col(Feed.lease_until) >= now)
            .distinct()
        )
        owners = [o for o in session.exec(stmt).all() if o]
    dead = dead_owners(db, owners, now=now, me=me)
    if not dead:
        return {}
    with db.write() as session:
        session.execute(
            update(Feed)
            .where(col(Feed.lease_owner).in_(list(dead)))
            .values(lease_owner=None, lease_until=None)
        )
    for owner, proof in dead.items():
        log.warning("taking back feeds leased to %s: %s", owner, proof)
    return dead
