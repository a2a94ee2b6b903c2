"""Database side of the catalogue: sync a validated catalogue, query pledges."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Row
from sqlmodel import Session, col, select

from pledges.bulk import collector_paused
from pledges.models import (
    Company,
    CompanyIn,
    EventIn,
    Pledge,
    PledgeEvent,
    PledgeIn,
    PledgeKind,
    PledgeStatus,
)


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


def count_pledges(session: Session) -> int:
    """How many pledges detection would load (the non-retired ones)."""
    stmt = sa.select(sa.func.count()).select_from(Pledge).where(col(Pledge.retired).is_(False))
    return int(session.connection().execute(stmt).scalar_one())


def active_pledges(session: Session, *, include_retired: bool = False) -> list[PledgeIn]:
    """Stored pledges in catalogue form, for detection.

    Read as plain column rows rather than ORM objects, and built without validating
    again (stored pledges were validated when synced): every ingest and daemon start
    reads the whole catalogue.
    """
    with collector_paused():
        conn = session.connection()
        companies = {
            cid: (name, aliases, products)
            for cid, name, aliases, products in conn.execute(
                sa.select(
                    col(Company.id), col(Company.name), col(Company.aliases), col(Company.products)
                )
            )
        }
        events: dict[str, list[EventIn]] = {}
        stmt_events = sa.select(
            col(PledgeEvent.pledge_id),
            col(PledgeEvent.date),
            col(PledgeEvent.event),
            col(PledgeEvent.source),
        ).order_by(col(PledgeEvent.date), col(PledgeEvent.id))
        for pid, day, event, source in conn.execute(stmt_events):
            events.setdefault(pid, []).append(
                EventIn.model_construct(date=day, event=event, source=source)
            )
        stmt = sa.select(*_PLEDGE_COLUMNS).order_by(col(Pledge.id))
        if not include_retired:
            stmt = stmt.where(col(Pledge.retired).is_(False))
        out = []
        for row in conn.execute(stmt):
            company = companies.get(row.company_id)
            if company is not None:  # as the join it replaces: no company, no pledge
                out.append(_pledge_in(row, company, events.get(row.id, [])))
        return out


_PLEDGE_COLUMNS = (
    col(Pledge.id),
    col(Pledge.company_id),
    col(Pledge.title),
    col(Pledge.kind),
    col(Pledge.statement),
    col(Pledge.made_on),
    col(Pledge.effective_until),
    col(Pledge.status),
    col(Pledge.subject),
    col(Pledge.scope),
    col(Pledge.sources),
)


def _pledge_in(
    row: Row[*tuple[Any, ...]], company: tuple[str, list[str], list[str]], events: list[EventIn]
) -> PledgeIn:
    name, aliases, products = company
    return PledgeIn.model_construct(
        id=row.id,
        company=CompanyIn.model_construct(
            name=name, aliases=list(aliases), products=list(products)
        ),
        title=row.title,
        kind=PledgeKind(row.kind),
        statement=row.statement,
        made_on=row.made_on,
        effective_until=row.effective_until,
        status=PledgeStatus(row.status),
        subject=list(row.subject),
        scope=list(row.scope),
        sources=list(row.sources),
        history=events,
    )
