"""Database side of the catalogue: sync a validated catalogue, query pledges."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import Session, col, select

from pledges.models import Company, Pledge, PledgeEvent, PledgeIn, pledge_to_in


@dataclass
class SyncReport:
    """What a catalogue sync changed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.retired)


def content_hash(p: PledgeIn) -> str:
    """A stable digest of a pledge's catalogue content."""
    blob = json.dumps(p.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _merge_terms(base: list[str], extra: list[str]) -> list[str]:
    seen = {t.casefold() for t in base}
    out = list(base)
    for t in extra:
        if t.casefold() not in seen:
            seen.add(t.casefold())
            out.append(t)
    return out


def sync_catalogue(
    *, session: Session, pledges: Sequence[PledgeIn], now: datetime | None = None
) -> SyncReport:
    """Make the database match `pledges`, in the caller's transaction.

    Changed pledges are updated, new ones added, missing ones marked retired; nothing
    is deleted, so flags and reviews always keep their pledge.
    """
    now = now or datetime.now(UTC)
    report = SyncReport()

    # One company row per name; aliases and products merge across its pledges.
    wanted: dict[str, tuple[list[str], list[str]]] = {}
    for p in pledges:
        aliases, products = wanted.get(p.company.name, ([], []))
        wanted[p.company.name] = (
            _merge_terms(aliases, p.company.aliases),
            _merge_terms(products, p.company.products),
        )
    companies = {c.name: c for c in session.exec(select(Company)).all()}
    for name, (aliases, products) in wanted.items():
        company = companies.get(name)
        if company is None:
            company = Company(name=name, aliases=aliases, products=products)
            session.add(company)
            companies[name] = company
        elif company.aliases != aliases or company.products != products:
            company.aliases = aliases
            company.products = products
            session.add(company)
    session.flush()

    existing = {p.id: p for p in session.exec(select(Pledge)).all()}
    for p in pledges:
        digest = content_hash(p)
        company_id = companies[p.company.name].id
        assert company_id is not None
        row = existing.get(p.id)
        if row is not None and row.content_hash == digest and not row.retired:
            if row.company_id != company_id:
                row.company_id = company_id
                session.add(row)
            report.unchanged.append(p.id)
            continue
        if row is None:
            row = Pledge(
                id=p.id,
                company_id=company_id,
                title=p.title,
                kind=p.kind.value,
                statement=p.statement,
                made_on=p.made_on,
                synced_at=now,
            )
            report.added.append(p.id)
        else:
            report.updated.append(p.id)
        row.company_id = company_id
        row.title = p.title
        row.kind = p.kind.value
        row.statement = p.statement
        row.made_on = p.made_on
        row.effective_until = p.effective_until
        row.status = p.status.value
        row.subject = list(p.subject)
        row.scope = list(p.scope)
        row.sources = list(p.sources)
        row.retired = False
        row.content_hash = digest
        row.synced_at = now
        session.add(row)
        session.flush()
        _sync_events(session, p, now)

    wanted_ids = {p.id for p in pledges}
    for pid, row in existing.items():
        if pid not in wanted_ids and not row.retired:
            row.retired = True
            row.synced_at = now
            session.add(row)
            report.retired.append(pid)
    session.flush()
    return report


def _sync_events(session: Session, p: PledgeIn, now: datetime) -> None:
    old = session.exec(select(PledgeEvent).where(PledgeEvent.pledge_id == p.id)).all()
    by_key = {(e.date, e.event): e for e in old}
    keep: set[int] = set()
    for ev in p.history:
        row = by_key.get((ev.date, ev.event))
        if row is None:
            session.add(
                PledgeEvent(
                    pledge_id=p.id, date=ev.date, event=ev.event, source=ev.source, recorded_at=now
                )
            )
        else:
            assert row.id is not None
            keep.add(row.id)
            if row.source != ev.source:
                row.source = ev.source
                session.add(row)
    for e in old:
        if e.id not in keep:
            session.delete(e)


def active_pledges(session: Session, *, include_retired: bool = False) -> list[PledgeIn]:
    """Stored pledges in catalogue form, for detection."""
    stmt = select(Pledge, Company).join(Company, col(Company.id) == Pledge.company_id)
    if not include_retired:
        stmt = stmt.where(col(Pledge.retired).is_(False))
    rows = session.exec(stmt.order_by(col(Pledge.id))).all()
    events: dict[str, list[PledgeEvent]] = {}
    for e in session.exec(select(PledgeEvent).order_by(col(PledgeEvent.date))).all():
        events.setdefault(e.pledge_id, []).append(e)
    return [pledge_to_in(p, c, events.get(p.id, [])) for p, c in rows]
