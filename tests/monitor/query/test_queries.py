"""Read queries over a real catalogue and the sample feeds, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from monitor.flags.review import review_flag
from monitor.query.companies import get_company, list_companies
from monitor.query.filters import FlagFilter
from monitor.query.flags import count_flags, get_flag, list_flags
from monitor.query.pledges import get_pledge, list_pledges
from monitor.query.timeline import IncidentFilter, count_incidents, get_incident, list_incidents
from monitor.store.db import Database
from pledges.catalogue import load_catalogue, shipped_catalogue
from tests.monitor.querydata import AMAZON, flag_ids, load_sample


@pytest.fixture
def sample(db: Database) -> Database:
    load_sample(db)
    return db


def test_pledges_list_holds_the_whole_shipped_catalogue_with_flag_counts(sample: Database):
    with sample.session() as s:
        rows = list_pledges(s)
        flags = list_flags(s, FlagFilter())
    assert {r["id"] for r in rows} == {p.id for p in load_catalogue(shipped_catalogue())}
    by_id = {r["id"]: r for r in rows}
    assert by_id[AMAZON]["open_flags"] == sum(1 for f in flags if f["pledge_id"] == AMAZON)
    assert sum(r["open_flags"] for r in rows) == len(flags)


def test_a_company_alias_filters_like_its_name(sample: Database):
    with sample.session() as s:
        by_name = list_flags(s, FlagFilter(company="Amazon"))
        by_alias = list_flags(s, FlagFilter(company="aws"))
        pledges = list_pledges(s, company="Amazon Web Services")
    assert by_name and [f["id"] for f in by_name] == [f["id"] for f in by_alias]
    assert {f["company"] for f in by_name} == {"Amazon"}
    assert {p["company"] for p in pledges} == {"Amazon"}


def test_flag_filters_combine_and_count_matches_the_list(sample: Database):
    filters = [
        FlagFilter(kind="breach"),
        FlagFilter(kind="rollback", since=date(2024, 1, 1)),
        FlagFilter(until=date(2023, 12, 31)),
        FlagFilter(since=date(2024, 6, 6), until=date(2024, 6, 7)),
        FlagFilter(pledge=AMAZON, status="open"),
    ]
    with sample.session() as s:
        for f in filters:
            rows = list_flags(s, f)
            assert count_flags(s, f) == len(rows)
            for row in rows:
                pub = row["article"]["published"].date()
                assert f.kind is None or row["kind"] == f.kind
                assert f.since is None or pub >= f.since
                assert f.until is None or pub <= f.until
        june = list_flags(s, filters[3])
    assert {f["pledge_id"] for f in june} >= {AMAZON}


def test_pages_of_flags_do_not_overlap_and_cover_every_match(sample: Database):
    with sample.session() as s:
        everything = [f["id"] for f in list_flags(s, FlagFilter())]
        pages = [
            [f["id"] for f in list_flags(s, FlagFilter(limit=4, offset=o))]
            for o in range(0, len(everything), 4)
        ]
    assert len(everything) > 8
    assert [i for p in pages for i in p] == everything


def test_confirmed_breaches_show_in_the_pledge_and_its_timeline(sample: Database):
    first, second = flag_ids(sample, AMAZON)[:2]
    with sample.write() as s:
        review_flag(
            session=s, flag_id=first, decision="confirmed", note="tribunal filing", reviewer="ana"
        )
        review_flag(session=s, flag_id=second, decision="dismissed", reviewer="ana")
    with sample.session() as s:
        p = get_pledge(s, AMAZON)
        assert p is not None
        assert [f["id"] for f in p["confirmed"]] == [first]
        dates = [e["date"] for e in p["timeline"]]
        assert dates == sorted(dates)
        kinds = [e["kind"] for e in p["timeline"]]
        assert kinds[0] == "made" and "event" in kinds
        incidents = [e for e in p["timeline"] if e["kind"] == "incident"]
        assert any(e["status"] == "confirmed" and first in e["flag_ids"] for e in incidents)
        row = {r["id"]: r for r in list_pledges(s)}[AMAZON]
        assert row["confirmed_flags"] == 1 and row["dismissed_flags"] == 1


def test_companies_list_their_names_products_pledges_and_incidents(sample: Database):
    with sample.session() as s:
        rows = {c["name"]: c for c in list_companies(s)}
        amazon = get_company(s, "AWS")
        by_id = get_company(s, str(rows["Amazon"]["id"]))
        missing = get_company(s, "No Such Company")
    assert rows["Amazon"]["pledge_count"] == 2
    assert amazon is not None and by_id is not None and missing is None
    assert amazon["id"] == by_id["id"] == rows["Amazon"]["id"]
    assert "Rekognition" in amazon["products"]
    assert AMAZON in {p["id"] for p in amazon["pledges"]}
    assert amazon["incidents"] and {i["pledge_id"] for i in amazon["incidents"]} <= {
        p["id"] for p in amazon["pledges"]
    }


def test_incidents_group_flags_and_take_the_status_of_their_reviews(sample: Database):
    with sample.session() as s:
        filt = IncidentFilter(pledge=AMAZON)
        incidents = list_incidents(s, filt)
        assert count_incidents(s, filt) == len(incidents) >= 1
        detail = get_incident(s, incidents[0]["id"])
    assert detail is not None and detail["flag_count"] == len(detail["flags"]) >= 1
    fid = detail["flags"][0]["id"]
    with sample.write() as s:
        review_flag(session=s, flag_id=fid, decision="confirmed", reviewer="ana")
    with sample.session() as s:
        confirmed = list_incidents(s, IncidentFilter(status="confirmed"))
        assert incidents[0]["id"] in {i["id"] for i in confirmed}
        assert incidents[0]["id"] not in {
            i["id"] for i in list_incidents(s, IncidentFilter(status="open"))
        }


def test_unknown_ids_are_none(sample: Database):
    with sample.session() as s:
        assert get_flag(s, 999_999) is None
        assert get_pledge(s, "no-such-pledge") is None
        assert get_incident(s, 999_999) is None


def test_the_last_possible_date_is_an_open_upper_bound(sample: Database):
    with sample.session() as s:
        assert count_flags(s, FlagFilter(until=date.max)) == count_flags(s, FlagFilter())


def test_two_outlets_on_one_claim_count_as_one_story_and_kinds_apart(sample: Database):
    both = flag_ids(sample, AMAZON)
    assert len(both) == 2  # the tribunal claim, reported by two outlets
    with sample.session() as s:
        before = {r["id"]: r for r in list_pledges(s)}[AMAZON]
    assert before["open_flags"] == 2 and before["open_stories"] == 1
    with sample.write() as s:
        for fid in both:
            review_flag(session=s, flag_id=fid, decision="confirmed", reviewer="ana")
    with sample.session() as s:
        row = {r["id"]: r for r in list_pledges(s)}[AMAZON]
        pledge = get_pledge(s, AMAZON)
        company = {c["name"]: c for c in list_companies(s)}["Amazon"]
    assert row["confirmed_flags"] == 2
    assert (row["confirmed_breaches"], row["confirmed_rollbacks"], row["open_stories"]) == (1, 0, 0)
    assert pledge is not None and len(pledge["confirmed_stories"]) == 1
    assert pledge["confirmed_stories"][0]["kind"] == "breach"
    assert sorted(f["id"] for f in pledge["confirmed_stories"][0]["flags"]) == both
    assert pledge["story_counts"]["confirmed_breaches"] == 1
    assert company["confirmed_breaches"] == 1 and company["confirmed_rollbacks"] == 0
