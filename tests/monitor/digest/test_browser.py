"""The HTML digest in headless Chromium: no horizontal overflow on a phone or a desktop.

Chromium comes from the `browser` fixture in conftest.py. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from monitor.digest.content import DigestData, FeedProblem, FlagItem, build_digest
from monitor.digest.periods import Period
from monitor.digest.render import render_html
from tests.conftest import REPO
from tests.monitor.digest.conftest import WIDER_THAN_VIEWPORT

pytestmark = pytest.mark.browser

ARTIFACTS = REPO / "test-artifacts"
LONG_WORD = "Rekognition" * 12
LONG_URL = (
    "https://news.example.org/" + "/".join(["a-very-long-path-segment"] * 12) + "?q=" + "x" * 80
)


def _data() -> DigestData:
    t = datetime(2026, 11, 17, 9, tzinfo=UTC)
    flags = []
    for n in range(1, 7):
        flags.append(
            FlagItem(
                id=n,
                incident_id=1 + n // 3,
                pledge_id="amazon-rekognition-police-moratorium",
                pledge_title="Moratorium on police use of Amazon Rekognition facial recognition",
                company="Amazon" if n < 5 else "A company with a rather long name, Incorporated",
                kind="breach" if n % 2 else "rollback",
                score=0.5 + n / 20,
                status="open",
                title=f"Story {n}: {LONG_WORD} <script>alert(1)</script> reached UK police",
                url=LONG_URL,
                outlets=(f"Outlet {n} {LONG_WORD}",),
                published=t,
                first_raised_at=t,
                evidence=(
                    {
                        "sentence": f"A former employee said {LONG_WORD} police despite the "
                        "moratorium, at a tribunal in London this week.",
                        "in_title": False,
                        "spans": [{"start": 2, "end": 8, "role": "company"}],
                    },
                ),
                response="denied",
            )
        )
    return DigestData(
        period=Period.parse("2026-W47"),
        zone="Europe/Berlin",
        flags=tuple(flags),
        feeds=(
            FeedProblem(
                name="",
                url=LONG_URL,
                consecutive_errors=4,
                last_success_at=None,
                error="timeout " + LONG_WORD,
            ),
        ),
    )


@pytest.fixture(scope="module")
def digest_file() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / "digest.html"
    path.write_text(
        render_html(build_digest(_data(), base_url="https://pw.example.org")), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_the_html_digest_has_no_horizontal_overflow(
    browser: Any, digest_file: Path, width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(digest_file.as_uri())
        page.screenshot(path=str(ARTIFACTS / f"digest-{width}.png"), full_page=True)
        layout = page.evaluate(WIDER_THAN_VIEWPORT)
        assert layout["scrollWidth"] <= width, f"{layout['scrollWidth']} px in {width} px"
        assert layout["wide"] == []
        # The escaped script is shown as text and never ran.
        assert page.evaluate("document.querySelectorAll('script').length") == 0
        assert "<script>alert(1)</script>" in page.inner_text("body")
        if width == 1280:
            column = page.evaluate(
                "document.querySelector('.pw-wrap').getBoundingClientRect().width"
            )
            assert column <= 640
    finally:
        page.close()


def test_dark_mode_turns_the_page_dark(browser: Any, digest_file: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 900}, color_scheme="dark")
    try:
        page.goto(digest_file.as_uri())
        page.screenshot(path=str(ARTIFACTS / "digest-390-dark.png"), full_page=True)
        bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
        card = page.evaluate("getComputedStyle(document.querySelector('.pw-card')).backgroundColor")
        color = page.evaluate("getComputedStyle(document.querySelector('.pw-card')).color")
    finally:
        page.close()

    def brightness(css: str) -> float:
        r, g, b = (int(v) for v in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
        return (r + g + b) / 3

    assert brightness(bg) < 60 and brightness(card) < 60
    assert brightness(color) > 180
