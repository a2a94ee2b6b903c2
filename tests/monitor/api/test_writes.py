"""Writes through the served app: bearer tokens, reviews (409 when stale), feeds, polls."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import func, select

from feeds.models import Article
from monitor.api.poll import polling_available
from tests.monitor.api.conftest import Live, live_app
from tests.monitor.querydata import AMAZON, REPO, flag_ids


def _review(live: Live, fid: int, body: dict, headers: dict | None = None):
    return live.client.post(f"/api/flags/{fid}/reviews", json=body, headers=headers or {})


def test_a_review_without_a_token_is_refused_and_with_one_is_recorded(api_any: Live):
    fid = flag_ids(api_any.db, AMAZON)[0]
    missing = _review(api_any, fid, {"decision": "confirmed"})
    assert missing.status_code == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    wrong = _review(api_any, fid, {"decision": "confirmed"}, {"Authorization": "Bearer pw_nope"})
    assert wrong.status_code == 401
    revoked = _review(api_any, fid, {"decision": "confirmed"}, api_any.auth("revoked"))
    assert revoked.status_code == 403 and "revoked" in revoked.json()["detail"]
    assert api_any.client.get(f"/api/flags/{fid}").json()["reviews"] == []
    ok = _review(api_any, fid, {"decision": "confirmed", "note": "tribunal"}, api_any.auth())
    assert ok.status_code == 201
    assert ok.json()["status"] == "confirmed" and ok.json()["review_version"] == 1
    flag = api_any.client.get(f"/api/flags/{fid}").json()
    assert [(r["decision"], r["reviewer"], r["note"]) for r in flag["reviews"]] == [
        ("confirmed", "writer", "tribunal")
    ]
    assert flag["status"] == "confirmed"


def test_a_stale_review_gets_409_and_both_earlier_decisions_stay_in_the_log(api_any: Live):
    fid = flag_ids(api_any.db, AMAZON)[0]
    seen = api_any.client.get(f"/api/flags/{fid}").json()["review_version"]
    first = _review(
        api_any, fid, {"decision": "confirmed", "expected_version": seen}, api_any.auth()
    )
    second = _review(
        api_any, fid, {"decision": "dismissed", "expected_version": seen}, api_any.auth()
    )
    assert first.status_code == 201
    assert second.status_code == 409 and "confirmed" in second.json()["detail"]
    by_status = _review(
        api_any, fid, {"decision": "dismissed", "expected_status": "open"}, api_any.auth()
    )
    assert by_status.status_code == 409
    flag = api_any.client.get(f"/api/flags/{fid}").json()
    assert flag["status"] == "confirmed" and len(flag["reviews"]) == 1


def test_a_reviewer_sets_the_company_response_with_a_source(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    r = _review(
        api,
        fid,
        {"response": {"value": "partly-admitted", "source": "https://example.org/reply"}},
        api.auth(),
    )
    assert r.status_code == 201
    flag = api.client.get(f"/api/flags/{fid}").json()
    assert (flag["response"], flag["response_source"], flag["response_by"]) == (
        "partly-admitted",
        "https://example.org/reply",
        "writer",
    )
    assert flag["status"] == "open"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"decision": "maybe"},
        {"decision": "confirmed", "extra": 1},
        {"response": {"value": "denied", "source": "file:///etc/passwd"}},
        {"response": "denied"},
        {"decision": "confirmed", "expected_version": -1},
        {"note": "only a note"},
    ],
)
def test_bad_review_bodies_are_422(api: Live, body: dict):
    fid = flag_ids(api.db, AMAZON)[0]
    r = _review(api, fid, body, api.auth())
    assert r.status_code == 422 and isinstance(r.json()["detail"], str)


def test_reviewing_an_unknown_flag_is_404(api: Live):
    assert _review(api, 999_999, {"decision": "confirmed"}, api.auth()).status_code == 404


def test_an_oversized_body_is_413_declared_or_streamed(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    big = b'{"note": "' + b"x" * (api.settings.api.max_body_bytes + 10) + b'"}'
    headers = {**api.auth(), "content-type": "application/json"}
    declared = api.client.post(f"/api/flags/{fid}/reviews", content=big, headers=headers)
    assert declared.status_code == 413 and "limit" in declared.json()["detail"]

    def chunks() -> Iterator[bytes]:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    streamed = api.client.post(f"/api/flags/{fid}/reviews", content=chunks(), headers=headers)
    assert streamed.status_code == 413


def test_feeds_obey_the_address_rule_and_can_be_added_and_removed(api: Live):
    c = api.client
    assert c.post("/api/feeds", json={"url": "http://127.0.0.1:9/feed.xml"}).status_code == 401
    for url in (
        "http://127.0.0.1:9/feed.xml",
        "http://169.254.169.254/latest",
        "file:///etc/passwd",
        "http://[::ffff:10.0.0.1]/x",
        "ftp://example.org/x",
    ):
        r = c.post("/api/feeds", json={"url": url}, headers=api.auth())
        assert r.status_code == 422 and "refused" in r.json()["detail"], url
    assert c.get("/api/feeds").json()["total"] == 0


def test_with_private_addresses_allowed_a_feed_is_added_listed_and_removed(sample_db):
    with live_app(sample_db, feeds__allow_private_addresses=True) as live:
        c = live.client
        added = c.post(
            "/api/feeds", json={"url": "http://127.0.0.1:9/a.xml", "name": "A"}, headers=live.auth()
        )
        assert added.status_code == 201 and added.json()["state"] == "new"
        fid = added.json()["id"]
        again = c.post("/api/feeds", json={"url": "http://127.0.0.1:9/a.xml"}, headers=live.auth())
        assert again.status_code == 409
        assert [f["id"] for f in c.get("/api/feeds").json()["items"]] == [fid]
        assert c.delete(f"/api/feeds/{fid}").status_code == 401
        assert c.delete(f"/api/feeds/{fid}", headers=live.auth()).status_code == 204
        assert c.get(f"/api/feeds/{fid}").status_code == 404
        assert c.delete(f"/api/feeds/{fid}", headers=live.auth()).status_code == 404


@pytest.mark.skipif(not polling_available(), reason="this installation has no feed poller")
def test_a_triggered_poll_fetches_a_feed_served_on_loopback(sample_db):
    handler = partial(SimpleHTTPRequestHandler, directory=str(REPO / "examples" / "feeds"))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with live_app(sample_db, feeds__allow_private_addresses=True) as live:
            url = f"http://127.0.0.1:{httpd.server_port}/tech-policy-weekly.xml"
            assert live.client.post("/api/poll").status_code == 401
            assert (
                live.client.post("/api/feeds", json={"url": url}, headers=live.auth()).status_code
                == 201
            )
            r = live.client.post("/api/poll", headers=live.auth())
            assert r.status_code == 202
            deadline = time.monotonic() + 30
            state = None
            while time.monotonic() < deadline:
                state = live.client.get("/api/feeds").json()["items"][0]
                if state["last_success_at"]:
                    break
                time.sleep(0.1)
            assert state is not None and state["state"] == "ok", state
            with live.db.session() as s:
                assert s.exec(select(func.count()).select_from(Article)).one() >= 30
    finally:
        httpd.shutdown()
        thread.join(5)


def test_feed_credentials_never_leave_through_the_api(sample_db):
    """Password and API key of a feed URL are masked in every answer, token or not."""
    secret_url = "http://alice:s3cret@127.0.0.1:9/a.xml?apikey=s3cret&lang=en"
    with live_app(sample_db, feeds__allow_private_addresses=True) as live:
        c = live.client
        added = c.post("/api/feeds", json={"url": secret_url}, headers=live.auth())
        assert added.status_code == 201
        fid = added.json()["id"]
        answers = [
            added,
            c.post("/api/feeds", json={"url": secret_url}, headers=live.auth()),  # 409
            c.get("/api/feeds"),
            c.get(f"/api/feeds/{fid}"),
            c.get("/api/feeds", headers=live.auth()),
            c.post(  # refused by the scheme rule: 422, and the message names the URL
                "/api/feeds",
                json={"url": "ftp://alice:s3cret@example.org/a.xml?token=s3cret"},
                headers=live.auth(),
            ),
        ]
        assert answers[1].status_code == 409
        assert [a.status_code for a in answers[2:]] == [200, 200, 200, 422]
        assert not [a.text for a in answers if "s3cret" in a.text]
        assert answers[3].json()["url"] == (
            "http://alice:********@127.0.0.1:9/a.xml?apikey=********&lang=en"
        )


@pytest.mark.parametrize("url", ["http://[::1/", "http://[zz]/feed", "http://example.org:99999/"])
def test_a_malformed_feed_url_is_a_422_not_a_500(api: Live, url: str):
    r = api.client.post("/api/feeds", json={"url": url}, headers=api.auth())
    assert r.status_code == 422, r.text
    assert "refused" in r.json()["detail"]
