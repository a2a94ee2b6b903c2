"""A fixed week of monitor data (2026-W47 in Europe/Berlin) for the digest tests.

Rows are written directly with fixed times, scores and evidence, so the rendered digest
does not move when detection changes. What the week holds, and what must be left out:

- a two-outlet Amazon story (flags 1 and 2, one incident), a Google rollback whose title
  carries a CR/LF, and a follow-up source (flag 4) to an Amazon story first seen the week
  before (flag 3);
- an Amazon story carried by two outlets (flags 9 and 10) and dismissed this week through
  both flags: counted, listed once under reviews, never under new stories;
- an older report: a Google story published in February 2025 and found this week (flag
  11, outside any incident), kept apart from the new stories;
- outside the digest: flag 6 raised the week after, flag 7 withdrawn (inactive);
- reviews: flag 3 confirmed and flag 8 (an old flag) dismissed this week, flag 1
  dismissed then reopened this week (its last word is not a decision), a review
  the week before;
- Acme's plastic pledge withdrawn this week (a fresh history event), and the Amazon
  pledge's 2021 history recorded this week by the first sync (back-fill, left out);
- feeds: one failing, one silent, one never fetched, one healthy (left out).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from feeds.models import Article, ArticleSource, Feed
from monitor.store.db import Database
from monitor.store.models import Flag, Incident, Review
from pledges.models import PledgeIn
from pledges.store import sync_catalogue

ZONE = "Europe/Berlin"
WEEK = "2026-W47"
# Monday 16 November 2026 00:00 in Berlin is 15 November 23:00 UTC.
MONDAY = datetime(2026, 11, 15, 23, 0, tzinfo=UTC)
SEND_TIME = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # Monday 08:00 Berlin, week 48
AMAZON = "amazon-rekognition-police-moratorium"
GOOGLE = "google-ai-principles-weapons"
ACME = "acme-virgin-plastic-halving"


def cli_env(db_url: str, port: int, to: list[str]) -> dict[str, str]:
    """Environment for `pledgewatch` commands sending this week's digests to a local server."""
    return {
        "PLEDGEWATCH_DB": db_url,
        "PLEDGEWATCH_SMTP_HOST": "127.0.0.1",
        "PLEDGEWATCH_SMTP_PORT": str(port),
        "PLEDGEWATCH_SMTP_SECURITY": "none",
        "PLEDGEWATCH_SMTP_TIMEOUT": "5",
        "PLEDGEWATCH_DIGEST_FROM": "pledgewatch@example.org",
        "PLEDGEWATCH_DIGEST_TO": ", ".join(to),
        "PLEDGEWATCH_DIGEST_TIMEZONE": ZONE,
    }


def _pledge(pid: str, company: dict[str, Any], title: str, **kw: Any) -> PledgeIn:
    data = {
        "id": pid,
        "company": company,
        "title": title,
        "kind": "moratorium",
        "statement": f"{title}.",
        "made_on": date(2020, 6, 10),
        "subject": ["facial recognition"],
        "sources": ["https://example.org/source"],
    }
    data.update(kw)
    return PledgeIn.model_validate(data)


def pledges() -> list[PledgeIn]:
    return [
        _pledge(
            AMAZON,
            {
                "name": "Amazon",
                "aliases": ["AWS", "Amazon Web Services"],
                "products": ["Rekognition"],
            },
            "Moratorium on police use of Rekognition",
            history=[{"date": "2021-05-18", "event": "extended until further notice"}],
        ),
        _pledge(
            GOOGLE,
            {"name": "Google", "aliases": ["Alphabet"]},
            "No AI for weapons",
            kind="policy",
            subject=["AI principles"],
        ),
        _pledge(
            ACME,
            {"name": "Acme Corp"},
            "Halve virgin plastic by 2025",
            kind="target",
            subject=["virgin plastic"],
            status="withdrawn",
            history=[{"date": "2026-11-12", "event": "target withdrawn at the investor day"}],
        ),
    ]


def _ev(sentence: str, *words: tuple[str, str], in_title: bool = False) -> dict[str, Any]:
    spans = []
    for text, role in words:
        start = sentence.index(text)
        spans.append({"start": start, "end": start + len(text), "text": text, "role": role})
    return {"sentence": sentence, "in_title": in_title, "spans": spans}


def _day(days: float, hours: float = 9) -> datetime:
    return MONDAY + timedelta(days=days, hours=hours)


def build_week(db: Database) -> dict[str, int]:
    """Write the week; returns flag ids by name (f1..f11)."""
    with db.write() as s:
        sync_catalogue(session=s, pledges=pledges(), now=_day(2))

    articles = [
        # key, title, url, outlet, published, text
        (
            "a1",
            "Ex-AWS engineer tells tribunal UK police used Rekognition",
            "https://techpolicy.example.org/2026/11/17/tribunal",
            "Tech Policy Weekly",
            _day(1),
        ),
        (
            "a2",
            "Amazon denies police use of Rekognition broke its pause",
            "https://business.example.org/2026/11/18/amazon-denies",
            "The Business Daily",
            _day(2),
        ),
        (
            "a3",
            "Police force piloted Rekognition, records show",
            "https://civil.example.org/2026/11/10/records",
            "Civil Liberties Wire",
            _day(-6),
        ),
        (
            "a4",
            "More forces named in Rekognition records",
            "https://civil.example.org/2026/11/19/more-forces",
            "Civil Liberties Wire",
            _day(3),
        ),
        (
            "a5",
            "Google\r\nrewrites its AI principles",
            "https://techpolicy.example.org/2026/11/20/google",
            "Tech Policy Weekly",
            _day(4),
        ),
        (
            "a6",
            "Next week's story",
            "https://business.example.org/next",
            "The Business Daily",
            _day(8),
        ),
        (
            "a7",
            "A story withdrawn by a rescan",
            "https://business.example.org/w",
            "The Business Daily",
            _day(2),
        ),
        (
            "a8",
            "An October story",
            "https://business.example.org/oct",
            "The Business Daily",
            _day(-40),
        ),
        (
            "a9",
            "Rekognition still sold to police, says a post later retracted",
            "https://rumours.example.org/2026/11/18/retracted",
            "Rumour Mill",
            _day(2),
        ),
        (
            "a10",
            "Blog repeats retracted claim on Rekognition and police",
            "https://blog.example.org/2026/11/18/repeat",
            "Some Blog",
            _day(2, 15),
        ),
        (
            "a11",
            "Google quietly dropped its pledge on AI for weapons, memo shows",
            "https://archive.example.org/2025/02/05/google-memo",
            "Archive Desk",
            datetime(2025, 2, 5, 9, tzinfo=UTC),
        ),
    ]
    ids: dict[str, int] = {}
    with db.write() as s:
        arts: dict[str, Article] = {}
        for key, title, url, outlet, published in articles:
            a = Article(
                key=key,
                url=url,
                title=title,
                text="",
                published_at=published,
                first_seen_at=published,
                updated_at=published,
            )
            s.add(a)
            s.flush()
            assert a.id is not None
            s.add(
                ArticleSource(
                    article_id=a.id, source=f"file:{outlet}", outlet=outlet, seen_at=published
                )
            )
            arts[key] = a
        inc_old = Incident(
            pledge_id=AMAZON,
            title="Police force piloted Rekognition",
            first_seen_at=_day(-6),
            last_seen_at=_day(3),
        )
        inc_tribunal = Incident(
            pledge_id=AMAZON, title=articles[0][1], first_seen_at=_day(1), last_seen_at=_day(2)
        )
        inc_google = Incident(
            pledge_id=GOOGLE, title="Google rewrites", first_seen_at=_day(4), last_seen_at=_day(4)
        )
        inc_retracted = Incident(
            pledge_id=AMAZON, title=articles[8][1], first_seen_at=_day(2), last_seen_at=_day(2)
        )
        for inc in (inc_old, inc_tribunal, inc_google, inc_retracted):
            s.add(inc)
        s.flush()
        tribunal = _ev(
            "A former AWS engineer told the tribunal that UK police used Rekognition despite "
            "the moratorium.",
            ("AWS", "company"),
            ("tribunal", "breach"),
            ("police", "scope"),
            ("Rekognition", "company"),
            ("despite", "breach"),
            ("moratorium", "commitment"),
        )
        flags = [
            # name, article, pledge, kind, score, raised, incident, status, active, evidence
            (
                "f1",
                "a1",
                AMAZON,
                "breach",
                0.95,
                _day(1),
                inc_tribunal,
                "open",
                True,
                [
                    _ev(articles[0][1], ("AWS", "company"), ("police", "scope"), in_title=True),
                    tribunal,
                ],
            ),
            (
                "f2",
                "a2",
                AMAZON,
                "breach",
                0.88,
                _day(2),
                inc_tribunal,
                "open",
                True,
                [
                    _ev(
                        "Amazon denies that police use broke its pause.",
                        ("Amazon", "company"),
                        ("denies", "denial"),
                        ("police", "scope"),
                        ("pause", "commitment"),
                    )
                ],
            ),
            (
                "f3",
                "a3",
                AMAZON,
                "breach",
                0.81,
                _day(-6),
                inc_old,
                "confirmed",
                True,
                [
                    _ev(
                        "Records show a police force piloted Rekognition.",
                        ("police", "scope"),
                        ("Rekognition", "company"),
                        ("Records show", "breach"),
                    )
                ],
            ),
            (
                "f4",
                "a4",
                AMAZON,
                "breach",
                0.77,
                _day(3),
                inc_old,
                "open",
                True,
                [
                    _ev(
                        "Records name more forces using Rekognition despite the pause.",
                        ("Rekognition", "company"),
                        ("despite", "breach"),
                        ("pause", "commitment"),
                    )
                ],
            ),
            (
                "f5",
                "a5",
                GOOGLE,
                "rollback",
                0.72,
                _day(4),
                inc_google,
                "open",
                True,
                [
                    _ev(
                        "Google\r\nremoved the weapons list from its AI principles.",
                        ("Google", "company"),
                        ("removed", "rollback"),
                        ("AI principles", "subject"),
                    )
                ],
            ),
            ("f6", "a6", GOOGLE, "rollback", 0.9, _day(8), None, "open", True, []),
            ("f7", "a7", AMAZON, "breach", 0.6, _day(2), None, "open", False, []),
            ("f8", "a8", GOOGLE, "breach", 0.55, _day(-40), None, "dismissed", True, []),
            ("f9", "a9", AMAZON, "breach", 0.93, _day(2), inc_retracted, "dismissed", True, []),
            (
                "f10",
                "a10",
                AMAZON,
                "breach",
                0.9,
                _day(2, 15),
                inc_retracted,
                "dismissed",
                True,
                [],
            ),
            (
                "f11",
                "a11",
                GOOGLE,
                "rollback",
                0.66,
                _day(5),
                None,
                "open",
                True,
                [
                    _ev(
                        "A memo shows Google dropped its pledge on AI for weapons.",
                        ("Google", "company"),
                        ("dropped", "rollback"),
                        ("pledge", "commitment"),
                    )
                ],
            ),
        ]
        rows: dict[str, Flag] = {}
        for name, art, pid, kind, score, raised, inc, status, active, evidence in flags:
            f = Flag(
                article_id=arts[art].id,
                pledge_id=pid,
                kind=kind,
                score=score,
                reasons=["test"],
                evidence=evidence,
                status=status,
                active=active,
                incident_id=inc.id if inc else None,
                first_raised_at=raised,
                updated_at=raised,
                response="denied" if name == "f2" else None,
            )
            s.add(f)
            rows[name] = f
        s.flush()
        ids = {name: f.id for name, f in rows.items() if f.id is not None}
        reviews = [
            ("f3", "confirmed", "alice", "Matches the force's own records.", _day(3, 10)),
            ("f8", "dismissed", "bob", "About another company.", _day(4, 11)),
            ("f1", "dismissed", "bob", "", _day(2, 12)),
            ("f1", "open", "alice", "Reopened: needs a second look.", _day(2, 15)),
            ("f3", "dismissed", "carol", "An earlier decision.", _day(-2)),
            ("f9", "dismissed", "bob", "The post was retracted.", _day(4, 12)),
            ("f10", "dismissed", "bob", "", _day(4, 13)),
        ]
        for name, decision, who, note, when in reviews:
            s.add(
                Review(
                    flag_id=ids[name], decision=decision, reviewer=who, note=note, created_at=when
                )
            )
        feeds = [
            ("https://feeds.example.org/failing.xml", "Failing Feed", 3, _day(-6), "timeout"),
            ("https://feeds.example.org/silent.xml", "Silent Feed", 0, _day(-15), None),
            ("https://feeds.example.org/never.xml", None, 0, None, None),
            ("https://feeds.example.org/healthy.xml", "Healthy Feed", 0, _day(6), None),
        ]
        for url, name, errors, ok_at, error in feeds:
            s.add(
                Feed(
                    url=url,
                    name=name,
                    created_at=_day(-30),
                    consecutive_errors=errors,
                    last_success_at=ok_at,
                    last_error=error,
                )
            )
    return ids
