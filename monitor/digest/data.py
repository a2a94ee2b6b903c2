"""Loading one week's digest data from the database (the query step of the digest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, or_, select

from feeds.models import Article, ArticleSource, Feed
from feeds.redact import redact_text, redact_url
from monitor.digest.content import DigestData, FeedProblem, FlagItem, PledgeChange, ReviewItem
from monitor.digest.periods import Period
from monitor.store.db import as_utc
from monitor.store.models import Flag, Incident, Review
from pledges.models import Company, Pledge, PledgeEvent

# A feed with no successful fetch for this long is "not heard from" (one never fetched at
# all is "waiting for a first fetch" instead: the first digest after install is built
# before the first poll).
SILENT_AFTER = timedelta(days=3)
# History events dated this long before the week are catalogue back-fill (a first sync
# records a pledge's whole history), not news of this week.
RECENT_EVENT = timedelta(days=90)


def load_digest_data(
    session: Session, period: Period, *, zone: str, now: datetime | None = None
) -> DigestData:
    """Read the flags first raised in `period` (with their incidents), that week's reviews,
    pledge changes, and the feeds not heard from as of `now`."""
    tz = ZoneInfo(zone)
    start, end = period.start(tz), period.end(tz)
    now = now or datetime.now(UTC)
    new = session.exec(
        select(Flag).where(
            col(Flag.active).is_(True),
            col(Flag.first_raised_at) >= start,
            col(Flag.first_raised_at) < end,
        )
    ).all()
    incident_ids = {f.incident_id for f in new if f.incident_id is not None}
    earlier: list[Flag] = []
    if incident_ids:
        # The rest of each story: flags of the same incidents raised before the week ended.
        earlier = list(
            session.exec(
                select(Flag).where(
                    col(Flag.active).is_(True),
                    col(Flag.incident_id).in_(incident_ids),
                    col(Flag.first_raised_at) < start,
                )
            ).all()
        )
    flags = [*new, *earlier]
    return DigestData(
        period=period,
        zone=zone,
        flags=tuple(_flag_items(session, flags)),
        reviews=tuple(_reviews(session, start, end)),
        pledge_changes=tuple(_pledge_changes(session, start, end)),
        feeds=tuple(_feed_problems(session, now)),
        aliases={c.name: tuple(c.aliases) for c in session.exec(select(Company)).all()},
    )


def _pledges(session: Session, ids: set[str]) -> dict[str, tuple[Pledge, Company]]:
    if not ids:
        return {}
    rows = session.exec(
        select(Pledge, Company)
        .join(Company, col(Company.id) == Pledge.company_id)
        .where(col(Pledge.id).in_(ids))
    ).all()
    return {p.id: (p, c) for p, c in rows}


def _flag_items(session: Session, flags: list[Flag]) -> list[FlagItem]:
    if not flags:
        return []
    article_ids = {f.article_id for f in flags}
    articles = {
        a.id: a for a in session.exec(select(Article).where(col(Article.id).in_(article_ids))).all()
    }
    outlets: dict[int, list[str]] = {}
    for s in session.exec(
        select(ArticleSource)
        .where(col(ArticleSource.article_id).in_(article_ids))
        .order_by(col(ArticleSource.id))
    ).all():
        name = s.outlet or redact_url(s.source)
        if name not in outlets.setdefault(s.article_id, []):
            outlets[s.article_id].append(name)
    incidents = {
        i.id: i
        for i in session.exec(
            select(Incident).where(
                col(Incident.id).in_({f.incident_id for f in flags if f.incident_id})
            )
        ).all()
    }
    pledges = _pledges(session, {f.pledge_id for f in flags})
    out = []
    for f in flags:
        assert f.id is not None
        art = articles.get(f.article_id)
        pledge, company = pledges[f.pledge_id]
        inc = incidents.get(f.incident_id) if f.incident_id else None
        raised = as_utc(f.first_raised_at)
        assert raised is not None
        out.append(
            FlagItem(
                id=f.id,
                incident_id=f.incident_id,
                pledge_id=f.pledge_id,
                pledge_title=pledge.title,
                company=company.name,
                kind=f.kind,
                score=f.score,
                status=f.status,
                title=art.title if art else "",
                url=art.url if art else None,
                outlets=tuple(outlets.get(f.article_id, [])),
                published=as_utc(art.published_at) if art else None,
                published_estimated=bool(art.published_estimated) if art else False,
                first_raised_at=raised,
                evidence=tuple(_evidence(f.evidence)),
                response=f.response,
                incident_title=inc.title if inc else "",
                incident_first_seen=as_utc(inc.first_seen_at) if inc else None,
            )
        )
    return out


def _evidence(raw: Any) -> list[dict[str, Any]]:
    return [e for e in (raw or []) if isinstance(e, dict)]


def _reviews(session: Session, start: datetime, end: datetime) -> list[ReviewItem]:
    rows = session.exec(
        select(Review, Flag, Article)
        .join(Flag, col(Flag.id) == Review.flag_id)
        .join(Article, col(Article.id) == Flag.article_id)
        .where(col(Review.created_at) >= start, col(Review.created_at) < end)
        .order_by(col(Review.created_at), col(Review.id))
    ).all()
    latest: dict[int, tuple[Review, Flag, Article]] = {}
    for r, f, a in rows:
        latest[r.flag_id] = (r, f, a)  # a flag decided twice this week: its last word
    pledges = _pledges(session, {f.pledge_id for _, f, _ in latest.values()})
    out = []
    for r, f, a in latest.values():
        if r.decision not in ("confirmed", "dismissed"):
            continue
        pledge, company = pledges[f.pledge_id]
        created = as_utc(r.created_at)
        assert created is not None
        out.append(
            ReviewItem(
                flag_id=r.flag_id,
                decision=r.decision,
                note=r.note,
                reviewer=r.reviewer,
                created_at=created,
                pledge_id=f.pledge_id,
                pledge_title=pledge.title,
                company=company.name,
                title=a.title,
                score=f.score,
                kind=f.kind,
                incident_id=f.incident_id,
            )
        )
    return out


def _pledge_changes(session: Session, start: datetime, end: datetime) -> list[PledgeChange]:
    events = session.exec(
        select(PledgeEvent)
        .where(
            col(PledgeEvent.recorded_at) >= start,
            col(PledgeEvent.recorded_at) < end,
            col(PledgeEvent.date) >= (start - RECENT_EVENT).date(),
        )
        .order_by(col(PledgeEvent.date), col(PledgeEvent.id))
    ).all()
    by_pledge: dict[str, list[PledgeEvent]] = {}
    for e in events:
        by_pledge.setdefault(e.pledge_id, []).append(e)
    pledges = _pledges(session, set(by_pledge))
    return [
        PledgeChange(
            pledge_id=pid,
            title=pledges[pid][0].title,
            company=pledges[pid][1].name,
            status=pledges[pid][0].status,
            events=tuple((e.date, e.event) for e in evs),
        )
        for pid, evs in by_pledge.items()
        if pid in pledges
    ]


def _feed_problems(session: Session, now: datetime) -> list[FeedProblem]:
    cutoff = now - SILENT_AFTER
    # Only the columns the digest shows (not the whole row: `feeds` grows columns).
    rows = session.execute(
        sa_select(
            col(Feed.name),
            col(Feed.url),
            col(Feed.consecutive_errors),
            col(Feed.last_success_at),
            col(Feed.last_error),
            col(Feed.gone),
            col(Feed.last_fetch_at),
            col(Feed.created_at),
        )
        .where(
            or_(
                col(Feed.consecutive_errors) > 0,
                col(Feed.last_success_at).is_(None),
                col(Feed.last_success_at) < cutoff,
                col(Feed.gone).is_(True),
            )
        )
        .order_by(col(Feed.url))
    ).all()
    return [
        FeedProblem(
            name=name or "",
            url=redact_url(url),
            consecutive_errors=errors,
            last_success_at=as_utc(last_ok),
            error=redact_text(error) if error else error,
            gone=gone,
            never_fetched=fetched is None and last_ok is None and not errors,
            created_at=as_utc(created),
        )
        for name, url, errors, last_ok, error, gone, fetched, created in rows
    ]
