"""The review inbox through the served app: filters in the URL, stories, Undo, Reopen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlmodel import select

from monitor.store.models import Flag
from tests.monitor.api.conftest import Live
from tests.monitor.querydata import AMAZON, flag_ids


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def _rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="flag-row" id="flag-(\d+)"', html)]


@contextmanager
def _signed_in(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        form = client.get("/signin")  # its form token goes back with the sign-in
        r = client.post(
            "/signin",
            data={"token": live.tokens["writer"], "next": "/inbox", "csrf": _csrf(form.text)},
        )
        assert r.status_code == 303
        yield client


def test_filters_live_in_the_url_and_narrow_the_list(api_readonly: Live):
    c = api_readonly.client
    everything = _rows(c.get("/inbox").text)
    amazon = c.get("/inbox", params={"company": "Amazon"})
    assert amazon.status_code == 200
    assert set(_rows(amazon.text)) == set(flag_ids(api_readonly.db, AMAZON))
    assert len(everything) > len(_rows(amazon.text)) > 0
    # The select keeps the choice and the pledge filter is a select of every pledge.
    assert '<option value="Amazon" selected>' in amazon.text
    assert '<select id="f-pledge" name="pledge">' in amazon.text
    assert f'<option value="{AMAZON}"' in amazon.text
    with api_readonly.db.session() as s:
        top = max(s.exec(select(Flag.score)).all())
    high = _rows(c.get("/inbox", params={"min_score": str(top)}).text)
    assert high and set(high) < set(everything)
    assert _rows(c.get("/inbox", params={"raised_since": "2999-01-01"}).text) == []
    breaches = c.get("/inbox", params={"kind": "breach", "sort": "score"}).text
    assert set(_rows(breaches)) == set(flag_ids(api_readonly.db, AMAZON, kind="breach"))


def test_sorting_by_score_puts_the_highest_first(api_readonly: Live):
    c = api_readonly.client
    html = c.get("/inbox", params={"sort": "score"}).text
    # Stories stay together, placed where their best flag falls.
    stories = html.split('<li class="story"')[1:]
    best = [float(re.findall(r'<span class="score">([0-9.]+)</span>', s)[0]) for s in stories]
    assert best == sorted(best, reverse=True) and len(best) > 5
    assert "raised <time" in html  # when each flag was raised is shown


def test_unknown_or_bad_filters_say_so_instead_of_showing_nothing(api_readonly: Live):
    c = api_readonly.client
    typo = c.get("/inbox", params={"company": "Amazn"})
    assert typo.status_code == 422
    assert "There is no company “Amazn”. Did you mean Amazon" in typo.text
    bad = c.get("/inbox", params={"raised_since": "2024-13-40", "min_score": "high"})
    assert bad.status_code == 422
    assert "is not a date; write it as YYYY-MM-DD" in bad.text and "is not a number" in bad.text


def test_a_story_is_decided_at_once_then_undone(api: Live):
    both = flag_ids(api.db, AMAZON)
    with _signed_in(api) as client:
        page = client.get("/inbox", params={"company": "Amazon"}).text
        assert "Confirm story" in page
        r = client.post(
            "/inbox/review",
            data={
                "csrf": _csrf(page),
                "next": "/inbox?company=Amazon",
                "decision": "confirmed",
                "flag": [f"{fid}:0" for fid in both],
            },
        )
        assert r.status_code == 303
        target = r.headers["location"]
        params = parse_qs(urlsplit(target).query)
        assert params["company"] == ["Amazon"] and params["done"] == ["confirmed"]
        after = client.get(target).text
        assert "Confirmed flags" in after and ">Undo</button>" in after
        assert "Next open flag: #" in after
        assert _rows(after) == []  # no open Amazon flag is left
        statuses = {client.get(f"/api/flags/{fid}").json()["status"] for fid in both}
        assert statuses == {"confirmed"}
        undo = client.post(
            "/inbox/review",
            data={
                "csrf": _csrf(after),
                "next": "/inbox?company=Amazon",
                "decision": "undo",
                "was": "open,open",
                "flag": [str(fid) for fid in both],
            },
        )
        assert undo.status_code == 303
        assert "Undone" in client.get(undo.headers["location"]).text
    for fid in both:
        flag = api.client.get(f"/api/flags/{fid}").json()
        assert flag["status"] == "open"
        assert [r["decision"] for r in flag["reviews"]] == ["confirmed", "open"]


def test_a_stale_story_decision_records_nothing(api: Live):
    both = flag_ids(api.db, AMAZON)
    with _signed_in(api) as client:
        page = client.get("/inbox").text
        stale = client.post(
            "/inbox/review",
            data={
                "csrf": _csrf(page),
                "decision": "dismissed",
                "flag": [f"{both[0]}:0", f"{both[1]}:7"],
            },
        )
        assert stale.status_code == 409
    assert api.client.get(f"/api/flags/{both[0]}").json()["reviews"] == []


def test_the_flag_page_offers_undo_reopen_and_the_next_open_flag(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    with _signed_in(api) as client:
        page = client.get(f"/flags/{fid}").text
        r = client.post(
            f"/flags/{fid}/review",
            data={"decision": "dismissed", "csrf": _csrf(page), "expected_version": "0"},
        )
        assert r.status_code == 303
        after = client.get(r.headers["location"]).text
        assert "Dismissed flag" in after and ">Undo</button>" in after
        upcoming = re.search(r"Next open flag: #(\d+)", after)
        assert upcoming and int(upcoming.group(1)) != fid
        assert f"Reopen flag #{fid}" in after
        reopened = client.post(
            f"/flags/{fid}/review",
            data={"decision": "open", "csrf": _csrf(after), "expected_version": "1"},
        )
        assert reopened.status_code == 303
    assert api.client.get(f"/api/flags/{fid}").json()["status"] == "open"
