"""What `pledgewatch status` reports: daemons, jobs, failing feeds, review queue, digests.

Read-only queries; the health verdict is "at least one daemon heartbeat is fresh", where
fresh means seen within three of that daemon's own heartbeat intervals and not stopped.

Each daemon is `running` (fresh), `stopped` (it said so on the way out), `stale` (it
missed three beats: crashed, hung, or cut off from the database) or `dead` (its pid is
gone on this very host, or it has been silent for ten minutes and twenty beats). Gone
daemons (stopped or dead) are listed for a day, the newest few only, so a crash loop does
not bury the report; `daemons_hidden` counts the rest (maintenance deletes them).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from feeds.models import Feed
from feeds.redact import redact_text, redact_url
from monitor.daemon.jobs import JOBS
from monitor.store.db import as_utc
from monitor.store.models import DaemonHeartbeat, Digest, Flag, JobRun
from monitor.store.owners import why_dead

FRESH_BEATS = 3
# A daemon silent this long (and this many of its beats) is dead, proof of its pid or not.
DEAD_AFTER = timedelta(minutes=10)
DEAD_BEATS = 20
# Daemons not seen for this long are left out of the report.
SHOWN_GONE_DAEMONS = timedelta(days=1)
# At most this many stopped or dead daemons are listed (the most recently seen).
MAX_GONE_SHOWN = 3
# At most this many failed digest weeks are listed (the newest); the total is counted.
MAX_FAILED_DIGESTS_SHOWN = 20


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
    # Weeks given up for a recipient (refused, or never built): they no longer hold back
    # later weeks, so they are listed here for someone to fix and re-send.
    digests_failed: list[dict[str, Any]] = field(default_factory=list)
    digests_failed_total: int = 0
    daemons_hidden: int = 0

    @property
    def healthy(self) -> bool:
        return any(d["fresh"] for d in self.daemons)

    def to_dict(self) -> dict[str, Any]:
        return {
            "now": self.now,
            "healthy": self.healthy,
            "daemons": self.daemons,
            "daemons_hidden": self.daemons_hidden,
            "jobs": self.jobs,
            "feeds": {"total": self.feeds_total, "failing": self.feeds_failing},
            "flags_awaiting_review": self.flags_awaiting_review,
            "digests": {
                "unsent": self.digests_unsent,
                "by_recipient": self.digests,
                "failed": self.digests_failed,
                "failed_total": self.digests_failed_total,
            },
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
    status.daemons, status.daemons_hidden = _daemons(session, now)
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
    status.digests_failed, status.digests_failed_total = _failed_digests(session)
    return status


def daemon_state(beat: DaemonHeartbeat, now: datetime) -> tuple[str, str | None]:
    """`running`, `stopped`, `stale` or `dead`, and why when it is not running."""
    if beat.stopped_at is not None:
        return "stopped", None
    if is_fresh(beat, now):
        return "running", None
    seen = as_utc(beat.seen_at)
    every = timedelta(seconds=max(1, beat.heartbeat_seconds))
    silent = now - seen if seen is not None else None
    proof = why_dead(beat.id, beat=beat, now=now)
    if proof is not None:
        return "dead", proof
    if silent is None or silent > max(DEAD_AFTER, every * DEAD_BEATS):
        return "dead", f"no heartbeat for {_span(silent)}"
    return "stale", f"no heartbeat for {_span(silent)} ({silent // every} missed)"


def _span(delta: timedelta | None) -> str:
    if delta is None:
        return "ever"
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _daemons(session: Session, now: datetime) -> tuple[list[dict[str, Any]], int]:
    """The daemons to list, newest first, and how many are left out."""
    shown_since = now - SHOWN_GONE_DAEMONS
    total = int(session.exec(select(func.count()).select_from(DaemonHeartbeat)).one())
    # Rows of long-gone daemons pile up in a crash loop: read only the recent ones.
    rows = session.exec(
        select(DaemonHeartbeat)
        .where(col(DaemonHeartbeat.seen_at) >= shown_since)
        .order_by(col(DaemonHeartbeat.seen_at).desc(), col(DaemonHeartbeat.id))
    ).all()
    out = []
    gone = 0
    for beat in rows:
        state, reason = daemon_state(beat, now)
        if state in ("stopped", "dead"):
            gone += 1
            if gone > MAX_GONE_SHOWN:
                continue
        seen = as_utc(beat.seen_at)
        out.append(
            {
                "id": beat.id,
                "hostname": beat.hostname,
                "pid": beat.pid,
                "started_at": as_utc(beat.started_at),
                "seen_at": seen,
                "stopped_at": as_utc(beat.stopped_at),
                "heartbeat_seconds": beat.heartbeat_seconds,
                "fresh": state == "running",
                "state": state,
                "reason": reason,
                "seen_seconds_ago": (
                    round((now - seen).total_seconds(), 1) if seen is not None else None
                ),
            }
        )
    return out, total - len(out)


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
            "url": redact_url(f.url),
            "name": f.name,
            "failing_since": as_utc(f.failing_since),
            "consecutive_errors": f.consecutive_errors,
            "error_kind": f.error_kind,
            "last_error": redact_text(f.last_error) if f.last_error else None,
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


def _failed_digests(session: Session) -> tuple[list[dict[str, Any]], int]:
    """Failed (week, recipient) rows, newest week first, and how many there are in all."""
    failed = col(Digest.status) == "failed"
    total = int(session.exec(select(func.count()).select_from(Digest).where(failed)).one())
    rows = session.exec(
        select(Digest)
        .where(failed)
        .order_by(col(Digest.period).desc(), col(Digest.recipient))
        .limit(MAX_FAILED_DIGESTS_SHOWN)
    ).all()
    return [
        {
            "recipient": d.recipient,
            "period": d.period,
            "attempts": d.attempts,
            "last_error": d.last_error,
        }
        for d in rows
    ], total
