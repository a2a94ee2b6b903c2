"""Company queries: every company with its pledges, flag counts and incidents."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from monitor.query.filters import matching_companies, row_id
from monitor.query.pledges import STORY_COUNTS, flag_counts, pledge_row, story_counts
from monitor.query.timeline import IncidentFilter, count_incidents, list_incidents
from monitor.store.models import Incident
from pledges.models import Company, Pledge


def _company_row(
    c: Company,
    pledges: list[Pledge],
    counts: dict[tuple[str, str], int],
    incidents: int,
    stories: dict[str, dict[str, int]],
) -> dict[str, Any]:
    return {
        "id": c.id,
        "name": c.name,
        "aliases": list(c.aliases),
        "products": list(c.products),
        "pledge_count": len(pledges),
        "open_flags": sum(counts.get((p.id, "open"), 0) for p in pledges),
        "confirmed_flags": sum(counts.get((p.id, "confirmed"), 0) for p in pledges),
        "incident_count": incidents,
        **{k: sum(stories.get(p.id, {}).get(k, 0) for p in pledges) for k in STORY_COUNTS},
    }


def list_companies(session: Session, *, include_retired: bool = False) -> list[dict[str, Any]]:
    """Companies by name, with pledge, flag and incident counts."""
    pledges: dict[int, list[Pledge]] = {}
    stmt = select(Pledge)
    if not include_retired:
        stmt = stmt.where(col(Pledge.retired).is_(False))
    for p in session.exec(stmt).all():
        pledges.setdefault(p.company_id, []).append(p)
    incidents: dict[int, int] = {}
    for company_id, n in session.exec(
        select(Pledge.company_id, func.count(col(Incident.id)))
        .join(Incident, col(Incident.pledge_id) == Pledge.id)
        .group_by(col(Pledge.company_id))
    ).all():
        incidents[company_id] = n
    counts, stories = flag_counts(session), story_counts(session)
    rows = []
    for c in session.exec(select(Company).order_by(col(Company.name))).all():
        assert c.id is not None
        mine = pledges.get(c.id, [])
        if not mine and not include_retired:
            continue
        rows.append(_company_row(c, mine, counts, incidents.get(c.id, 0), stories))
    return rows


def find_company(session: Session, key: str | int) -> Company | None:
    """A company by id, or by name or alias (case-insensitive)."""
    if isinstance(key, int):
        return session.get(Company, key)
    # A number too long for an id is looked up as a name (and not found).
    if (cid := row_id(key)) is not None:
        return session.get(Company, cid)
    found = matching_companies(session, key)
    return found[0] if found else None


def get_company(
    session: Session, key: str | int, *, incident_limit: int = 50
) -> dict[str, Any] | None:
    """One company: names, products, its pledges with counts, and its latest incidents."""
    c = find_company(session, key)
    if c is None or c.id is None:
        return None
    counts, stories = flag_counts(session), story_counts(session)
    pledges = session.exec(
        select(Pledge).where(Pledge.company_id == c.id).order_by(col(Pledge.id))
    ).all()
    filt = IncidentFilter(company=c.name, limit=incident_limit)
    n_incidents = count_incidents(session, filt)
    live = [p for p in pledges if not p.retired]
    data = _company_row(c, live, counts, n_incidents, stories)
    data["pledges"] = [pledge_row(p, c, counts, stories) for p in pledges]
    data["incidents"] = list_incidents(session, filt)
    return data
