"""Every answer of `pledgewatch serve` carries the browser protections, errors included."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.monitor.api.conftest import Live

HTML = {"Accept": "text/html"}


def assert_protected(response: httpx.Response) -> None:
    where = f"{response.request.method} {response.request.url.path} ({response.status_code})"
    headers = response.headers
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("x-frame-options") == "DENY", where
    assert headers.get("referrer-policy") == "same-origin", where
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "base-uri 'none'" in csp, where
    assert "'unsafe-eval'" not in csp, where


@pytest.mark.parametrize(
    ("method", "path", "accept"),
    [
        ("GET", "/", HTML),
        ("GET", "/no/such/page", HTML),
        ("GET", "/no/such/page", {}),
        ("GET", "/api/flags", {}),
        ("GET", "/api/flags/999999", {}),
        ("GET", "/api/flags?limit=banana", {}),
        ("PATCH", "/api/flags", {}),
        ("DELETE", "/", HTML),
        ("GET", "/static/style.css", {}),
        ("GET", "/static/inbox.js", {}),
        ("GET", "/static/%2e%2e/config.py", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/docs", HTML),
        ("GET", "/docs/files/swagger-ui-bundle.js", {}),
        ("GET", "/signin?next=//evil.example", HTML),
    ],
)
def test_every_answer_carries_the_security_headers(
    api_readonly: Live, method: str, path: str, accept: dict[str, str]
) -> None:
    assert_protected(api_readonly.client.request(method, path, headers=accept))


def test_a_refused_oversized_body_carries_the_security_headers(api_readonly: Live) -> None:
    c = api_readonly.client
    big = c.post("/api/feeds", content=b"{" + b" " * 200_000 + b"}", headers=HTML)
    assert big.status_code == 413
    assert_protected(big)


def test_an_internal_error_carries_the_security_headers(api: Live) -> None:
    # A database that lost a table: every read of it fails inside the app.
    path = api.db.engine.url.database
    assert path
    api.db.dispose()
    with sqlite3.connect(path) as con:
        con.execute("DROP TABLE flags")
    crashed = api.client.get("/api/flags")
    assert crashed.status_code == 500 and "Traceback" not in crashed.text
    assert_protected(crashed)


def test_the_api_docs_page_allows_only_its_own_inline_script(api_readonly: Live) -> None:
    page = api_readonly.client.get("/docs", headers=HTML)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    scripts = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    assert scripts
    for script in scripts:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "/\\evil.example", "/\t/evil.example", "https://evil.example/", "/%09/x"],
)
def test_sign_in_never_redirects_off_site(api: Live, target: str) -> None:
    c = api.client
    page = c.get("/signin", headers=HTML)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    r = c.post(
        "/signin",
        data={"token": api.tokens["writer"], "csrf": csrf.group(1), "next": target},
        headers=HTML,
    )
    assert r.status_code == 303
    location = r.headers["location"]
    # Browsers drop tabs and line breaks from a URL before resolving it.
    seen = re.sub(r"[\t\r\n]", "", location)
    assert urlsplit(urljoin(api.url + "/", seen)).netloc == urlsplit(api.url).netloc
