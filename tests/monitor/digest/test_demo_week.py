"""The demo week's digest, read as its recipients would: the text part in a plain-text
client, the HTML part in Chromium on a small phone, a phone and a desktop.

The week is built as `make demo` builds it (the shipped catalogue, the bundled sample
feeds), plus one story dismissed through the CLI, and rendered with `digest preview`
and a `base_url`, so every story links to its flag page.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from monitor.cli import cli
from monitor.digest.periods import Period
from tests.conftest import REPO
from tests.monitor.digest.conftest import WIDER_THAN_VIEWPORT, WORDS_BROKEN_IN_LINKS

ARTIFACTS = REPO / "test-artifacts"
BASE_URL = "https://pledgewatch.example.org"
DISMISSED = "walmart-center-for-racial-equity"  # one story, dismissed before the digest
URL_LINE = re.compile(r" *https?://\S+")


def _run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("demo")
    env = {
        "PLEDGEWATCH_DB": f"sqlite:///{tmp / 'pw.db'}",
        "PLEDGEWATCH_CONFIG": str(tmp / "none.toml"),
        "PLEDGEWATCH_DIGEST_BASE_URL": BASE_URL,
    }
    (tmp / "none.toml").write_text("", encoding="utf-8")
    _run(env, "catalogue", "sync")
    _run(env, "ingest", *sorted(str(p) for p in (REPO / "examples" / "feeds").glob("*.xml")))
    flags = json.loads(_run(env, "flags", "list", "--format", "json").output)
    dismissed = [f for f in flags if f["pledge_id"] == DISMISSED]
    assert dismissed, "the sample feeds should flag the Walmart pledge"
    for f in dismissed:
        _run(env, "flags", "review", str(f["id"]), "--dismiss", "--note", "Not a rollback.")
    raised = datetime.fromisoformat(flags[0]["first_raised_at"])
    week = str(Period.of(raised.date()))
    ARTIFACTS.mkdir(exist_ok=True)
    html, text = ARTIFACTS / "demo-digest.html", ARTIFACTS / "demo-digest.txt"
    _run(env, "digest", "preview", "--week", week, "--out", str(html))
    _run(env, "digest", "preview", "--week", week, "--out", str(text))
    return {
        "flags": flags,
        "dismissed": {f["article"]["title"] for f in dismissed},
        "html": html,
        "text": text.read_text(encoding="utf-8"),
    }


def test_the_first_story_line_after_the_summary_is_the_breach(demo: dict[str, Any]) -> None:
    lines = demo["text"].splitlines()
    glance = lines.index("AT A GLANCE")
    assert "breach" in " ".join(lines[1:glance])  # the summary counts it
    stories = [ln for ln in lines[glance + 1 :] if re.match(r"(BREACH|ROLLBACK) ", ln)]
    # The score belongs to the detector's model; the order and the story are the point.
    # Either report of the founding case (the claim, or Amazon denying it) leads the story.
    founding = r"BREACH    0\.\d\d Amazon: (Ex-AWS employee alleges|Amazon denies breaking)"
    assert re.match(founding, stories[0]), stories[0]
    assert all(ln.startswith("ROLLBACK") for ln in stories[1:])
    # Each line links to its flag page, on a line of its own.
    assert re.fullmatch(rf" +{re.escape(BASE_URL)}/flags/\d+", lines[lines.index(stories[0]) + 1])


def test_no_dismissed_story_appears_under_new_or_older_stories(demo: dict[str, Any]) -> None:
    text = demo["text"]
    summary = " ".join(text[: text.index("AT A GLANCE")].split())
    assert "1 story found this week and already dismissed (not listed)" in summary
    listed, reviewed = text.split("\nREVIEWED THIS WEEK\n")
    for title in demo["dismissed"]:
        assert title not in " ".join(listed.split())
        assert " ".join(reviewed.split()).count(title) == 1
    assert "== Walmart: DISMISSED" in reviewed


def test_the_demo_feeds_back_catalogue_is_marked_as_older_reports(demo: dict[str, Any]) -> None:
    text = demo["text"]
    # The sample articles were published in 2023-2025 and found today: back-fill.
    assert "OLDER REPORTS FOUND THIS WEEK" in text
    assert "Published 2023-02-07, found this week" in text


def test_every_text_line_fits_78_columns_and_urls_stand_alone(demo: dict[str, Any]) -> None:
    long_urls = 0
    for line in demo["text"].splitlines():
        if "://" in line:
            assert URL_LINE.fullmatch(line), f"a URL shares its line: {line!r}"
            long_urls += len(line) > 78  # a link is never cut: it would stop working
        else:
            assert len(line) <= 78, line
    quoted = [ln for ln in demo["text"].splitlines() if ln.lstrip().startswith(">")]
    assert all(ln.startswith("    > ") and len(ln) <= 78 for ln in quoted)
    assert long_urls < 30  # the sample feeds' long article URLs, each alone on its line


def test_preview_takes_the_format_from_the_file_name(demo: dict[str, Any]) -> None:
    assert demo["html"].read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert demo["text"].startswith("pledgewatch weekly digest:")


@pytest.mark.browser
@pytest.mark.parametrize("width", [320, 390, 1280])
def test_the_html_fits_the_screen_and_no_word_in_a_link_is_broken(
    browser: Any, demo: dict[str, Any], width: int
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto(Path(demo["html"]).as_uri())
        page.screenshot(path=str(ARTIFACTS / f"demo-digest-{width}.png"), full_page=True)
        layout = page.evaluate(WIDER_THAN_VIEWPORT)
        broken = page.evaluate(WORDS_BROKEN_IN_LINKS)
        first = page.inner_text(".pw-at-a-glance li")
        links = page.evaluate("document.querySelectorAll('a[href*=\"/flags/\"]').length")
    finally:
        page.close()
    assert layout["scrollWidth"] <= width and layout["wide"] == [], layout
    assert broken == []
    kind, score, company = first.split()[:3]
    assert (kind, company) == ("BREACH", "Amazon") and re.fullmatch(r"0\.\d\d", score)
    assert links >= 13  # every story in the glance and the details links to its flag


@pytest.mark.browser
def test_the_broken_word_check_catches_break_all(
    browser: Any, demo: dict[str, Any], tmp_path: Path
) -> None:
    # The check must be able to fail: the old `word-break: break-all` on links does it.
    html = demo["html"].read_text(encoding="utf-8")
    bad = tmp_path / "break-all.html"
    bad.write_text(html.replace("</style>", "a { word-break: break-all; }</style>"), "utf-8")
    page = browser.new_page(viewport={"width": 320, "height": 900})
    try:
        page.goto(bad.as_uri())
        assert page.evaluate(WORDS_BROKEN_IN_LINKS) != []
    finally:
        page.close()
