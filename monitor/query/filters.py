"""What a flag listing can be narrowed by, and the company and date helpers queries share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from feeds.models import Article
from monitor.store.models import Flag
from pledges.models import Company, Pledge

FLAG_KINDS = ("breach", "rollback")
FLAG_STATUSES = ("open", "confirmed", "dismissed")
PLEDGE_STATUSES = ("active", "expired", "withdrawn", "fulfilled")


@dataclass(frozen=True)
class FlagFilter:
    """Filters for listing flags (the CLI contract's options)."""

    pledge: str | None = None
    company: str | None = None
    kind: str | None = None
    status: str | None = None
    since: date | None = None
    limit: int | None = None
    offset: int = 0
    include_inactive: bool = False
    until: date | None = None
    incident: int | None = None


def start_of_day(d: date) -> datetime:
    """Midnight UTC at the start of `d`."""
    return datetime.combine(d, time.min, tzinfo=UTC)


_start_of = start_of_day


def end_of_day(d: date) -> datetime | None:
    """Midnight UTC after `d` (an exclusive upper bound), or None past the last date."""
    if d >= date.max:
        return None
    return start_of_day(d + timedelta(days=1))


def matching_companies(session: Session, name: str) -> list[Company]:
    needle = " ".join(name.split()).casefold()
    return [
        c
        for c in session.exec(select(Company).order_by(col(Company.id))).all()
        if any(n.casefold() == needle for n in [c.name, *c.aliases])
    ]


def company_ids(session: Session, name: str) -> list[int]:
    """Companies whose name or alias matches `name` (case-insensitive)."""
    return [c.id for c in matching_companies(session, name) if c.id is not None]


def company_terms(session: Session, name: str) -> list[str]:
    """The names, aliases and products of the companies `name` designates (for search)."""
    out: list[str] = []
    for c in matching_companies(session, name):
        for term in [c.name, *c.aliases, *c.products]:
            if term not in out:
                out.append(term)
    return out


def flag_filters(session: Session, stmt: Any, f: FlagFilter) -> Any:
    if not f.include_inactive:
        stmt = stmt.where(col(Flag.active).is_(True))
    if f.pledge:
        stmt = stmt.where(Flag.pledge_id == f.pledge)
    if f.company:
        stmt = stmt.where(col(Pledge.company_id).in_(company_ids(session, f.company)))
    if f.kind:
        stmt = stmt.where(Flag.kind == f.kind)
    if f.status:
        stmt = stmt.where(Flag.status == f.status)
    if f.incident is not None:
        stmt = stmt.where(Flag.incident_id == f.incident)
    if f.since:
        stmt = stmt.where(col(Article.published_at) >= start_of_day(f.since))
    if f.until and end_of_day(f.until) is not None:
        stmt = stmt.where(col(Article.published_at) < end_of_day(f.until))
    return stmt
