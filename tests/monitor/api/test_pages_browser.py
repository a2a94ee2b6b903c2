"""Every web page in headless Chromium at a phone's and a desktop's width.

Each page is screenshot into test-artifacts/ and must not be wider than the viewport;
dark mode darkens the pages; /docs renders Swagger UI with every request on loopback.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tests.monitor.api.conftest import Live
from tests.monitor.querydata import AMAZON, REPO, flag_ids

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium; .ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        try:
            yield b
        finally:
            b.close()


def _pages(live: Live) -> dict[str, str]:
    fid = flag_ids(live.db, AMAZON)[0]
    article = live.client.get(f"/api/flags/{fid}").json()["article"]["id"]
    return {
        "home": "/",
        "companies": "/companies",
        "company": "/companies/Amazon",
        "pledge": f"/pledges/{AMAZON}",
        "flag": f"/flags/{fid}",
        "article": f"/articles/{article}",
        "inbox": "/inbox",
        "inbox-filtered": "/inbox?company=Amazon&status=any&sort=score",
        "search": "/search?q=rekognition+police",
        "signin": "/signin",
        "not-found": "/no/such/page",
    }


@pytest.mark.parametrize("width", [390, 1280])
def test_every_page_fits_the_viewport(browser: Any, api_readonly: Live, width: int) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        for name, path in _pages(api_readonly).items():
            response = page.goto(api_readonly.url + path)
            assert response is not None
            assert response.status == (404 if name == "not-found" else 200), name
            page.screenshot(path=str(ARTIFACTS / f"page-{name}-{width}.png"), full_page=True)
            scroll, inner = page.evaluate(
                "[document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert scroll <= inner, f"{name}: {scroll} px of content in {inner} px"
    finally:
        page.close()


def test_a_browser_gets_an_error_page_and_an_api_client_json(
    browser: Any, api_readonly: Live
) -> None:
    page = browser.new_page()
    try:
        page.goto(api_readonly.url + "/companies/nobody/at/all")
        assert page.locator("h1").inner_text() == "Page not found"
    finally:
        page.close()
    api = api_readonly.client.get("/no/such/page", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}
    assert api_readonly.client.get("/api/nothing", headers={"Accept": "text/html"}).json()


def test_dark_mode_darkens_the_pages(browser: Any, api_readonly: Live) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 900}, color_scheme="dark")
    try:
        page.goto(f"{api_readonly.url}/pledges/{AMAZON}")
        page.screenshot(path=str(ARTIFACTS / "page-pledge-390-dark.png"), full_page=True)
        bg = page.evaluate("getComputedStyle(document.documentElement).backgroundColor")
        ink = page.evaluate("getComputedStyle(document.querySelector('main')).color")
    finally:
        page.close()

    def brightness(css: str) -> float:
        r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
        return (r + g + b) / 3

    assert brightness(bg) < 60 and brightness(ink) > 180


def test_docs_render_swagger_ui_from_local_files(browser: Any, api_readonly: Live) -> None:
    requested: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def only_loopback(route: Any) -> None:
        requested.append(route.request.url)
        if route.request.url.startswith(api_readonly.url):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", only_loopback)
    refused: list[str] = []  # what the page's Content-Security-Policy blocked
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    try:
        page.goto(api_readonly.url + "/docs")
        page.locator(".swagger-ui .info .title").wait_for(timeout=20_000)
        assert "pledgewatch" in page.locator(".swagger-ui .info .title").inner_text()
        assert page.locator(".opblock").count() > 5  # the operations are listed
        page.screenshot(path=str(ARTIFACTS / "page-docs-1280.png"))
    finally:
        page.close()
    assert requested and all(u.startswith(api_readonly.url) for u in requested), requested
    assert not refused, refused


def test_evidence_roles_are_named_for_screen_readers_and_the_company_is_not_a_commitment(
    api_readonly: Live,
) -> None:
    flags = api_readonly.client.get("/api/flags", params={"company": "Target Corporation"}).json()[
        "items"
    ]
    assert flags
    html = api_readonly.client.get(f"/flags/{flags[0]['id']}").text
    assert '<dl class="legend"' in html and "pledge subject" in html
    assert 'Target<span class="sr"> (company)</span>' in html
    assert 'Target<span class="sr"> (commitment word)</span>' not in html
