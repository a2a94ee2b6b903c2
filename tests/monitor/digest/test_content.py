"""The digest's content and rendering: golden text for a fixed week, escaping, subscriptions.

Golden files live in tests/data/digests/; after an intended change, regenerate them with
PLEDGEWATCH_UPDATE_GOLDEN=1 and read the diff.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.config import Subscription
from monitor.digest.content import DigestData, FeedProblem, FlagItem, build_digest
from monitor.digest.data import load_digest_data
from monitor.digest.periods import Period
from monitor.digest.render import render_html, render_text, subject
from monitor.digest.text import Segment, emphasise, one_line, safe_url
from monitor.store.db import Database
from tests.conftest import REPO
from tests.monitor.digestweek import AMAZON, GOOGLE, SEND_TIME, WEEK, ZONE, build_week

GOLDEN = REPO / "tests" / "data" / "digests"


def _golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if os.environ.get("PLEDGEWATCH_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.is_file(), f"missing golden file {path} (PLEDGEWATCH_UPDATE_GOLDEN=1 makes it)"
    assert actual == path.read_text(encoding="utf-8")


def _load(db: Database, week: str = WEEK) -> DigestData:
    with db.session() as s:
        return load_digest_data(s, Period.parse(week), zone=ZONE, now=SEND_TIME)


@pytest.fixture
def week_db(db: Database) -> tuple[Database, dict[str, int]]:
    return db, build_week(db)


# --- the fixed week, end to end (database -> text) ---------------------------------------


def test_the_weeks_text_digest_matches_the_golden_file(week_db) -> None:
    db, _ = week_db
    content = build_digest(_load(db), base_url="https://pw.example.org")
    _golden("2026-W47.txt", render_text(content))


def test_an_empty_week_renders_a_short_nothing_new_digest(week_db) -> None:
    db, _ = week_db
    content = build_digest(_load(db, "2026-W30"))
    assert content.empty
    assert subject(content).endswith("nothing new, 3 feeds not heard from")
    _golden("empty-week.txt", render_text(content))


def test_the_week_holds_new_stories_reviews_pledge_changes_and_silent_feeds(week_db) -> None:
    db, ids = week_db
    data = _load(db)
    # Flags raised this week, and the earlier flag of a story that continued this week.
    assert {f.id for f in data.flags} == {ids[n] for n in ("f1", "f2", "f3", "f4", "f5")}
    content = build_digest(data)
    c = content.counts
    assert (c.incidents, c.flags, c.breaches, c.rollbacks) == (3, 4, 2, 1)
    assert (c.confirmed, c.dismissed, c.pledge_changes, c.feeds) == (1, 1, 1, 3)
    assert [co.name for co in content.companies] == ["Amazon", "Google"]
    amazon = content.companies[0].pledges[0]
    assert [i.title for i in amazon.incidents] == [
        "Ex-AWS engineer tells tribunal UK police used Rekognition",
        "More forces named in Rekognition records",
    ]
    tribunal, follow_up = amazon.incidents
    assert [s.outlet for s in tribunal.sources] == ["Tech Policy Weekly", "The Business Daily"]
    assert tribunal.score == 0.95 and tribunal.status == "open" and tribunal.kind == "breach"
    assert follow_up.follow_up_of == "2026-11-10"
    assert follow_up.status == "1 confirmed, 1 open"
    assert [r.decision for r in content.reviews] == ["confirmed", "dismissed"]
    assert [p.pledge_id for p in content.pledge_changes] == ["acme-virgin-plastic-halving"]
    assert content.pledge_changes[0].status == "withdrawn"
    assert [f.name for f in content.feeds] == [
        "Failing Feed",
        "https://feeds.example.org/never.xml",
        "Silent Feed",
    ]
    assert subject(content) == (
        "pledgewatch 2026-W47 (16-22 Nov 2026): 3 new stories (2 breaches, 1 rollback), "
        "1 confirmed, 1 dismissed, 1 pledge changed, 3 feeds not heard from"
    )


def test_the_best_evidence_sentence_is_a_body_sentence_with_a_cue(week_db) -> None:
    db, _ = week_db
    tribunal = build_digest(_load(db)).companies[0].pledges[0].incidents[0]
    assert "".join(s.text for s in tribunal.evidence).startswith("A former AWS engineer")
    assert not tribunal.in_title
    assert [s.text for s in tribunal.evidence if s.role] == [
        "AWS",
        "tribunal",
        "police",
        "Rekognition",
        "despite",
        "moratorium",
    ]


def test_links_to_flag_pages_only_when_base_url_is_set(week_db) -> None:
    db, ids = week_db
    data = _load(db)
    with_links = render_text(build_digest(data, base_url="https://pw.example.org/"))
    assert f"https://pw.example.org/flags/{ids['f1']}" in with_links
    html = render_html(build_digest(data, base_url="https://pw.example.org/"))
    assert f'href="https://pw.example.org/flags/{ids["f1"]}"' in html
    without = build_digest(data)
    assert "/flags/" not in render_text(without) and "/flags/" not in render_html(without)


# --- subscriptions ----------------------------------------------------------------------


def _incident_titles(content) -> list[str]:
    return [i.title for c in content.companies for p in c.pledges for i in p.incidents]


def test_a_subscription_to_a_company_by_alias_sees_only_that_company(week_db) -> None:
    db, _ = week_db
    content = build_digest(
        _load(db), subscription=Subscription(email="a@x.org", companies=["alphabet"])
    )
    assert [c.name for c in content.companies] == ["Google"]
    assert [r.company for r in content.reviews] == ["Google"]
    assert content.pledge_changes == ()
    assert len(content.feeds) == 3  # the monitor's health goes to everyone


def test_a_subscription_to_pledges_with_a_minimum_score_drops_weaker_flags(week_db) -> None:
    db, _ = week_db
    sub = Subscription(email="a@x.org", pledges=[AMAZON], min_score=0.8)
    content = build_digest(_load(db), subscription=sub)
    assert _incident_titles(content) == [
        "Ex-AWS engineer tells tribunal UK police used Rekognition"
    ]
    assert content.counts.flags == 2
    assert [r.decision for r in content.reviews] == ["confirmed"]


def test_a_subscription_with_nothing_in_it_this_week_gets_the_nothing_new_digest(
    week_db,
) -> None:
    db, _ = week_db
    content = build_digest(
        _load(db), subscription=Subscription(email="a@x.org", companies=["Nobody Inc"])
    )
    assert content.empty
    assert "Nothing new this week" in render_text(content)


# --- pure pieces ------------------------------------------------------------------------


def test_emphasise_splits_a_sentence_and_skips_overlapping_or_bad_spans() -> None:
    s = "Amazon let police use facial recognition"
    spans = [
        {"start": 0, "end": 6, "role": "company"},
        {"start": 22, "end": 28, "role": "subject"},
        {"start": 22, "end": 40, "role": "subject"},  # longer span at the same start wins
        {"start": 29, "end": 40, "role": "subject"},  # inside the one before: skipped
        {"start": 35, "end": 99, "role": "x"},  # out of range
        {"start": 5, "end": 3, "role": "x"},  # backwards
    ]
    assert emphasise(s, spans) == (
        Segment("Amazon", "company"),
        Segment(" let police use "),
        Segment("facial recognition", "subject"),
    )


def test_one_line_collapses_line_breaks_and_control_characters() -> None:
    assert one_line("a\r\nb\tc\x00d\x1b[31me\u2028f  ") == "a b c d [31me f"
    assert one_line(None) == ""


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/a?b=1", True),
        ("http://example.org", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example.org/x", False),
        ("/flags/1", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_and_https_links_are_shown(url: str | None, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


HOSTILE_TITLE = '<script>alert(1)</script>\r\nBcc: x@example.org "><img src=x onerror=alert(2)>'


def _hostile() -> DigestData:
    t = datetime(2026, 11, 17, 9, tzinfo=UTC)
    flags = tuple(
        FlagItem(
            id=n,
            incident_id=1,
            pledge_id=AMAZON,
            pledge_title="<b>pledge</b>",
            company='Amazon <svg onload="alert(3)">',
            kind="breach",
            score=0.9,
            status="open",
            title=HOSTILE_TITLE,
            url=url,
            outlets=("<i>Outlet</i>",),
            published=t,
            first_raised_at=t,
            evidence=(
                {
                    "sentence": "<script>x</script> despite",
                    "in_title": False,
                    "spans": [{"start": 19, "end": 26, "role": "breach"}],
                },
            ),
            response="<a href='javascript:alert(4)'>denied</a>",
        )
        for n, url in (
            (1, "javascript:alert(5)"),
            (2, "&#106;avascript:alert(6)"),
            (3, 'https://ok.example.org/a"onmouseover="alert(7)'),
        )
    )
    return DigestData(
        period=Period.parse(WEEK),
        zone="UTC",
        flags=flags,
        feeds=(
            FeedProblem(
                name="<form action=x>",
                url="javascript:x",
                consecutive_errors=1,
                last_success_at=None,
                error="<script>e</script>",
            ),
        ),
    )


def test_hostile_feed_text_is_escaped_in_html_and_links_never_get_unsafe_schemes() -> None:
    html = render_html(build_digest(_hostile(), base_url="javascript:alert(8)"))
    for raw in ("<script>", "<img", "<svg", "<form", "<i>", "<b>pledge", "<a href='javasc"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs == ["https://ok.example.org/a&#34;onmouseover=&#34;alert(7)"]
    assert 'onmouseover="' not in html and "javascript:alert(8)" not in html


def test_hostile_titles_stay_on_one_line_in_text_and_subject() -> None:
    content = build_digest(_hostile())
    text = render_text(content)
    line = next(ln for ln in text.splitlines() if "<script>alert(1)" in ln)
    assert line.endswith('Bcc: x@example.org "><img src=x onerror=alert(2)>')
    assert "\r" not in text
    sources = [ln for ln in text.splitlines() if ln.startswith("    - ")]
    assert len(sources) == 3
    assert sources[-1].endswith(': https://ok.example.org/a"onmouseover="alert(7)')
    assert not any("javascript" in ln for ln in sources[:2])  # unsafe links: outlet only
    assert "\n" not in subject(content) and "\r" not in subject(content)


def test_html_is_phone_friendly_and_dark_mode_safe() -> None:
    html = render_html(build_digest(_hostile()))
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "color-scheme: light dark" in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert "max-width:640px" in html
    assert "overflow-wrap:anywhere" in html
    # No fixed widths or tables that could overflow a 390 px screen.
    assert not re.search(r"(?<!max-)width:\s*\d+px", html)
    assert "<table" not in html


def test_flags_first_raised_outside_the_week_are_context_only() -> None:
    t = datetime(2026, 11, 17, 9, tzinfo=UTC)
    old = t - timedelta(days=14)

    def item(n: int, raised: datetime, incident: int | None) -> FlagItem:
        return FlagItem(
            id=n,
            incident_id=incident,
            pledge_id=GOOGLE,
            pledge_title="p",
            company="Google",
            kind="rollback",
            score=0.7,
            status="open",
            title=f"story {n}",
            url=None,
            outlets=(),
            published=raised,
            first_raised_at=raised,
        )

    data = DigestData(
        period=Period.parse(WEEK), zone="UTC", flags=(item(1, old, 9), item(2, old, None))
    )
    assert build_digest(data).empty
    data = DigestData(
        period=Period.parse(WEEK),
        zone="UTC",
        flags=(item(1, old, 9), item(2, old, None), item(3, t, 9)),
    )
    content = build_digest(data)
    (incident,) = content.companies[0].pledges[0].incidents
    assert [s.title for s in incident.sources] == ["story 1", "story 3"]
    assert content.counts.flags == 1


def test_render_needs_no_database_and_is_deterministic() -> None:
    data = _hostile()
    assert render_text(build_digest(data)) == render_text(build_digest(data))
    assert Path(GOLDEN).is_dir()
