"""Rescan: re-run detection over stored articles; dry runs write nothing, reviews survive."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import col, select

from monitor.flags.rescan import RescanError, rescan
from monitor.flags.review import review_flag
from monitor.ingest.pipeline import ingest_files
from monitor.store.db import Database
from monitor.store.models import Flag, Review
from pledges.catalogue import load_catalogue, shipped_catalogue
from pledges.store import sync_catalogue
from tests.monitor.querydata import AMAZON, SAMPLE_FEEDS, flag_ids, load_sample


def _flags(db: Database) -> dict[tuple[int, str], tuple[Any, ...]]:
    with db.session() as s:
        return {
            (f.article_id, f.pledge_id): (f.kind, f.score, f.active, f.status, f.review_version)
            for f in s.exec(select(Flag)).all()
        }


def _sync(db: Database, drop: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    pledges = [p for p in load_catalogue(shipped_catalogue()) if p.id not in drop]
    with db.write() as s:
        sync_catalogue(session=s, pledges=pledges)


def _pairs(report) -> set[tuple[str, int, str]]:
    return {(c.action, c.article_id, c.pledge_id) for c in report.changes}


def test_a_rescan_with_nothing_changed_changes_nothing(db: Database):
    load_sample(db)
    before = _flags(db)
    dry = rescan(db=db, dry_run=True)
    real = rescan(db=db)
    assert dry.articles == real.articles > 0
    assert dry.changes == [] and real.changes == []
    assert _flags(db) == before


def test_a_changed_score_is_planned_then_restored_and_reviews_are_kept(db: Database):
    load_sample(db)
    fid = flag_ids(db, AMAZON)[0]
    with db.write() as s:
        review_flag(session=s, flag_id=fid, decision="confirmed", reviewer="ana")
        flag = s.get(Flag, fid)
        assert flag is not None
        right, flag.score = flag.score, 0.01
        s.add(flag)
    tampered = _flags(db)
    dry = rescan(db=db, dry_run=True)
    assert [(c.action, c.flag_id, c.old_score, c.new_score) for c in dry.changes] == [
        ("changed", fid, 0.01, right)
    ]
    assert _flags(db) == tampered  # a dry run writes nothing
    real = rescan(db=db)
    assert _pairs(real) == _pairs(dry)
    with db.session() as s:
        flag = s.get(Flag, fid)
        reviews = s.exec(select(Review).where(Review.flag_id == fid)).all()
    assert flag is not None and flag.score == right and flag.status == "confirmed"
    assert len(reviews) == 1
    assert rescan(db=db).changes == []


def test_a_new_pledge_is_backtested_then_flagged_without_touching_others(db: Database):
    _sync(db, drop={AMAZON})
    report = ingest_files(db=db, paths=[str(p) for p in SAMPLE_FEEDS])
    assert not report.rejected
    assert flag_ids(db, AMAZON) == []
    _sync(db)
    before = _flags(db)
    dry = rescan(db=db, pledge_ids=[AMAZON], dry_run=True)
    assert dry.changes and {c.action for c in dry.changes} == {"new"}
    assert {c.pledge_id for c in dry.changes} == {AMAZON}
    assert _flags(db) == before
    real = rescan(db=db, pledge_ids=[AMAZON])
    assert _pairs(real) == _pairs(dry)
    after = _flags(db)
    assert {k: v for k, v in after.items() if k[1] != AMAZON} == before
    new_ids = flag_ids(db, AMAZON)
    assert sorted(c.flag_id for c in real.changes) == new_ids
    with db.session() as s:
        assert all(
            f.incident_id is not None
            for f in s.exec(select(Flag).where(col(Flag.id).in_(new_ids))).all()
        )
    assert rescan(db=db, pledge_ids=[AMAZON]).changes == []


def test_a_retired_pledge_loses_active_flags_but_keeps_reviews(db: Database):
    load_sample(db)
    fid = flag_ids(db, AMAZON)[0]
    with db.write() as s:
        review_flag(session=s, flag_id=fid, decision="confirmed", reviewer="ana", note="kept")
    _sync(db, drop={AMAZON})
    dry = rescan(db=db, dry_run=True)
    assert {c.action for c in dry.changes} == {"deactivated"}
    assert {c.pledge_id for c in dry.changes} == {AMAZON}
    rescan(db=db)
    with db.session() as s:
        flag = s.get(Flag, fid)
        notes = [r.note for r in s.exec(select(Review).where(Review.flag_id == fid)).all()]
    assert flag is not None and not flag.active and flag.status == "confirmed"
    assert notes == ["kept"]
    _sync(db)
    again = rescan(db=db, dry_run=True)
    assert {c.action for c in again.changes} == {"reactivated"}


def test_an_unknown_pledge_id_is_refused(db: Database):
    load_sample(db)
    with pytest.raises(RescanError, match="no-such-pledge"):
        rescan(db=db, pledge_ids=["no-such-pledge"], dry_run=True)


def test_a_configured_min_score_flags_only_findings_scoring_at_least_it(db: Database):
    load_sample(db)
    scores = sorted(score for _, score, active, *_ in _flags(db).values() if active)
    assert len(scores) >= 4
    # Halfway between two stored (rounded) scores, so rounding cannot decide.
    i = next(i for i in range(len(scores) // 2, len(scores)) if scores[i] > scores[i - 1])
    floor = (scores[i - 1] + scores[i]) / 2
    report = rescan(db=db, min_score=floor)
    kept = [score for _, score, active, *_ in _flags(db).values() if active]
    assert sorted(kept) == [s for s in scores if s >= floor]
    assert {c.action for c in report.changes} == {"deactivated"}
    # Unset again, the model's own threshold brings the weaker flags back.
    rescan(db=db)
    assert sorted(s for _, s, active, *_ in _flags(db).values() if active) == scores


def test_ingest_flags_from_the_configured_min_score(sqlite_db: Database):
    with sqlite_db.write() as s:
        sync_catalogue(session=s, pledges=load_catalogue(shipped_catalogue()))
    ingest_files(db=sqlite_db, paths=[str(p) for p in SAMPLE_FEEDS], min_score=1.0)
    assert not any(active for _, _, active, *_ in _flags(sqlite_db).values())
