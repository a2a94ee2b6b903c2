"""Incidents as readers see them, and a pledge's dated timeline of events and incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import case, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from feeds.models import Article
from monitor.query.filters import FlagFilter, company_ids, start_of_day
from monitor.query.flags import list_flags
from monitor.store.db import as_utc
from monitor.store.models import Flag, Incident
from pledges.models import Company, Pledge

INCIDENT_STATUSES = ("open", "confirmed", "dismissed")
# Order of entries that share a date: the pledge first, then events, then news.
_KIND_ORDER = {"made": 0, "event": 1, "incident": 2, "ends": 3}


def incident_status(open_: int, confirmed: int) -> str:
    """An incident is confirmed when any of its flags is, open while any is, else dismissed."""
    if confirmed:
        return "confirmed"
    if open_:
        return "open"
    return "dismissed"


def incident_summaries(session: Session, flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group a pledge's flags (public shape) by incident, newest story first."""
    groups: dict[int, list[dict[str, Any]]] = {}
    for f in flags:
        key = f["incident_id"] if f["incident_id"] is not None else -int(f["id"])
        groups.setdefault(key, []).append(f)
    ids = [k for k in groups if k > 0]
    titles = {
        i.id: i.title for i in session.exec(select(Incident).where(col(Incident.id).in_(ids))).all()
    }
    out = []
    for key, members in groups.items():
        published = [f["article"]["published"] for f in members if f["article"]["published"]]
        statuses = [f["status"] for f in members]
        first = min(published) if published else None
        out.append(
            {
                "id": key if key > 0 else None,
                "title": titles.get(key) or members[-1]["article"]["title"],
                "first_published": first,
                "last_published": max(published) if published else None,
                "status": incident_status(statuses.count("open"), statuses.count("confirmed")),
                "kinds": sorted({f["kind"] for f in members}),
                "flag_ids": [f["id"] for f in members],
                "outlets": len(
                    {s["outlet"] or s["source"] for f in members for s in f["article"]["sources"]}
                ),
            }
        )
    out.sort(key=lambda i: (i["first_published"] is not None, i["first_published"]), reverse=True)
    return out


def pledge_timeline(
    pledge: Pledge,
    history: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    flags: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Dated entries, oldest first: the pledge, its history, incidents not dismissed."""
    by_id = {f["id"]: f for f in flags}
    entries: list[dict[str, Any]] = [
        {
            "date": pledge.made_on,
            "kind": "made",
            "text": "Pledge made",
            "source": pledge.sources[0] if pledge.sources else None,
            "status": None,
            "incident_id": None,
            "flag_ids": [],
        }
    ]
    for e in history:
        entries.append(
            {
                "date": e["date"],
                "kind": "event",
                "text": e["event"],
                "source": e["source"],
                "status": None,
                "incident_id": None,
                "flag_ids": [],
            }
        )
    if pledge.effective_until is not None:
        entries.append(
            {
                "date": pledge.effective_until,
                "kind": "ends",
                "text": "End date or deadline of the pledge",
                "source": None,
                "status": None,
                "incident_id": None,
                "flag_ids": [],
            }
        )
    for inc in incidents:
        if inc["status"] == "dismissed" or inc["first_published"] is None:
            continue
        kinds = " / ".join(inc["kinds"])
        label = "Confirmed" if inc["status"] == "confirmed" else "Possible"
        lead = by_id.get(inc["flag_ids"][0])
        entries.append(
            {
                "date": inc["first_published"].date(),
                "kind": "incident",
                "text": f"{label} {kinds}: {inc['title']}",
                "source": lead["article"]["url"] if lead else None,
                "status": inc["status"],
                "incident_id": inc["id"],
                "flag_ids": inc["flag_ids"],
            }
        )
    entries.sort(key=lambda e: (e["date"], _KIND_ORDER[e["kind"]]))
    return entries


@dataclass(frozen=True)
class IncidentFilter:
    """Filters for listing incidents."""

    pledge: str | None = None
    company: str | None = None
    status: str | None = None
    since: date | None = None
    limit: int | None = 50
    offset: int = 0


def _incident_stmt(session: Session, f: IncidentFilter, *, count: bool) -> Any:
    confirmed = func.sum(case((col(Flag.status) == "confirmed", 1), else_=0))
    open_ = func.sum(case((col(Flag.status) == "open", 1), else_=0))
    agg = (
        sa_select(
            col(Flag.incident_id).label("incident_id"),
            func.min(Article.published_at).label("first_published"),
            func.max(Article.published_at).label("last_published"),
            func.count().label("flags"),
            confirmed.label("confirmed"),
            open_.label("open"),
        )
        .join(Article, col(Article.id) == Flag.article_id)
        .where(col(Flag.active).is_(True), col(Flag.incident_id).is_not(None))
        .group_by(col(Flag.incident_id))
        .subquery()
    )
    cols: tuple[Any, ...] = (
        (func.count(),) if count else (Incident, Pledge.title, Company.name, agg)
    )
    stmt = (
        sa_select(*cols)
        .select_from(Incident)
        .join(agg, agg.c.incident_id == Incident.id)
        .join(Pledge, col(Pledge.id) == Incident.pledge_id)
        .join(Company, col(Company.id) == Pledge.company_id)
    )
    if f.pledge:
        stmt = stmt.where(col(Incident.pledge_id) == f.pledge)
    if f.company:
        stmt = stmt.where(col(Pledge.company_id).in_(company_ids(session, f.company)))
    if f.since:
        stmt = stmt.where(agg.c.first_published >= start_of_day(f.since))
    if f.status == "confirmed":
        stmt = stmt.where(agg.c.confirmed > 0)
    elif f.status == "open":
        stmt = stmt.where(agg.c.confirmed == 0, agg.c.open > 0)
    elif f.status == "dismissed":
        stmt = stmt.where(agg.c.confirmed == 0, agg.c.open == 0)
    if count:
        return stmt
    stmt = stmt.order_by(agg.c.first_published.desc(), col(Incident.id).desc())
    if f.offset:
        stmt = stmt.offset(f.offset)
    if f.limit is not None:
        stmt = stmt.limit(f.limit)
    return stmt


def list_incidents(session: Session, f: IncidentFilter) -> list[dict[str, Any]]:
    """Incidents with at least one active flag, newest story first."""
    out = []
    for row in session.execute(_incident_stmt(session, f, count=False)).all():
        inc: Incident = row[0]
        out.append(
            {
                "id": inc.id,
                "pledge_id": inc.pledge_id,
                "pledge_title": row[1],
                "company": row[2],
                "title": inc.title,
                "first_published": as_utc(row.first_published),
                "last_published": as_utc(row.last_published),
                "first_seen_at": as_utc(inc.first_seen_at),
                "flag_count": int(row.flags),
                "status": incident_status(int(row.open or 0), int(row.confirmed or 0)),
            }
        )
    return out


def count_incidents(session: Session, f: IncidentFilter) -> int:
    """How many incidents match `f`, ignoring its limit and offset."""
    return int(session.execute(_incident_stmt(session, f, count=True)).scalar_one())


def get_incident(session: Session, incident_id: int) -> dict[str, Any] | None:
    """One incident with its flags, or None."""
    row = session.exec(
        select(Incident, Pledge, Company)
        .join(Pledge, col(Pledge.id) == Incident.pledge_id)
        .join(Company, col(Company.id) == Pledge.company_id)
        .where(Incident.id == incident_id)
    ).first()
    if row is None:
        return None
    inc, p, c = row
    flags = list_flags(session, FlagFilter(incident=incident_id, include_inactive=True))
    active = [f for f in flags if f["active"]]
    published = [f["article"]["published"] for f in active if f["article"]["published"]]
    statuses = [f["status"] for f in active]
    return {
        "id": inc.id,
        "pledge_id": p.id,
        "pledge_title": p.title,
        "company": c.name,
        "title": inc.title,
        "first_published": min(published) if published else None,
        "last_published": max(published) if published else None,
        "first_seen_at": as_utc(inc.first_seen_at),
        "flag_count": len(active),
        "status": incident_status(statuses.count("open"), statuses.count("confirmed")),
        "flags": flags,
    }
