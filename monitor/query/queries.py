"""Read queries shared by the CLI, the API and the digest: flags and pledges as plain dicts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from feeds.models import Article, ArticleSource
from monitor.store.models import Flag, Review
from pledges.models import Company, Pledge, PledgeEvent

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


def as_utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _matching_companies(session: Session, name: str) -> list[Company]:
    needle = " ".join(name.split()).casefold()
    return [
        c
        for c in session.exec(select(Company).order_by(col(Company.id))).all()
        if any(n.casefold() == needle for n in [c.name, *c.aliases])
    ]


def _company_ids(session: Session, name: str) -> list[int]:
    """Companies whose name or alias matches `name` (case-insensitive)."""
    return [c.id for c in _matching_companies(session, name) if c.id is not None]


def company_terms(session: Session, name: str) -> list[str]:
    """The names, aliases and products of the companies `name` designates (for search)."""
    out: list[str] = []
    for c in _matching_companies(session, name):
        for term in [c.name, *c.aliases, *c.products]:
            if term not in out:
                out.append(term)
    return out


def _flag_filters(session: Session, stmt: Any, f: FlagFilter) -> Any:
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
    if f.incident is not None:
        stmt = stmt.where(Flag.incident_id == f.incident)
    if f.since:
        stmt = stmt.where(col(Article.published_at) >= start_of_day(f.since))
    if f.until and end_of_day(f.until) is not None:
        stmt = stmt.where(col(Article.published_at) < end_of_day(f.until))
    return stmt


def count_flags(session: Session, f: FlagFilter) -> int:
    """How many flags match `f`, ignoring its limit and offset."""
    stmt = select(func.count(col(Flag.id))).select_from(Flag)
    if f.company:
        stmt = stmt.join(Pledge, col(Pledge.id) == Flag.pledge_id)
    if f.since or f.until:
        stmt = stmt.join(Article, col(Article.id) == Flag.article_id)
    return int(session.exec(_flag_filters(session, stmt, f)).one())


def _sources(session: Session, article_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not article_ids:
        return out
    rows = session.execute(
        sa_select(
            col(ArticleSource.article_id),
            col(ArticleSource.outlet),
            col(ArticleSource.source),
            col(ArticleSource.seen_at),
        ).where(col(ArticleSource.article_id).in_(article_ids))
    ).all()
    for article_id, outlet, source, seen_at in rows:
        out.setdefault(article_id, []).append(
            {"outlet": outlet, "source": source, "seen_at": as_utc(seen_at)}
        )
    return out


def _reviewed_responses(session: Session, flag_ids: list[int]) -> dict[int, Review]:
    """The latest review that recorded a company response, per flag."""
    out: dict[int, Review] = {}
    if not flag_ids:
        return out
    rows = session.exec(
        select(Review)
        .where(col(Review.flag_id).in_(flag_ids), col(Review.response).is_not(None))
        .order_by(col(Review.id))
    ).all()
    for r in rows:
        out[r.flag_id] = r
    return out


def flag_dict(
    flag: Flag | SimpleNamespace,
    article: Article | SimpleNamespace,
    pledge: Pledge | SimpleNamespace,
    company: Company | SimpleNamespace,
    sources: list[dict[str, Any]] | None = None,
    reviewed_response: Review | None = None,
) -> dict[str, Any]:
    """The public shape of a flag (CLI JSON, API, digest).

    `response` is the company's reported answer: a reviewer's record wins over what the
    detector read in the article (`response_by` says which).
    """
    response, source = flag.response, None
    by: str | None = "detector" if flag.response else None
    if reviewed_response is not None:
        response, source = reviewed_response.response, reviewed_response.response_source
        by = reviewed_response.reviewer or "reviewer"
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
        "response": response,
        "response_source": source,
        "response_by": by,
        "review_version": flag.review_version,
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


# What a flag list needs: no article text, no ORM objects (the list must stay fast).
_LIST_COLUMNS: tuple[Any, ...] = (
    col(Flag.id),
    col(Flag.pledge_id),
    col(Flag.incident_id),
    col(Flag.kind),
    col(Flag.score),
    col(Flag.status),
    col(Flag.active),
    col(Flag.response),
    col(Flag.review_version),
    col(Flag.first_raised_at),
    col(Flag.reasons),
    col(Flag.evidence),
    col(Article.id).label("article_id"),
    col(Article.url),
    col(Article.title),
    col(Article.published_at),
    col(Article.published_estimated),
    col(Pledge.title).label("pledge_title"),
    col(Company.name).label("company_name"),
)


def _list_stmt(session: Session, f: FlagFilter) -> Any:
    stmt = (
        sa_select(*_LIST_COLUMNS)
        .select_from(Flag)
        .join(Article, col(Article.id) == Flag.article_id)
        .join(Pledge, col(Pledge.id) == Flag.pledge_id)
        .join(Company, col(Company.id) == Pledge.company_id)
    )
    stmt = _flag_filters(session, stmt, f)
    stmt = stmt.order_by(col(Article.published_at).desc(), col(Flag.id).desc())
    if f.offset:
        stmt = stmt.offset(f.offset)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return stmt


def list_flags(session: Session, f: FlagFilter) -> list[dict[str, Any]]:
    """Flags matching `f`, newest article first, in their public shape."""
    rows = session.execute(_list_stmt(session, f)).all()
    sources = _sources(session, [r.article_id for r in rows])
    responses = _reviewed_responses(session, [r.id for r in rows])
    out = []
    for r in rows:
        flag = SimpleNamespace(**{k: getattr(r, k) for k in _FLAG_KEYS})
        article = SimpleNamespace(
            id=r.article_id,
            url=r.url,
            title=r.title,
            published_at=r.published_at,
            published_estimated=r.published_estimated,
        )
        out.append(
            flag_dict(
                flag,
                article,
                SimpleNamespace(title=r.pledge_title),
                SimpleNamespace(name=r.company_name),
                sources.get(r.article_id),
                responses.get(r.id),
            )
        )
    return out


_FLAG_KEYS = (
    "id",
    "pledge_id",
    "incident_id",
    "kind",
    "score",
    "status",
    "active",
    "response",
    "review_version",
    "first_raised_at",
    "reasons",
    "evidence",
)


def review_dict(r: Review) -> dict[str, Any]:
    """One entry of a flag's review log."""
    return {
        "id": r.id,
        "decision": r.decision,
        "note": r.note,
        "reviewer": r.reviewer,
        "response": r.response,
        "response_source": r.response_source,
        "created_at": as_utc(r.created_at),
    }


def get_flag(session: Session, flag_id: int) -> dict[str, Any] | None:
    """One flag with its review log, or None."""
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
    reviews = session.exec(
        select(Review).where(Review.flag_id == flag_id).order_by(col(Review.id))
    ).all()
    answered = [r for r in reviews if r.response is not None]
    data = flag_dict(
        fl,
        a,
        p,
        c,
        _sources(session, [a.id or 0]).get(a.id or 0),
        answered[-1] if answered else None,
    )
    data["reviews"] = [review_dict(r) for r in reviews]
    return data


def _flag_counts(session: Session) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for pid, st, n in session.exec(
        select(Flag.pledge_id, Flag.status, func.count())
        .where(col(Flag.active).is_(True))
        .group_by(col(Flag.pledge_id), col(Flag.status))
    ).all():
        counts[(pid, st)] = n
    return counts


def pledge_row(p: Pledge, c: Company, counts: dict[tuple[str, str], int]) -> dict[str, Any]:
    """A pledge as one list row, with its flag counts."""
    return {
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
        "dismissed_flags": counts.get((p.id, "dismissed"), 0),
    }


def list_pledges(
    session: Session,
    *,
    company: str | None = None,
    status: str | None = None,
    include_retired: bool = False,
) -> list[dict[str, Any]]:
    """Pledges by company, with open, confirmed and dismissed flag counts."""
    stmt = select(Pledge, Company).join(Company, col(Company.id) == Pledge.company_id)
    if not include_retired:
        stmt = stmt.where(col(Pledge.retired).is_(False))
    if company:
        stmt = stmt.where(col(Pledge.company_id).in_(_company_ids(session, company)))
    if status:
        stmt = stmt.where(Pledge.status == status)
    rows = session.exec(stmt.order_by(col(Company.name), col(Pledge.id))).all()
    counts = _flag_counts(session)
    return [pledge_row(p, c, counts) for p, c in rows]


def get_pledge(session: Session, pledge_id: str) -> dict[str, Any] | None:
    """One pledge: statement, sources, history, flags, incidents and a dated timeline."""
    from monitor.query.timeline import incident_summaries, pledge_timeline

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
    history = [{"date": e.date, "event": e.event, "source": e.source} for e in events]
    incidents = incident_summaries(session, flags)
    return {
        "id": p.id,
        "company": {"id": c.id, "name": c.name, "aliases": c.aliases, "products": c.products},
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
        "history": history,
        "flags": flags,
        "confirmed": [f for f in flags if f["status"] == "confirmed"],
        "incidents": incidents,
        "timeline": pledge_timeline(p, history, incidents, flags),
    }
