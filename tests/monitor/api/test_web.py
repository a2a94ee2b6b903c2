"""Web pages through the served app: content, escaping, sign-in, CSRF and the review form."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from sqlmodel import select

from feeds.models import Article
from monitor.store.models import Flag
from tests.monitor.api.conftest import Live
from tests.monitor.querydata import AMAZON, flag_ids

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


@contextmanager
def _signed_in(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        r = client.post("/signin", data={"token": live.tokens["writer"], "next": "/inbox"})
        assert r.status_code == 303 and r.headers["location"] == "/inbox"
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        yield client


def test_pages_render_the_catalogue_a_pledge_and_its_flags(api_readonly: Live):
    c = api_readonly.client
    home = c.get("/")
    assert home.status_code == 200 and 'lang="en"' in home.text
    assert f'href="/pledges/{AMAZON}"' in home.text and 'label for="q"' in home.text
    assert "default-src 'none'" in home.headers["content-security-policy"]
    page = c.get(f"/pledges/{AMAZON}")
    assert page.status_code == 200
    assert "Timeline" in page.text and "<mark" in page.text and "Rekognition" in page.text
    fid = flag_ids(api_readonly.db, AMAZON)[0]
    flag = c.get(f"/flags/{fid}")
    assert flag.status_code == 200 and "Sign in with your token" in flag.text
    assert c.get("/search", params={"q": "tribunal"}).text.count("<mark>") >= 1
    assert c.get("/inbox").status_code == 200
    assert c.get("/pledges/nope").status_code == 404
    assert c.get("/flags/abc").status_code == 404
    assert c.get("/static/style.css").status_code == 200


def test_hostile_article_text_is_escaped_everywhere(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    with api.db.write() as s:
        flag = s.get(Flag, fid)
        assert flag is not None
        art = s.exec(select(Article).where(Article.id == flag.article_id)).one()
        art.title = HOSTILE + " tribunal"
        art.url = "javascript:alert(3)"
        s.add(art)
    for path in (f"/pledges/{AMAZON}", f"/flags/{fid}", "/inbox", "/search?q=tribunal"):
        html = api.client.get(path).text
        assert "<script>alert(1)" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path
        assert "javascript:" not in html, path


def test_sign_in_refuses_wrong_and_revoked_tokens(api: Live):
    c = api.client
    assert c.post("/signin", data={"token": "pw_wrong"}).status_code == 401
    assert c.post("/signin", data={"token": api.tokens["revoked"]}).status_code == 403
    good = c.post("/signin", data={"token": api.tokens["writer"], "next": "//evil.example"})
    assert good.status_code == 303 and good.headers["location"] == "/inbox"


def test_a_review_form_needs_the_session_and_its_form_token(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    anonymous = api.client.post(f"/flags/{fid}/review", data={"decision": "confirmed"})
    assert anonymous.status_code == 401
    with _signed_in(api) as client:
        forged = client.post(
            f"/flags/{fid}/review", data={"decision": "confirmed", "csrf": "0" * 64}
        )
        assert forged.status_code == 403
        html = client.get("/inbox").text
        assert f'id="flag-{fid}"' in html and "Signed in as" in html
        posted = client.post(
            f"/flags/{fid}/review",
            data={
                "decision": "confirmed",
                "note": "seen the filing",
                "csrf": _csrf(html),
                "expected_version": "0",
                "next": "/inbox",
            },
        )
        assert posted.status_code == 303
        assert posted.headers["location"] == f"/inbox?done=confirmed&flags={fid}&was=open"
        stale = client.post(
            f"/flags/{fid}/review",
            data={"decision": "dismissed", "csrf": _csrf(html), "expected_version": "0"},
        )
        assert stale.status_code == 409 and "reviewed while you were reading" in stale.text
        page = client.get(f"/pledges/{AMAZON}").text
    api_flag = api.client.get(f"/api/flags/{fid}").json()
    assert api_flag["status"] == "confirmed"
    assert api_flag["reviews"][0]["reviewer"] == "writer"
    assert api_flag["reviews"][0]["note"] == "seen the filing"
    assert "1 story confirmed: 1 breach, 0 rollbacks" in page


def test_signing_out_needs_the_form_token(api: Live):
    with _signed_in(api) as client:
        html = client.get("/").text
        assert client.post("/signout", data={"csrf": "nope"}).status_code == 403
        out = client.post("/signout", data={"csrf": _csrf(html)})
        assert out.status_code == 303 and "pw_session" in out.headers["set-cookie"]


def test_search_says_what_is_wrong_with_a_date_or_a_filter(api_readonly: Live):
    c = api_readonly.client
    bad = c.get("/search", params={"q": "police", "since": "2024-02-30"})
    assert bad.status_code == 422
    assert "“2024-02-30” is not a date; write it as YYYY-MM-DD" in bad.text
    typo = c.get("/search", params={"q": "police", "pledge": "amazon-rekognition"})
    assert typo.status_code == 422 and f"Did you mean {AMAZON}" in typo.text
    good = c.get("/search", params={"q": "rekognition police", "pledge": AMAZON})
    assert good.status_code == 200 and f'<option value="{AMAZON}" selected>' in good.text
    assert "How to search" in good.text and 'href="/articles/' in good.text
