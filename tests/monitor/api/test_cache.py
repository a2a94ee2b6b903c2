"""The read cache answers repeated reads, and any write anywhere retires its answers."""

from __future__ import annotations

from monitor.flags.review import review_flag
from monitor.store.db import Database, open_database
from tests.monitor.api.conftest import Live, live_app
from tests.monitor.querydata import AMAZON, flag_ids

CACHE = "x-pledgewatch-cache"


def test_a_repeated_read_is_a_hit_with_the_same_answer(api: Live):
    first = api.client.get("/api/flags", params={"company": "Amazon"})
    second = api.client.get("/api/flags", params={"company": "Amazon"})
    assert (first.headers[CACHE], second.headers[CACHE]) == ("miss", "hit")
    assert first.content == second.content
    assert api.client.get("/api/flags", params={"company": "AWS"}).headers[CACHE] == "miss"


def test_a_write_by_another_connection_is_seen_at_once(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    url = f"/api/flags/{fid}"
    assert api.client.get(url).json()["status"] == "open"
    assert api.client.get(url).headers[CACHE] == "hit"
    # Another process (the CLI, the daemon) writes through its own connection.
    other = open_database(api.db.url)
    try:
        with other.write() as s:
            review_flag(session=s, flag_id=fid, decision="dismissed", reviewer="cli")
    finally:
        other.dispose()
    after = api.client.get(url)
    assert after.headers[CACHE] == "miss" and after.json()["status"] == "dismissed"


def test_a_review_through_the_api_is_seen_by_the_next_read(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    listed = api.client.get("/api/flags", params={"status": "confirmed"}).json()
    assert fid not in {f["id"] for f in listed["items"]}
    r = api.client.post(
        f"/api/flags/{fid}/reviews", json={"decision": "confirmed"}, headers=api.auth()
    )
    assert r.status_code == 201
    listed = api.client.get("/api/flags", params={"status": "confirmed"}).json()
    assert fid in {f["id"] for f in listed["items"]}


def test_errors_are_not_kept(api: Live):
    for _ in range(2):
        assert api.client.get("/api/flags/999999").headers[CACHE] == "miss"


def test_private_reads_are_not_cached(sample_db: Database):
    with live_app(sample_db, api__public_reads=False) as private:
        for _ in range(2):
            r = private.client.get("/api/pledges", headers=private.auth())
            assert r.status_code == 200 and CACHE not in r.headers


def test_only_sqlite_has_the_read_cache(api_any: Live):
    headers = api_any.client.get("/api/pledges").headers
    assert (CACHE in headers) == (api_any.db.dialect == "sqlite")
