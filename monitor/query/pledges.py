"""Pledges as plain dicts: the list with flag counts, and one pledge in full with its timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from monitor.query.filters import FlagFilter, company_ids
from monitor.query.flags import list_flags
from monitor.query.timeline import incident_summaries, pledge_timeline
from monitor.store.models import Flag
from pledges.models import Company, Pledge, PledgeEvent


def flag_counts(session: Session) -> dict[tuple[str, str], int]:
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
        stmt = stmt.where(col(Pledge.company_id).in_(company_ids(session, company)))
    if status:
        stmt = stmt.where(Pledge.status == status)
    rows = session.exec(stmt.order_by(col(Company.name), col(Pledge.id))).all()
    counts = flag_counts(session)
    return [pledge_row(p, c, counts) for p, c in rows]


def get_pledge(session: Session, pledge_id: str) -> dict[str, Any] | None:
    """One pledge: statement, sources, history, flags, incidents and a dated timeline."""

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
