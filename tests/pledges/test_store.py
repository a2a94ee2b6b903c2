"""Catalogue sync: all-or-nothing, companies merged, nothing deleted."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select

from monitor.store.db import Database
from pledges.models import Company, Pledge, PledgeEvent, PledgeIn
from pledges.store import active_pledges, sync_catalogue


def pledge(
    pid: str,
    company: str = "Acme",
    aliases: list[str] | None = None,
    title: str = "A promise",
    history: list[dict[str, str]] | None = None,
) -> PledgeIn:
    return PledgeIn.model_validate(
        {
            "id": pid,
            "company": {"name": company, "aliases": aliases or []},
            "title": title,
            "kind": "moratorium",
            "statement": "Said so.",
            "made_on": "2020-06-10",
            "status": "active",
            "subject": ["facial recognition"],
            "sources": ["https://example.org/a"],
            "history": history or [],
        }
    )


def test_sync_adds_then_updates_then_retires(db: Database) -> None:
    with db.write() as s:
        r = sync_catalogue(session=s, pledges=[pledge("a"), pledge("b")])
    assert sorted(r.added) == ["a", "b"]
    with db.write() as s:
        r = sync_catalogue(session=s, pledges=[pledge("a", title="Changed")])
    assert r.updated == ["a"] and r.retired == ["b"] and r.added == []
    with db.session() as s:
        rows = {p.id: p for p in s.exec(select(Pledge)).all()}
        assert rows["b"].retired and not rows["a"].retired
        assert rows["a"].title == "Changed"
        assert [p.id for p in active_pledges(s)] == ["a"]
    with db.write() as s:
        r = sync_catalogue(session=s, pledges=[pledge("a", title="Changed"), pledge("b")])
    assert r.updated == ["b"] and r.unchanged == ["a"]


def test_one_company_row_with_merged_aliases(db: Database) -> None:
    with db.write() as s:
        sync_catalogue(
            session=s,
            pledges=[pledge("a", aliases=["AWS"]), pledge("b", aliases=["aws", "Amazon.com"])],
        )
    with db.session() as s:
        [company] = s.exec(select(Company)).all()
        assert company.aliases == ["AWS", "Amazon.com"]


def test_history_events_keep_their_first_recorded_time(db: Database) -> None:
    ev = [{"date": "2021-05-18", "event": "extended"}]
    t1 = datetime(2025, 1, 1, tzinfo=UTC)
    with db.write() as s:
        sync_catalogue(session=s, pledges=[pledge("a", history=ev)], now=t1)
    with db.write() as s:
        sync_catalogue(
            session=s,
            pledges=[pledge("a", title="x", history=ev)],
            now=datetime(2025, 2, 1, tzinfo=UTC),
        )
    with db.session() as s:
        [row] = s.exec(select(PledgeEvent)).all()
        assert row.recorded_at.replace(tzinfo=UTC) == t1


def test_a_failed_sync_leaves_the_database_unchanged(db: Database) -> None:
    with db.write() as s:
        sync_catalogue(session=s, pledges=[pledge("a")])
    try:
        with db.write() as s:
            sync_catalogue(session=s, pledges=[pledge("a", title="new"), pledge("c")])
            raise RuntimeError("crash after sync, before commit")
    except RuntimeError:
        pass
    with db.session() as s:
        assert [(p.id, p.title) for p in s.exec(select(Pledge)).all()] == [("a", "A promise")]


def test_stored_pledges_read_back_in_the_catalogue_form_they_were_synced_from(
    db: Database,
) -> None:
    ev = [
        {"date": "2022-03-01", "event": "scaled back", "source": "https://example.org/b"},
        {"date": "2021-05-18", "event": "extended"},
    ]
    full = pledge("a", aliases=["AWS"], history=ev).model_copy(
        update={"scope": ["police"], "effective_until": datetime(2030, 1, 1).date()}
    )
    other = pledge("b", company="Other Co", title="Another promise")
    with db.write() as s:
        sync_catalogue(session=s, pledges=[other, full, pledge("c")])
        sync_catalogue(session=s, pledges=[other, full])  # c is retired
    with db.session() as s:
        back = active_pledges(s)
        with_retired = active_pledges(s, include_retired=True)
    assert [p.id for p in back] == ["a", "b"] and len(with_retired) == 3
    # History comes back in date order, as detection reads it.
    expected = full.model_copy(update={"history": sorted(full.history, key=lambda e: e.date)})
    assert back[0].model_dump() == expected.model_dump()
    assert back[1].model_dump() == other.model_dump()
