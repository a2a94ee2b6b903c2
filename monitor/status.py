"""What `pledgewatch status` reports: daemons, jobs, failing feeds, review queue, digests.

Read-only queries; the health verdict is "at least one daemon heartbeat is fresh", where
fresh means seen within three of that daemon's own heartbeat intervals and not stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from feeds.models import Feed
from monitor.jobs import JOBS
from monitor.models import DaemonHeartbeat, Digest, Flag, JobRun
from monitor.queries import as_utc

FRESH_BEATS = 3
# Stopped or silent daemons older than this are left out of the report.
SHOWN_GONE_DAEMONS = timedelta(days=1)


@dataclass
class Status:
    """Everything `status` prints, as plain data (the JSON shape)."""

    now: datetime
    daemons: list[dict[str, Any]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    feeds_total: int = 0
    feeds_failing: list[dict[str, Any]] = field(default_factory=list)
    flags_awaiting_review: int = 0
    digests: list[dict[str, Any]] = field(default_factory=list)
    digests_unsent: int = 0

    @property
    def healthy(self) -> bool:
        return any(d["fresh"] for d in self.daemons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "healthy": self.healthy,
            "daemons": self.daemons,
            "jobs": self.jobs,
            "feeds": {"total": self.feeds_total, "failing": self.feeds_failing},
            "flags_awaiting_review": self.flags_awaiting_review,
            "digests": {"unsent": self.digests_unsent, "by_recipient": self.digests},
        }


def is_fresh(beat: DaemonHeartbeat, now: datetime) -> bool:
    """A daemon is alive if it has not stopped and was seen within three beats."""
    seen = as_utc(beat.seen_at)
    if beat.stopped_at is not None or seen is None:
        return False
    return now - seen <= timedelta(seconds=FRESH_BEATS * max(1, beat.heartbeat_seconds))


def collect_status(session: Session, *, now: datetime | None = None) -> Status:
    """Gather the status report from the database."""
    now = now or datetime.now(UTC)
    status = Status(now=now)
    status.daemons = _daemons(session, now)
    status.jobs = _jobs(session, status.daemons)
    status.feeds_total = int(session.exec(select(func.count()).select_from(Feed)).one())
    status.feeds_failing = _failing_feeds(session)
    status.flags_awaiting_review = int(
        session.exec(
            select(func.count())
            .select_from(Flag)
            .where(Flag.status == "open", col(Flag.active).is_(True))
        ).one()
    )
    status.digests, status.digests_unsent = _digests(session)
    return status


def _daemons(session: Session, now: datetime) -> list[dict[str, Any]]:
    rows = session.exec(select(DaemonHeartbeat).order_by(col(DaemonHeartbeat.seen_at).desc())).all()
    out = []
    for beat in rows:
        fresh = is_fresh(beat, now)
        seen = as_utc(beat.seen_at)
        if not fresh and seen is not None and now - seen > SHOWN_GONE_DAEMONS:
            continue
        out.append(
            {
                "id": beat.id,
                "hostname": beat.hostname,
                "pid": beat.pid,
                "started_at": as_utc(beat.started_at),
                "seen_at": seen,
                "stopped_at": as_utc(beat.stopped_at),
                "heartbeat_seconds": beat.heartbeat_seconds,
                "fresh": fresh,
                "state": "running" if fresh else ("stopped" if beat.stopped_at else "silent"),
            }
        )
    return out


def _jobs(session: Session, daemons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    runs = {r.job: r for r in session.exec(select(JobRun)).all()}
    out = []
    for job in [*JOBS, *sorted(set(runs) - set(JOBS))]:
        r = runs.get(job)
        out.append(
            {
                "job": job,
                "last_started_at": as_utc(r.last_started_at) if r else None,
                "last_finished_at": as_utc(r.last_finished_at) if r else None,
                "last_ok": r.last_ok if r else None,
                "last_error": r.last_error if r else None,
                "next_run_at": as_utc(r.next_run_at) if r else None,
            }
        )
    live = [d for d in daemons if d["fresh"]]
    if live:
        last = max(d["seen_at"] for d in live)
        every = min(d["heartbeat_seconds"] for d in live)
        out.append(
            {
                "job": "heartbeat",
                "last_started_at": last,
                "last_finished_at": last,
                "last_ok": True,
                "last_error": None,
                "next_run_at": last + timedelta(seconds=every),
            }
        )
    return out


def _failing_feeds(session: Session) -> list[dict[str, Any]]:
    rows = session.exec(
        select(Feed)
        .where(or_(col(Feed.failing_since).is_not(None), col(Feed.consecutive_errors) > 0))
        .order_by(col(Feed.failing_since), col(Feed.id))
    ).all()
    return [
        {
            "id": f.id,
            "url": f.url,
            "name": f.name,
            "failing_since": as_utc(f.failing_since),
            "consecutive_errors": f.consecutive_errors,
            "error_kind": f.error_kind,
            "last_error": f.last_error,
            "last_success_at": as_utc(f.last_success_at),
            "next_due_at": as_utc(f.next_due_at),
            "gone": f.gone,
        }
        for f in rows
    ]


def _digests(session: Session) -> tuple[list[dict[str, Any]], int]:
    """Per recipient: the newest digest row, and the newest one actually sent."""
    newest: dict[str, Digest] = {}
    sent: dict[str, Digest] = {}
    unsent = 0
    for d in session.exec(select(Digest).order_by(col(Digest.period), col(Digest.id))).all():
        newest[d.recipient] = d
        if d.status == "sent":
            sent[d.recipient] = d
        else:
            unsent += 1
    out = []
    for recipient in sorted(newest):
        d = newest[recipient]
        s = sent.get(recipient)
        out.append(
            {
                "recipient": recipient,
                "period": d.period,
                "status": d.status,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "next_attempt_at": as_utc(d.next_attempt_at),
                "last_sent_period": s.period if s else None,
                "last_sent_at": as_utc(s.sent_at) if s else None,
            }
        )
    return out, unsent
