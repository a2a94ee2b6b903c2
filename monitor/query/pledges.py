"""Pledges as plain dicts: the list with flag counts, and one pledge in full with its timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy import select as sa_select
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


STORY_COUNTS = ("open_stories", "confirmed_breaches", "confirmed_rollbacks", "dismissed_stories")


def story_counts(session: Session) -> dict[str, dict[str, int]]:
    """Per pledge, stories (incidents; a flag outside one is its own story) by outcome.

    Two outlets reporting one claim are one story. A story is confirmed when any of its
    flags is, open while any is, else dismissed; a confirmed story is a breach when one of
    its confirmed flags is a breach, else a rollback.
    """
    stories: dict[tuple[str, int], list[tuple[str, str]]] = {}
    for pledge_id, incident_id, flag_id, kind, status in session.execute(
        sa_select(
            col(Flag.pledge_id),
            col(Flag.incident_id),
            col(Flag.id),
            col(Flag.kind),
            col(Flag.status),
        ).where(col(Flag.active).is_(True))
    ).all():
        key = (pledge_id, incident_id if incident_id is not None else -flag_id)
        stories.setdefault(key, []).append((kind, status))
    out: dict[str, dict[str, int]] = {}
    for (pledge_id, _), members in stories.items():
        counts = out.setdefault(pledge_id, dict.fromkeys(STORY_COUNTS, 0))
        confirmed = [kind for kind, status in members if status == "confirmed"]
        if confirmed:
            outcome = "confirmed_breaches" if "breach" in confirmed else "confirmed_rollbacks"
        elif any(status == "open" for _, status in members):
            outcome = "open_stories"
        else:
            outcome = "dismissed_stories"
        counts[outcome] += 1
    return out


def pledge_row(
    p: Pledge,
    c: Company,
    counts: dict[tuple[str, str], int],
    stories: dict[str, dict[str, int]] | None = None,
) -> dict[str, Any]:
    """A pledge as one list row, with its flag counts and story counts."""
    mine = (stories or {}).get(p.id, {})
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
        **{k: mine.get(k, 0) for k in STORY_COUNTS},
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
    counts, stories = flag_counts(session), story_counts(session)
    return [pledge_row(p, c, counts, stories) for p, c in rows]


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
    confirmed_stories = _confirmed_stories(incidents, flags)
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
        "confirmed_stories": confirmed_stories,
        "story_counts": story_counts(session).get(p.id, dict.fromkeys(STORY_COUNTS, 0)),
        "incidents": incidents,
        "timeline": pledge_timeline(p, history, incidents, flags),
    }


def _confirmed_stories(
    incidents: list[dict[str, Any]], flags: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Confirmed incidents, each with its confirmed flags and one kind (breach wins)."""
    by_id = {f["id"]: f for f in flags}
    out = []
    for inc in incidents:
        if inc["status"] != "confirmed":
            continue
        members = [by_id[i] for i in inc["flag_ids"] if by_id[i]["status"] == "confirmed"]
        kind = "breach" if any(f["kind"] == "breach" for f in members) else "rollback"
        out.append({**inc, "kind": kind, "flags": members})
    return out
