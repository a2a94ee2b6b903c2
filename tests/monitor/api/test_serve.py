"""`pledgewatch serve` as a user runs it, and the review flow in headless Chromium."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from monitor.auth.tokens import create_token
from monitor.store.db import open_database
from pledges.catalogue import load_catalogue, shipped_catalogue
from tests.monitor.querydata import AMAZON, REPO, flag_ids, load_sample

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"


@dataclass
class Served:
    url: str
    db_path: Path
    token: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`pledgewatch serve` in a subprocess on 127.0.0.1 over the sample data."""
    path = tmp_path_factory.mktemp("serve") / "pledgewatch.db"
    db = open_database(f"sqlite:///{path}")
    load_sample(db)
    with db.write() as s:
        token = create_token(session=s, name="reviewer")
    db.dispose()
    port = _free_port()
    exe = Path(sys.executable).with_name("pledgewatch")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PLEDGEWATCH_")}
    proc = subprocess.Popen(
        [str(exe), "--db", str(path), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/api/pledges", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"pledgewatch serve did not start: {err}")
            time.sleep(0.1)
        yield Served(url=url, db_path=path, token=token)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def test_serve_lists_the_catalogue_and_records_only_authorised_reviews(served: Served):
    pledges = httpx.get(f"{served.url}/api/pledges", params={"limit": 500}).json()
    catalogue = {p.id for p in load_catalogue(shipped_catalogue())}
    assert {p["id"] for p in pledges["items"]} == catalogue
    flags = httpx.get(f"{served.url}/api/flags", params={"kind": "rollback", "limit": 1}).json()
    fid = flags["items"][0]["id"]
    assert flags["items"][0]["pledge_id"] != AMAZON
    refused = httpx.post(f"{served.url}/api/flags/{fid}/reviews", json={"decision": "dismissed"})
    assert refused.status_code == 401
    recorded = httpx.post(
        f"{served.url}/api/flags/{fid}/reviews",
        json={"decision": "dismissed", "note": "announcement, not a breach"},
        headers={"Authorization": f"Bearer {served.token}"},
    )
    assert recorded.status_code == 201
    reviews = httpx.get(f"{served.url}/api/flags/{fid}").json()["reviews"]
    assert [(r["decision"], r["reviewer"]) for r in reviews] == [("dismissed", "reviewer")]
    assert httpx.get(f"{served.url}/openapi.json").json()["info"]["title"] == "pledgewatch"
    assert httpx.get(f"{served.url}/docs").status_code == 200


@pytest.mark.parametrize(("proto", "secure"), [(None, False), ("https", True)])
def test_the_session_cookie_is_secure_when_a_local_tls_proxy_says_https(
    served: Served, proto: str | None, secure: bool
) -> None:
    # A reverse proxy on the same host terminates TLS and says so in X-Forwarded-Proto.
    # The browser is on https: its cookies go back as they came (httpx would keep a
    # Secure one from this plain-http hop).
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    page = httpx.get(f"{served.url}/signin", headers=headers, timeout=30)
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text)
    assert csrf
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    r = httpx.post(
        f"{served.url}/signin",
        data={"token": served.token, "csrf": csrf.group(1)},
        headers={**headers, "Cookie": cookie},
        timeout=30,
    )
    assert r.status_code == 303
    (session,) = [c for c in r.headers.get_list("set-cookie") if c.startswith("pw_session=")]
    assert ("secure" in session.lower().split("; ")) is secure


@pytest.mark.parametrize("path", ["/", "/api/pledges", "/static/style.css"])
def test_head_gets_the_get_status_and_headers_without_a_body(served: Served, path: str) -> None:
    # Uptime checks and link checkers ask with HEAD.
    head = httpx.head(f"{served.url}{path}", timeout=30)
    get = httpx.get(f"{served.url}{path}", timeout=30)
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["x-content-type-options"] == "nosniff"


@pytest.mark.browser
def test_a_reviewer_confirms_a_story_in_chromium_undoes_it_and_the_pledge_counts_it_once(
    served: Served,
):
    """Sign in, filter the inbox to one company, confirm the story, Undo, confirm again:
    the pledge page shows one confirmed story, not one per outlet."""
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    db = open_database(f"sqlite:///{served.db_path}")
    both = flag_ids(db, AMAZON)
    db.dispose()
    assert len(both) == 2  # one tribunal claim, two outlets
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--headless", "--disable-gpu"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{served.url}/")
            expect(page.get_by_role("heading", name="Corporate pledges")).to_be_visible()
            page.keyboard.press("Tab")
            expect(page.get_by_role("link", name="Skip to content")).to_be_focused()

            page.get_by_role("link", name="Sign in").click()
            page.get_by_label("Token").fill(served.token)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_text("Signed in as")).to_be_visible()
            expect(page).to_have_url(f"{served.url}/")

            # Signed in, every row has its buttons; on a phone they still fit.
            page.set_viewport_size({"width": 390, "height": 800})
            page.goto(f"{served.url}/inbox")
            page.screenshot(path=str(ARTIFACTS / "inbox-signed-in-390.png"), full_page=True)
            width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], width
            page.set_viewport_size({"width": 1280, "height": 800})
            page.goto(f"{served.url}/inbox")
            rows = page.locator("li.flag-row")
            assert rows.count() >= 10
            # A compact list: ten flags fit on one 1280 x 800 screen.
            first, tenth = rows.nth(0).bounding_box(), rows.nth(9).bounding_box()
            assert first is not None and tenth is not None
            assert tenth["y"] + tenth["height"] - first["y"] <= 800
            page.get_by_label("Company").select_option("Amazon")
            page.get_by_role("button", name="Filter").click()
            expect(page).to_have_url(f"{served.url}/inbox?company=Amazon&status=open&sort=raised")
            expect(rows).to_have_count(2)
            page.screenshot(path=str(ARTIFACTS / "inbox-amazon-1280.png"), full_page=True)

            page.get_by_role("button", name="Confirm story").click()
            flash = page.locator(".flash")
            expect(flash).to_contain_text("Confirmed flags")
            expect(rows).to_have_count(0)
            expect(page.get_by_role("link", name="Next open flag")).to_be_visible()
            assert "company=Amazon" in page.url  # the filter survives the decision
            flash.get_by_role("button", name="Undo").click()
            expect(flash).to_contain_text("Undone")
            expect(rows).to_have_count(2)

            # Keyboard: j selects the first flag, c confirms its whole story.
            page.keyboard.press("j")
            expect(rows.first).to_have_class("flag-row current")
            page.keyboard.press("c")
            expect(flash).to_contain_text("Confirmed flags")
            expect(rows).to_have_count(0)

            page.goto(f"{served.url}/pledges/{AMAZON}")
            expect(page.locator("p.counts")).to_contain_text("1 story confirmed: 1 breach")
            stories = page.locator("#confirmed ~ ul.flags").first.locator("> li")
            expect(stories).to_have_count(1)
            for fid in both:
                expect(stories.get_by_role("link", name=f"Flag #{fid}", exact=True)).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "pledge-confirmed-1280.png"), full_page=True)
        finally:
            browser.close()
    for fid in both:
        flag = httpx.get(f"{served.url}/api/flags/{fid}").json()
        assert flag["status"] == "confirmed"
        assert [r["decision"] for r in flag["reviews"]] == ["confirmed", "open", "confirmed"]


def test_a_worker_process_masks_url_secrets_in_its_log_lines(tmp_path: Path) -> None:
    """`serve --workers N` builds each worker's app from the environment, in a new process."""
    script = (
        "import logging\n"
        "from monitor.web.app import create_app_from_env\n"
        "create_app_from_env()\n"
        "logging.getLogger('monitor.api').warning(\n"
        "    'cannot fetch %s', 'https://alice:s3cret@example.org/feed?apikey=s3cret')\n"
    )
    env = {
        **os.environ,
        "PLEDGEWATCH_DB": f"sqlite:///{tmp_path / 'pw.db'}",
        "PLEDGEWATCH_CONFIG": "",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "cannot fetch https://alice:********@example.org/feed?apikey=********" in done.stderr
    assert "s3cret" not in done.stderr
