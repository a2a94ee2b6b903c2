"""Read endpoints through the served app: lists, filters, pagination, 404 and 422."""

from __future__ import annotations

import pytest

from pledges.catalogue import load_catalogue, shipped_catalogue
from tests.monitor.api.conftest import Live, live_app
from tests.monitor.querydata import AMAZON


def test_pledges_lists_the_shipped_catalogue(api_any: Live):
    r = api_any.client.get("/api/pledges", params={"limit": 500})
    assert r.status_code == 200
    body = r.json()
    ids = {p.id for p in load_catalogue(shipped_catalogue())}
    assert body["total"] == len(ids) and {p["id"] for p in body["items"]} == ids


def test_flags_filters_match_the_query_and_report_a_total(api_any: Live):
    c = api_any.client
    everything = c.get("/api/flags", params={"limit": 500}).json()
    amazon = c.get("/api/flags", params={"company": "AWS", "limit": 500}).json()
    breaches = c.get("/api/flags", params={"kind": "breach", "limit": 500}).json()
    window = c.get("/api/flags", params={"since": "2024-01-01", "until": "2024-12-31"}).json()
    assert everything["total"] == len(everything["items"]) > amazon["total"] > 0
    assert {f["company"] for f in amazon["items"]} == {"Amazon"}
    assert {f["kind"] for f in breaches["items"]} == {"breach"}
    assert all(f["article"]["published"].startswith("2024") for f in window["items"])


def test_pages_carry_limit_offset_and_the_same_total(api_readonly: Live):
    api = api_readonly
    c = api.client
    first = c.get("/api/flags", params={"limit": 3}).json()
    second = c.get("/api/flags", params={"limit": 3, "offset": 3}).json()
    assert first["total"] == second["total"] > 6
    assert (first["limit"], first["offset"], second["offset"]) == (3, 0, 3)
    assert not {f["id"] for f in first["items"]} & {f["id"] for f in second["items"]}


def test_details_of_pledges_companies_flags_and_incidents(api_readonly: Live):
    api = api_readonly
    c = api.client
    pledge = c.get(f"/api/pledges/{AMAZON}").json()
    assert pledge["company"]["name"] == "Amazon" and pledge["timeline"][0]["kind"] == "made"
    flag_id = pledge["flags"][0]["id"]
    flag = c.get(f"/api/flags/{flag_id}").json()
    assert flag["pledge_id"] == AMAZON and flag["evidence"] and flag["reviews"] == []
    assert c.get("/api/companies/aws").json()["name"] == "Amazon"
    incidents = c.get("/api/incidents", params={"pledge": AMAZON}).json()
    assert incidents["total"] >= 1
    one = c.get(f"/api/incidents/{incidents['items'][0]['id']}").json()
    assert one["pledge_id"] == AMAZON and one["flags"]
    hits = c.get("/api/search", params={"q": "tribunal police", "company": "Amazon"}).json()
    assert hits["total"] >= 1 and hits["items"][0]["snippet"]
    assert c.get("/api/feeds").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}
    assert c.get("/api/digests").json()["items"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/pledges/no-such-pledge",
        "/api/flags/999999",
        "/api/incidents/999999",
        "/api/companies/Nobody",
        "/api/companies/99999",
        "/api/companies/" + "9" * 20,  # too long for an integer id
        "/api/companies/\u00b3",  # a digit to str.isdigit, not to int()
        "/api/feeds/42",
        "/api/nowhere",
    ],
)
def test_unknown_ids_are_404_with_a_message(api_readonly: Live, path: str):
    api = api_readonly
    r = api.client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json()["detail"], str) and r.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/flags", {"limit": 0}),
        ("/api/flags", {"limit": 501}),
        ("/api/flags", {"offset": -1}),
        ("/api/flags", {"since": "yesterday"}),
        ("/api/flags", {"since": "1700000000"}),
        ("/api/flags", {"until": "-3.4e-122"}),
        ("/api/search", {"q": "amazon", "until": "-3.4e-122"}),
        ("/api/search", {"q": "amazon", "since": "2024-13-01"}),
        ("/api/flags", {"kind": "scandal"}),
        ("/api/flags", {"status": "maybe"}),
        ("/api/pledges", {"status": "asleep"}),
        ("/api/search", {}),
        ("/api/search", {"q": ""}),
        ("/api/flags/0", {}),
        ("/api/flags/abc", {}),
        ("/api/flags/99999999999999999999", {}),
    ],
)
def test_bad_parameters_are_422_with_a_message(api_readonly: Live, path: str, params: dict):
    api = api_readonly
    r = api.client.get(path, params=params)
    assert r.status_code == 422
    body = r.json()
    assert isinstance(body["detail"], str) and body["detail"] and body["errors"]


def test_hostile_text_in_parameters_is_answered(api_any: Live):
    c = api_any.client
    for params in ({"q": "\x00police"}, {"q": '"'}, {"q": "x", "company": "\x00"}):
        assert c.get("/api/search", params=params).status_code == 200
    assert c.get("/api/pledges/%00").status_code == 404
    assert c.get("/api/flags", params={"pledge": AMAZON, "until": "9999-12-31"}).status_code == 200
    # An unknown pledge is a bad parameter, however hostile its text.
    assert c.get("/api/flags", params={"pledge": "\x00x"}).status_code == 422


def test_private_reads_need_a_token(sample_db):
    with live_app(sample_db, api__public_reads=False) as live:
        assert live.client.get("/api/pledges").status_code == 401
        assert live.client.get("/api/pledges", headers=live.auth("revoked")).status_code == 403
        assert live.client.get("/api/pledges", headers=live.auth()).status_code == 200
        assert live.client.get("/").status_code == 303


def test_unknown_pledge_or_company_filters_are_422_with_the_nearest(api_readonly: Live):
    c = api_readonly.client
    r = c.get("/api/flags", params={"company": "amazn"})
    assert r.status_code == 422 and "nearest: Amazon" in r.json()["detail"]
    r = c.get("/api/flags", params={"pledge": "amazon-rekognition"})
    assert r.status_code == 422 and AMAZON in r.json()["detail"]
    assert r.json()["errors"][0]["loc"] == ["query", "pledge"]
    assert c.get("/api/search", params={"q": "police", "company": "Amazn"}).status_code == 422
    assert c.get("/api/pledges", params={"company": "Gogle"}).status_code == 422
