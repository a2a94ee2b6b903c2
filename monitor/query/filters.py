"""What a flag listing can be narrowed by, and the company and date helpers queries share."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from feeds.models import Article, ArticleSource
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
    min_score: float | None = None
    feed: int | None = None
    raised_since: date | None = None
    article: int | None = None
    # Newest first by: "published" (the article's date), "raised" (when the flag was
    # raised) or "score" (highest first).
    order: str = "published"


FLAG_ORDERS = ("published", "raised", "score")


class UnknownFilterValue(ValueError):
    """A filter names a pledge or company the database does not hold.

    Matching nothing would look like "no flags", so the caller says so, with the nearest
    values it does hold.
    """

    def __init__(self, field: str, value: str, nearest: list[str]) -> None:
        self.field, self.value, self.nearest = field, value, nearest
        hint = f"; nearest: {', '.join(nearest)}" if nearest else ""
        super().__init__(f"no {field} {value!r}{hint}")


def nearest(value: str, candidates: list[str], n: int = 3) -> list[str]:
    """Up to `n` candidates like `value`: those containing it first, then similar ones."""
    needle = value.casefold().strip()
    by_fold = {c.casefold(): c for c in candidates}
    found = [c for c in candidates if needle and needle in c.casefold()]
    for close in difflib.get_close_matches(needle, list(by_fold), n=n, cutoff=0.6):
        if by_fold[close] not in found:
            found.append(by_fold[close])
    return found[:n]


def check_pledge(session: Session, pledge_id: str) -> None:
    """Raise UnknownFilterValue unless a pledge has this id."""
    if session.get(Pledge, pledge_id) is None:
        ids = [p for p in session.exec(select(Pledge.id)).all() if p]
        raise UnknownFilterValue("pledge", pledge_id, nearest(pledge_id, ids))


def start_of_day(d: date) -> datetime:
    """Midnight UTC at the start of `d`."""
    return datetime.combine(d, time.min, tzinfo=UTC)


_start_of = start_of_day


def end_of_day(d: date) -> datetime | None:
    """Midnight UTC after `d` (an exclusive upper bound), or None past the last date."""
    if d >= date.max:
        return None
    return start_of_day(d + timedelta(days=1))


def row_id(text: str) -> int | None:
    """The row id a text names: ASCII digits ("³" is a digit to str.isdigit but not to
    int()), at most nine, so it fits any database's integer; None for anything else."""
    return int(text) if text.isascii() and text.isdigit() and len(text) < 10 else None


def matching_companies(session: Session, name: str) -> list[Company]:
    needle = " ".join(name.split()).casefold()
    return [
        c
        for c in session.exec(select(Company).order_by(col(Company.id))).all()
        if any(n.casefold() == needle for n in [c.name, *c.aliases])
    ]


def known_companies(session: Session, name: str) -> list[Company]:
    """Companies whose name or alias is `name`; UnknownFilterValue when there is none."""
    found = matching_companies(session, name)
    if not found:
        names = [n for c in session.exec(select(Company)).all() for n in [c.name, *c.aliases]]
        raise UnknownFilterValue("company", name, nearest(name, names))
    return found


def company_ids(session: Session, name: str) -> list[int]:
    """Companies whose name or alias matches `name` (case-insensitive); unknown raises."""
    return [c.id for c in known_companies(session, name) if c.id is not None]


def company_terms(session: Session, name: str) -> list[str]:
    """The names, aliases and products of the companies `name` designates (for search)."""
    out: list[str] = []
    for c in known_companies(session, name):
        for term in [c.name, *c.aliases, *c.products]:
            if term not in out:
                out.append(term)
    return out


def flag_filters(session: Session, stmt: Any, f: FlagFilter) -> Any:
    if not f.include_inactive:
        stmt = stmt.where(col(Flag.active).is_(True))
    if f.pledge:
        check_pledge(session, f.pledge)
        stmt = stmt.where(Flag.pledge_id == f.pledge)
    if f.company:
        stmt = stmt.where(col(Pledge.company_id).in_(company_ids(session, f.company)))
    if f.kind:
        stmt = stmt.where(Flag.kind == f.kind)
    if f.status:
        stmt = stmt.where(Flag.status == f.status)
    if f.incident is not None:
        stmt = stmt.where(Flag.incident_id == f.incident)
    if f.article is not None:
        stmt = stmt.where(Flag.article_id == f.article)
    if f.min_score is not None:
        stmt = stmt.where(col(Flag.score) >= f.min_score)
    if f.feed is not None:
        seen_in = select(ArticleSource.article_id).where(ArticleSource.feed_id == f.feed)
        stmt = stmt.where(col(Flag.article_id).in_(seen_in))
    if f.raised_since:
        stmt = stmt.where(col(Flag.first_raised_at) >= start_of_day(f.raised_since))
    if f.since:
        stmt = stmt.where(col(Article.published_at) >= start_of_day(f.since))
    if f.until and end_of_day(f.until) is not None:
        stmt = stmt.where(col(Article.published_at) < end_of_day(f.until))
    return stmt
