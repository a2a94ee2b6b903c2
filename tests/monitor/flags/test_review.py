"""Reviews: an append-only log, status from the latest decision, stale writes refused."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import col, select

from monitor.flags.review import ReviewError, StaleReviewError, UnknownFlagError, review_flag
from monitor.query.flags import get_flag
from monitor.store.db import Database
from monitor.store.models import Flag, Review
from tests.monitor.querydata import AMAZON, flag_ids, load_sample


@pytest.fixture
def sample(db: Database) -> Database:
    load_sample(db)
    return db


def test_every_decision_is_kept_and_the_latest_is_the_status(sample: Database):
    fid = flag_ids(sample, AMAZON)[0]
    for decision, who in [("confirmed", "ana"), ("dismissed", "ben"), ("confirmed", "cy")]:
        with sample.write() as s:
            review_flag(session=s, flag_id=fid, decision=decision, reviewer=who, note=who)
    with sample.session() as s:
        f = get_flag(s, fid)
    assert f is not None
    assert [(r["decision"], r["reviewer"]) for r in f["reviews"]] == [
        ("confirmed", "ana"),
        ("dismissed", "ben"),
        ("confirmed", "cy"),
    ]
    assert f["status"] == "confirmed" and f["review_version"] == 3


def test_a_reviewer_records_the_company_response_with_its_source(sample: Database):
    fid = flag_ids(sample, AMAZON)[0]
    with sample.session() as s:
        before = get_flag(s, fid)
    assert before is not None
    with sample.write() as s:
        review_flag(
            session=s,
            flag_id=fid,
            response="partly-admitted",
            reviewer="ana",
            response_source="https://example.org/amazon-statement",
        )
    with sample.session() as s:
        after = get_flag(s, fid)
    assert after is not None
    assert after["status"] == before["status"]  # a response alone leaves the status
    assert after["response"] == "partly-admitted"
    assert after["response_source"] == "https://example.org/amazon-statement"
    assert after["response_by"] == "ana"
    assert after["reviews"][-1]["decision"] == "response"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decision": "maybe"}, "decision must be one of"),
        ({}, "give a decision"),
        ({"response": "denied", "response_source": "javascript:alert(1)"}, "http"),
        ({"response": "shrugged"}, "response must be one of"),
        ({"decision": "confirmed", "note": "x" * 5001}, "over 5000"),
        # Notes are printed by `flags show`: no terminal escapes, no reordering marks.
        ({"decision": "confirmed", "note": "ok\x1b]52;c;cm0gLXJmIH4=\x07"}, "control"),
        ({"decision": "confirmed", "note": "fine \x1b[2J"}, "control"),
        ({"decision": "confirmed", "note": "seen \u202egnirts"}, "control"),
        ({"decision": "confirmed", "note": "seen \u2067x\u2069"}, "control"),
        ({"decision": "confirmed", "note": "a", "reviewer": "ana\x1b[2J"}, "control"),
    ],
)
def test_bad_reviews_are_refused_with_a_reason(sample: Database, kwargs, message):
    fid = flag_ids(sample, AMAZON)[0]
    with pytest.raises(ReviewError, match=message), sample.write() as s:
        review_flag(session=s, flag_id=fid, **{"reviewer": "ana", **kwargs})


def test_a_note_keeps_its_line_breaks_and_tabs(sample: Database):
    fid = flag_ids(sample, AMAZON)[0]
    with sample.write() as s:
        review = review_flag(
            session=s, flag_id=fid, decision="confirmed", reviewer="ana", note="a\r\nb\tc"
        )
        assert review.note == "a\r\nb\tc"


def test_an_unknown_flag_is_refused(sample: Database):
    with pytest.raises(UnknownFlagError), sample.write() as s:
        review_flag(session=s, flag_id=987_654, decision="confirmed")


def test_a_stale_version_is_refused_and_nothing_is_written(sample: Database):
    fid = flag_ids(sample, AMAZON)[0]
    with sample.write() as s:
        review_flag(session=s, flag_id=fid, decision="confirmed", expected_version=0)
    with pytest.raises(StaleReviewError) as caught, sample.write() as s:
        review_flag(session=s, flag_id=fid, decision="dismissed", expected_version=0)
    assert caught.value.current_status == "confirmed" and caught.value.current_version == 1
    with pytest.raises(StaleReviewError), sample.write() as s:
        review_flag(session=s, flag_id=fid, decision="dismissed", expected_status="open")
    with sample.session() as s:
        assert len(s.exec(select(Review).where(Review.flag_id == fid)).all()) == 1


def _race(db: Database, fid: int, expected: int | None) -> list[BaseException | None]:
    barrier = threading.Barrier(2)
    results: list[BaseException | None] = [None, None]

    def reviewer(i: int) -> None:
        barrier.wait()
        try:
            with db.write() as s:
                review_flag(
                    session=s,
                    flag_id=fid,
                    decision=("confirmed", "dismissed")[i],
                    reviewer=f"r{i}",
                    expected_version=expected,
                )
        except BaseException as exc:  # collected for the assertion
            results[i] = exc

    threads = [threading.Thread(target=reviewer, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_two_reviewers_at_once_are_both_kept_in_the_log(sample: Database):
    fid = flag_ids(sample, AMAZON)[0]
    assert _race(sample, fid, None) == [None, None]
    with sample.session() as s:
        reviews = s.exec(select(Review).where(Review.flag_id == fid).order_by(col(Review.id))).all()
        flag = s.get(Flag, fid)
    assert sorted(r.reviewer for r in reviews) == ["r0", "r1"]
    assert flag is not None and flag.status == reviews[-1].decision
    assert flag.review_version == 2


def test_two_reviewers_who_saw_the_same_version_one_wins_one_gets_stale(sample: Database):
    fid = flag_ids(sample, AMAZON)[0]
    results = _race(sample, fid, 0)
    assert sorted(type(r).__name__ for r in results) == ["NoneType", "StaleReviewError"]
    with sample.session() as s:
        assert len(s.exec(select(Review).where(Review.flag_id == fid)).all()) == 1
