"""Flags as plain dicts for the CLI, the API and the digest: listed, counted, one in full."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from feeds.models import Article, ArticleSource
from feeds.redact import redact_url
from monitor.query.filters import FlagFilter, flag_filters
from monitor.store.db import as_utc
from monitor.store.models import Flag, Review
from pledges.models import Company, Pledge


def count_flags(session: Session, f: FlagFilter) -> int:
    """How many flags match `f`, ignoring its limit and offset."""
    stmt = select(func.count(col(Flag.id))).select_from(Flag)
    if f.company:
        stmt = stmt.join(Pledge, col(Pledge.id) == Flag.pledge_id)
    if f.since or f.until:
        stmt = stmt.join(Article, col(Article.id) == Flag.article_id)
    return int(session.exec(flag_filters(session, stmt, f)).one())


def article_sources(session: Session, article_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
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
            {"outlet": outlet, "source": redact_url(source), "seen_at": as_utc(seen_at)}
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
        "evidence": company_spans(list(flag.evidence), company.name),
    }


def company_spans(evidence: list[dict[str, Any]], company: str) -> list[dict[str, Any]]:
    """Evidence where the company's own short name is marked as the company.

    "Target" is a commitment word to the detector, but "Target" with a capital in a story
    about Target Corporation is the company.
    """
    words = company.split()
    short = words[0] if words else ""
    out = []
    for ev in evidence:
        spans = [
            {**sp, "role": "company"}
            if sp.get("role") == "commitment" and short and sp.get("text") == short
            else sp
            for sp in ev.get("spans", [])
        ]
        out.append({**ev, "spans": spans})
    return out


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
    stmt = flag_filters(session, stmt, f)
    if f.order == "raised":
        stmt = stmt.order_by(col(Flag.first_raised_at).desc(), col(Flag.id).desc())
    elif f.order == "score":
        stmt = stmt.order_by(col(Flag.score).desc(), col(Flag.id).desc())
    else:
        stmt = stmt.order_by(col(Article.published_at).desc(), col(Flag.id).desc())
    if f.offset:
        stmt = stmt.offset(f.offset)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return stmt


def list_flags(session: Session, f: FlagFilter) -> list[dict[str, Any]]:
    """Flags matching `f`, newest article first, in their public shape."""
    rows = session.execute(_list_stmt(session, f)).all()
    sources = article_sources(session, [r.article_id for r in rows])
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
        article_sources(session, [a.id or 0]).get(a.id or 0),
        answered[-1] if answered else None,
    )
    data["reviews"] = [review_dict(r) for r in reviews]
    return data
