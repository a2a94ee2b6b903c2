"""A week that keeps failing for a recipient, against a real SMTP server.

SMTP trouble short of a refusal (server down, 4xx) would hit every week of that
recipient, so the oldest week is retried, in order, for as long as it lasts. A week
refused for good (5xx) or one whose digest cannot be built is given up (`failed`, with
the reason), the recipient's later weeks go out, `status` lists the failed week, and
`digest send --week W --retry-failed` sends it once after a fix.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from click.testing import CliRunner, Result

from feeds.models import Article
from monitor.cli import cli
from monitor.config import DigestSettings, Settings, SmtpSettings
from monitor.digest.outbox import SendReport, outbox_rows, send_due_digests
from monitor.store.db import Database
from monitor.store.models import Flag
from pledges.store import sync_catalogue
from tests.monitor.digestweek import AMAZON, ZONE, cli_env, pledges
from tests.monitor.mailservers import Mailbox, free_port

A, B = "a@example.org", "b@example.org"
W44, W45, W46, W47 = "2026-W44", "2026-W45", "2026-W46", "2026-W47"
# The first digest (2026-W39) goes out on 28 September; then no daemon runs until
# Wednesday of week 48, when W44 to W47 are due (catch_up_weeks=3).
FIRST = datetime(2026, 9, 28, 7, 0, tzinfo=UTC)
BACK = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _settings(port: int, *, to: list[str], **digest: Any) -> Settings:
    return Settings(
        digest=DigestSettings(
            to=to, from_addr="pw@example.org", timezone=ZONE, catch_up_weeks=3, **digest
        ),
        smtp=SmtpSettings(host="127.0.0.1", port=port, timeout=5.0),
    )


def _run(env: dict[str, str], *args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert "Traceback" not in result.output, result.output
    return result


def _status(db: Database) -> dict[tuple[str, str], str]:
    return {(r.period, r.recipient): r.status for r in outbox_rows(db) if r.period >= W44}


def _done(report: SendReport) -> list[tuple[str, str, str]]:
    return [(o.period, o.recipient, o.status) for o in report.outcomes]


def _delivered(box: Mailbox) -> Counter[tuple[str, str]]:
    return Counter((rcpts[0], str(m["X-Pledgewatch-Period"])) for rcpts, m in box.messages)


@pytest.fixture
def isolated(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PLEDGEWATCH_CONFIG", raising=False)


@pytest.mark.usefixtures("isolated")
def test_a_week_refused_with_550_is_failed_later_weeks_go_out_and_status_shows_it(
    db: Database, db_url: str
) -> None:
    with Mailbox() as box:
        settings = _settings(box.port, to=[A, B])
        send_due_digests(db=db, settings=settings, now=FIRST)

        def refuse_a_w45(rcpts: list[str], msg: EmailMessage) -> str | None:
            if rcpts == [A] and msg["X-Pledgewatch-Period"] == W45:
                return "550 5.2.1 mailbox unavailable"
            return None

        box.refuse_message = refuse_a_w45
        report = send_due_digests(db=db, settings=settings, now=BACK)
        assert [o for o in _done(report) if o[1] == A] == [
            (W44, A, "sent"),
            (W45, A, "failed"),
            (W46, A, "sent"),
            (W47, A, "sent"),
        ]
        assert "550 5.2.1 mailbox unavailable" in (report.failed[0].error or "")
        assert [o[2] for o in _done(report) if o[1] == B] == ["sent"] * 4
        # Given up, not retried in a loop, and not skipped either.
        for hours in (1, 7, 30):
            later = send_due_digests(db=db, settings=settings, now=BACK + timedelta(hours=hours))
            assert later.outcomes == []
        assert _status(db)[(W45, A)] == "failed"

        env = cli_env(db_url, box.port, [A, B])
        data = json.loads(_run(env, "status", "--format", "json").output)
        (failed,) = data["digests"]["failed"]
        assert (failed["recipient"], failed["period"], failed["attempts"]) == (A, W45, 1)
        assert "550" in failed["last_error"]
        assert data["digests"]["failed_total"] == 1
        by_rcpt = {d["recipient"]: d for d in data["digests"]["by_recipient"]}
        assert by_rcpt[A]["period"] == W47 and by_rcpt[A]["status"] == "sent"
        text = _run(env, "status").output
        assert "Failed digests (1)" in text and W45 in text and "mailbox unavailable" in text
        assert "--retry-failed" in text

        # The mailbox is fixed; the operator re-sends that week, once.
        box.refuse_message = None
        again = _run(env, "digest", "send", "--week", W45, "--retry-failed")
        assert again.exit_code == 0, again.output
        assert again.output.split() == ["sent", W45, A]
        assert "nothing to send" in _run(env, "digest", "send", "--week", W45).output
        after = json.loads(_run(env, "status", "--format", "json").output)
        assert after["digests"]["failed"] == [] and after["digests"]["failed_total"] == 0
    weeks = {(r, w): 1 for r in (A, B) for w in ("2026-W39", W44, W45, W46, W47)}
    assert _delivered(box) == weeks
    assert [m["X-Pledgewatch-Period"] for m in box.to(A)][-1] == W45  # re-sent last


@pytest.mark.usefixtures("isolated")
def test_an_outage_or_4xx_is_retried_in_order_past_the_attempt_bound(db: Database) -> None:
    """A down server and then a 451 on every message: W44 is tried more often than
    max_attempts, stays pending, and W45-W47 wait behind it, untried, until it goes."""
    port = free_port()
    settings = _settings(port, to=[A], max_attempts=2)
    with Mailbox(port=port) as box:
        send_due_digests(db=db, settings=settings, now=FIRST)
    for hour in (0, 1):  # connection refused
        report = send_due_digests(db=db, settings=settings, now=BACK + timedelta(hours=hour))
        assert _done(report) == [(W44, A, "pending")] and report.stopped_by is not None
    with Mailbox(port=port, answer="451 4.3.0 try again later") as box:
        for hour in (2, 3):
            report = send_due_digests(db=db, settings=settings, now=BACK + timedelta(hours=hour))
            assert _done(report) == [(W44, A, "pending")]
            assert "451" in (report.outcomes[0].error or "")
        rows = {r.period: r for r in outbox_rows(db) if r.period >= W44}
        assert {p: (r.status, r.attempts) for p, r in rows.items()} == {
            W44: ("pending", 4),
            W45: ("pending", 0),
            W46: ("pending", 0),
            W47: ("pending", 0),
        }
        box.answer = None
        back = send_due_digests(db=db, settings=settings, now=BACK + timedelta(hours=4))
        assert _done(back) == [(w, A, "sent") for w in (W44, W45, W46, W47)]
    assert [m["X-Pledgewatch-Period"] for m in box.to(A)] == [W44, W45, W46, W47]


def _unbuildable_w45(db: Database) -> None:
    """A flag raised in W45 whose stored evidence the renderer cannot read (a span
    position that is not a number, as a hand edit or an old version could leave)."""
    raised = datetime(2026, 11, 4, 12, 0, tzinfo=UTC)
    with db.write() as s:
        sync_catalogue(session=s, pledges=pledges(), now=FIRST)
        art = Article(
            key="w45", title="Police use Rekognition", first_seen_at=raised, updated_at=raised
        )
        s.add(art)
        s.flush()
        assert art.id is not None
        s.add(
            Flag(
                article_id=art.id,
                pledge_id=AMAZON,
                kind="breach",
                score=0.9,
                reasons=[],
                evidence=[{"sentence": "Police use it.", "spans": [{"start": "?", "end": 3}]}],
                first_raised_at=raised,
                updated_at=raised,
            )
        )


@pytest.mark.usefixtures("isolated")
def test_a_week_that_cannot_be_built_is_failed_after_max_attempts_and_later_weeks_go_out(
    db: Database, db_url: str
) -> None:
    _unbuildable_w45(db)
    with Mailbox() as box:
        settings = _settings(box.port, to=[A], max_attempts=3)
        send_due_digests(db=db, settings=settings, now=FIRST)
        first = send_due_digests(db=db, settings=settings, now=BACK)
        assert _done(first) == [(W44, A, "sent"), (W45, A, "pending")]
        assert "ValueError" in (first.outcomes[1].error or "")
        second = send_due_digests(db=db, settings=settings, now=BACK + timedelta(hours=1))
        assert _done(second) == [(W45, A, "pending")]
        third = send_due_digests(db=db, settings=settings, now=BACK + timedelta(hours=2))
        assert _done(third) == [(W45, A, "failed"), (W46, A, "sent"), (W47, A, "sent")]
        assert "cannot build the digest (tried 3 times): ValueError" in (
            third.outcomes[0].error or ""
        )
        data = json.loads(_run(cli_env(db_url, box.port, [A]), "status", "--format", "json").output)
        assert [(f["period"], f["attempts"]) for f in data["digests"]["failed"]] == [(W45, 3)]
        assert "cannot build" in data["digests"]["failed"][0]["last_error"]
    assert [m["X-Pledgewatch-Period"] for m in box.to(A)] == ["2026-W39", W44, W46, W47]
