"""Web pages through the served app: content, escaping, sign-in, CSRF and the review form."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select

from feeds.models import Article, ArticleSource
from monitor.auth.tokens import revoke_token
from monitor.store.db import as_utc
from monitor.store.models import Flag, WebSession
from tests.monitor.api.conftest import Live
from tests.monitor.querydata import AMAZON, flag_ids

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "no form token on the page"
    return found.group(1)


def _sign_in(client: httpx.Client, token: str, next: str = "/inbox") -> httpx.Response:
    """Post the sign-in form as a browser does: with the form token its page carried."""
    form = client.get("/signin")
    return client.post("/signin", data={"token": token, "next": next, "csrf": _csrf(form.text)})


@contextmanager
def _signed_in(live: Live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        r = _sign_in(client, live.tokens["writer"])
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
    assert _sign_in(c, "pw_wrong").status_code == 401
    assert _sign_in(c, api.tokens["revoked"]).status_code == 403
    good = _sign_in(c, api.tokens["writer"], next="//evil.example")
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


def _cookie(r: httpx.Response, name: str = "pw_session") -> str:
    found = re.search(rf"{name}=([^;]*)", r.headers.get("set-cookie", ""))
    assert found, r.headers
    return found.group(1)


def test_the_cookie_holds_a_session_id_stored_hashed_never_the_token(api: Live):
    token = api.tokens["writer"]
    with httpx.Client(base_url=api.url, timeout=30) as client:
        session_id = _cookie(_sign_in(client, token))
    assert token not in session_id and len(session_id) >= 40
    with api.db.session() as s:
        rows = s.exec(select(WebSession)).all()
    assert [r.session_hash for r in rows] == [hashlib.sha256(session_id.encode()).hexdigest()]
    assert all(session_id not in str(r.model_dump()) for r in rows)
    (row,) = rows
    lifetime = as_utc(row.expires_at) - as_utc(row.created_at)
    assert lifetime == timedelta(days=14)


def test_signing_out_ends_the_session_on_the_server(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    with _signed_in(api) as client:
        session_id = client.cookies["pw_session"]
        html = client.get("/").text
        assert client.post("/signout", data={"csrf": _csrf(html)}).status_code == 303
    # A copy of the cookie taken before sign-out no longer signs anyone in.
    with httpx.Client(base_url=api.url, timeout=30, cookies={"pw_session": session_id}) as copy:
        assert "Signed in as" not in copy.get("/inbox").text
        replay = copy.post(f"/flags/{fid}/review", data={"decision": "confirmed"})
        assert replay.status_code == 401


def test_an_expired_session_or_a_revoked_token_signs_out(api: Live):
    with _signed_in(api) as client:
        assert "Signed in as" in client.get("/inbox").text
        with api.db.write() as s:
            for row in s.exec(select(WebSession)).all():
                row.expires_at = datetime.now(UTC) - timedelta(seconds=1)
                s.add(row)
        assert "Signed in as" not in client.get("/inbox").text
    with _signed_in(api) as client:
        with api.db.write() as s:
            revoke_token(session=s, name="writer")
        assert "Signed in as" not in client.get("/inbox").text


def test_sign_in_needs_the_form_token_of_its_own_page(api: Live):
    """Login CSRF: a form posted from elsewhere cannot sign the browser in."""
    token = api.tokens["writer"]
    with httpx.Client(base_url=api.url, timeout=30) as client:
        # No sign-in page seen: no cookie, whatever form token is made up.
        bare = client.post("/signin", data={"token": token, "csrf": "a" * 48})
        assert bare.status_code == 403 and "pw_session" not in bare.headers.get("set-cookie", "")
        page = client.get("/signin")
        assert "pw_signin" in page.headers["set-cookie"]
        wrong = client.post("/signin", data={"token": token, "csrf": "b" * 48})
        assert wrong.status_code == 403 and "Signed in as" not in client.get("/inbox").text
        missing = client.post("/signin", data={"token": token})
        assert missing.status_code == 403
        right = client.post("/signin", data={"token": token, "csrf": _csrf(page.text)})
        assert right.status_code == 303
        assert "Signed in as" in client.get("/inbox").text


def test_a_feed_password_in_an_article_source_is_masked_on_pages_and_the_api(api: Live):
    fid = flag_ids(api.db, AMAZON)[0]
    with api.db.write() as s:
        flag = s.get(Flag, fid)
        assert flag is not None
        for source in s.exec(
            select(ArticleSource).where(ArticleSource.article_id == flag.article_id)
        ).all():
            source.source = "https://alice:s3cret@news.example.org/rss?apikey=s3cret"
            source.outlet = ""
            s.add(source)
    page = api.client.get(f"/flags/{fid}").text
    answer = api.client.get(f"/api/flags/{fid}").text
    assert "s3cret" not in page and "s3cret" not in answer
    assert "alice:********@news.example.org/rss?apikey=********" in page


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


def test_the_digest_unsubscribe_link_lands_on_a_page_that_says_how(api_readonly: Live):
    """The List-Unsubscribe URL a digest carries (with base_url set) is a real page."""
    page = api_readonly.client.get("/unsubscribe")
    assert page.status_code == 200
    assert "Stop or change the digest" in page.text
    assert "[[digest.subscriptions]]" in page.text and "unsubscribe" in page.text
