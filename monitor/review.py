"""Review decisions: an append-only log; a flag's status is its latest decision."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from monitor.models import Flag, Review

DECISIONS = ("confirmed", "dismissed", "open")


class ReviewError(Exception):
    """A review could not be recorded (unknown flag, bad decision, stale write)."""


def review_flag(
    *,
    session: Session,
    flag_id: int,
    decision: str,
    note: str = "",
    reviewer: str = "",
    now: datetime | None = None,
) -> Review:
    """Append a review and update the flag's status, in the caller's write transaction."""
    if decision not in DECISIONS:
        raise ReviewError(f"decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    flag = session.get(Flag, flag_id)
    if flag is None:
        raise ReviewError(f"no flag with id {flag_id}")
    now = now or datetime.now(UTC)
    review = Review(
        flag_id=flag_id, decision=decision, note=note, reviewer=reviewer, created_at=now
    )
    session.add(review)
    flag.status = decision
    flag.updated_at = now
    session.add(flag)
    session.flush()
    return review
