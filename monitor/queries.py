"""Read queries shared by the CLI, the API and the digest: flags and pledges as plain dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from feeds.models import Article, ArticleSource
from monitor.models import Flag, Review
from pledges.models import Company, Pledge, PledgeEvent

FLAG_KINDS = ("breach", "rollback")
FLAG_STATUSES = ("open", "confirmed", "dismissed")


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


def _start_of(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _company_ids(session: Session, name: str) -> list[int]:
    """Companies whose name or alias matches `name` (case-insensitive)."""
    needle = name.casefold()
    out = []
    for c in session.exec(select(Company)).all():
        names = [c.name, *c.aliases]
        if any(n.casefold() == needle for n in names):
            assert c.id is not None
            out.append(c.id)
    return out


def flag_query(session: Session, f: FlagFilter) -> Any:
    stmt = (
        select(Flag, Article, Pledge, Company)
        .join(Article, col(Article.id) == Flag.article_id)
        .join(Pledge, col(Pledge.id) == Flag.pledge_id)
        .join(Company, col(Company.id) == Pledge.company_id)
    )
    if not f.include_inactive:
        stmt = stmt.where(col(Flag.active).is_(True))
    if f.pledge:
        stmt = stmt.where(Flag.pledge_id == f.pledge)
    if f.company:
        stmt = stmt.where(col(Pledge.company_id).in_(_company_ids(session, f.company)))
    if f.kind:
        stmt = stmt.where(Flag.kind == f.kind)
    if f.status:
        stmt = stmt.where(Flag.status == f.status)
    if f.since:
        stmt = stmt.where(col(Article.published_at) >= _start_of(f.since))
    stmt = stmt.order_by(col(Article.published_at).desc(), col(Flag.id).desc())
    if f.offset:
        stmt = stmt.offset(f.offset)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return stmt


def _sources(session: Session, article_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not article_ids:
        return out
    rows = session.exec(
        select(ArticleSource).where(col(ArticleSource.article_id).in_(article_ids))
    ).all()
    for s in rows:
        out.setdefault(s.article_id, []).append(
            {"outlet": s.outlet, "source": s.source, "seen_at": as_utc(s.seen_at)}
        )
    return out


def flag_dict(
    flag: Flag,
    article: Article,
    pledge: Pledge,
    company: Company,
    sources: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The public shape of a flag (CLI JSON, API, digest)."""
    return {
        "id": flag.id,
        "pledge_id": flag.pledge_id,
        "pledge_title": pledge.title,
        "company": company.name,
        "kind": flag.kind,
        "score": flag.score,
        "status": flag.status,
        "active": flag.active,
        "incident_id": flag.incident_id,
        "response": flag.response,
        "first_raised_at": as_utc(flag.first_raised_at),
        "article": {
            "id": article.id,
            "url": article.url,
            "title": article.title,
            "published": as_utc(article.published_at),
            "published_estimated": article.published_estimated,
            "sources": sources or [],
        },
        "reasons": list(flag.reasons),
        "evidence": list(flag.evidence),
    }


def list_flags(session: Session, f: FlagFilter) -> list[dict[str, Any]]:
    rows = session.exec(flag_query(session, f)).all()
    sources = _sources(session, [a.id for _, a, _, _ in rows if a.id is not None])
    return [flag_dict(fl, a, p, c, sources.get(a.id or 0)) for fl, a, p, c in rows]


def get_flag(session: Session, flag_id: int) -> dict[str, Any] | None:
    row = session.exec(
        select(Flag, Article, Pledge, Company)
        .join(Article, col(Article.id) == Flag.article_id)
        .join(Pledge, col(Pledge.id) == Flag.pledge_id)
        .join(Company, col(Company.id) == Pledge.company_id)
        .where(Flag.id == flag_id)
    ).first()
    if row is None:
        return None
    fl, a, p, c = row
    data = flag_dict(fl, a, p, c, _sources(session, [a.id or 0]).get(a.id or 0))
    data["reviews"] = [
        {
            "decision": r.decision,
            "note": r.note,
            "reviewer": r.reviewer,
            "created_at": as_utc(r.created_at),
        }
        for r in session.exec(
            select(Review).where(Review.flag_id == flag_id).order_by(col(Review.id))
        ).all()
    ]
    return data


def list_pledges(
    session: Session,
    *,
    company: str | None = None,
    status: str | None = None,
    include_retired: bool = False,
) -> list[dict[str, Any]]:
    stmt = select(Pledge, Company).join(Company, col(Company.id) == Pledge.company_id)
    if not include_retired:
        stmt = stmt.where(col(Pledge.retired).is_(False))
    if company:
        stmt = stmt.where(col(Pledge.company_id).in_(_company_ids(session, company)))
    if status:
        stmt = stmt.where(Pledge.status == status)
    rows = session.exec(stmt.order_by(col(Company.name), col(Pledge.id))).all()
    counts: dict[tuple[str, str], int] = {}
    for pid, st, n in session.exec(
        select(Flag.pledge_id, Flag.status, func.count())
        .where(col(Flag.active).is_(True))
        .group_by(col(Flag.pledge_id), col(Flag.status))
    ).all():
        counts[(pid, st)] = n
    return [
        {
            "id": p.id,
            "company": c.name,
            "title": p.title,
            "kind": p.kind,
            "status": p.status,
            "made_on": p.made_on,
            "effective_until": p.effective_until,
            "retired": p.retired,
            "open_flags": counts.get((p.id, "open"), 0),
            "confirmed_flags": counts.get((p.id, "confirmed"), 0),
        }
        for p, c in rows
    ]


def get_pledge(session: Session, pledge_id: str) -> dict[str, Any] | None:
    row = session.exec(
        select(Pledge, Company)
        .join(Company, col(Company.id) == Pledge.company_id)
        .where(Pledge.id == pledge_id)
    ).first()
    if row is None:
        return None
    p, c = row
    events = session.exec(
        select(PledgeEvent)
        .where(PledgeEvent.pledge_id == pledge_id)
        .order_by(col(PledgeEvent.date))
    ).all()
    flags = list_flags(session, FlagFilter(pledge=pledge_id))
    return {
        "id": p.id,
        "company": {"name": c.name, "aliases": c.aliases, "products": c.products},
        "title": p.title,
        "kind": p.kind,
        "status": p.status,
        "statement": p.statement,
        "made_on": p.made_on,
        "effective_until": p.effective_until,
        "subject": p.subject,
        "scope": p.scope,
        "sources": p.sources,
        "retired": p.retired,
        "history": [{"date": e.date, "event": e.event, "source": e.source} for e in events],
        "flags": flags,
        "confirmed": [f for f in flags if f["status"] == "confirmed"],
    }
